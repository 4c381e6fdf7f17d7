package parsers

import (
	"encoding/binary"
	"math/bits"
)

// A small validating JSON reader for the fast paths. gjson validates a
// message in one pass and then walks it again to find the members asked
// for; both passes go byte by byte, which in WebAssembly (no SIMD for Go)
// is most of a parser's time. walkObject does both in one pass and skips
// the contents of strings, which are most of an LLM stream's bytes, eight
// bytes at a time.

// maxWalkDepth bounds the nesting walkObject follows; deeper messages go to
// gjson. It must be below 64, the bits of its record of arrays.
const maxWalkDepth = 32

// A memberVisitor receives the object members walkObject reads. It is an
// interface rather than a func so that the walk calls a visitor's method
// directly, without the wrapper a method value adds to every call.
type memberVisitor interface {
	// member receives one member: depth is 1 for the members of the
	// outermost object and one more for each object or array around them;
	// parent is the key of the nearest member around this one (nil at
	// depth 1), so that a visitor can tell {"usage":{"n":1}} from
	// {"other":{"n":1}} without keeping a path; key is the name between its
	// quotes, and value the member's raw JSON value, already validated.
	// Returning false stops the walk.
	member(depth int, parent, key, value []byte) bool
}

// walkObject reports whether d is one JSON object that it vouches for, and
// gives v every member at a depth of at most maxDepth, each after its value
// has been read; deeper members are checked but not visited. It vouches
// only for JSON that gjson.Valid accepts, with no key written with escapes
// (the visitors compare keys as raw bytes) and nesting no deeper than
// maxWalkDepth; for anything else, or when v stops it, it reports false and
// the caller parses d with gjson. Because the rest of d is checked after a
// member is visited, a visitor must only take notes and act on them once
// walkObject has reported true.
//
// It is one loop over an explicit stack rather than a recursive descent,
// with the common tokens read inline: in WebAssembly a Go function call
// costs more than scanning a short string.
func walkObject(d []byte, maxDepth int, v memberVisitor) bool {
	i := skipSpaceAt(d, 0)
	if i == len(d) || d[i] != '{' || len(d) > maxWalkLen {
		return false
	}
	i++
	var (
		outer  [maxWalkDepth]memberSpan // the member each open container is the value of
		arrays uint64                   // bit n: the container at depth n+1 is an array
		m      memberSpan               // the member being read
	)
	depth, inArray, empty := 1, false, true
	for {
		// At the start of a member or element, or of an empty container.
		if i = skipSpaceAt(d, i); i == len(d) {
			return false
		}
		c := d[i]
		if empty && (c == '}' || c == ']') {
			if c != closer(inArray) {
				return false
			}
			i++
			if depth--; depth == 0 {
				return skipSpaceAt(d, i) == len(d)
			}
			m, inArray, empty = outer[depth], arrays>>depth&1 != 0, false
		} else {
			empty = false
			if !inArray {
				if c != '"' {
					return false
				}
				end, escaped, ok := stringEnd(d, i+1)
				if !ok || escaped {
					return false
				}
				m.key, m.keyEnd = int32(i+1), int32(end-1)
				if i = skipSpaceAt(d, end); i == len(d) || d[i] != ':' {
					return false
				}
				if i = skipSpaceAt(d, i+1); i == len(d) {
					return false
				}
				m.value, c = int32(i), d[i]
			}
			if c == '{' || c == '[' {
				if depth == maxWalkDepth {
					return false
				}
				outer[depth] = m
				depth++
				inArray, empty = c == '[', true
				arrays = arrays&^(1<<depth) | b2u(inArray)<<depth
				i++
				continue
			}
			var ok bool
			if i, ok = scalar(d, i); !ok {
				return false
			}
		}
		// A value has ended at i: visit its member, and close every
		// container that ends with it.
		for {
			if !inArray && depth <= maxDepth {
				var parent []byte
				if depth > 1 {
					p := outer[depth-1]
					parent = d[p.key:p.keyEnd]
				}
				if !v.member(depth, parent, d[m.key:m.keyEnd], d[m.value:i]) {
					return false
				}
			}
			if i = skipSpaceAt(d, i); i == len(d) {
				return false
			}
			if d[i] == ',' {
				i++
				break
			}
			if d[i] != closer(inArray) {
				return false
			}
			i++
			if depth--; depth == 0 {
				return skipSpaceAt(d, i) == len(d)
			}
			m, inArray = outer[depth], arrays>>depth&1 != 0
		}
	}
}

// maxWalkLen keeps every offset, of keys and values at any depth, within
// memberSpan's int32s.
const maxWalkLen = 1<<31 - 1

// memberSpan locates a member being read: its key is d[key:keyEnd] and its
// value starts at d[value].
type memberSpan struct{ key, keyEnd, value int32 }

func closer(inArray bool) byte {
	if inArray {
		return ']'
	}
	return '}'
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// scalar reads the string, number or literal at d[i] and returns the index
// just past it.
func scalar(d []byte, i int) (int, bool) {
	switch c := d[i]; {
	case c == '"':
		end, _, ok := stringEnd(d, i+1)
		return end, ok
	case c >= '1' && c <= '9':
		// Most numbers are counts: digits then a delimiter.
		end := i + 1
		for end < len(d) && d[end] >= '0' && d[end] <= '9' {
			end++
		}
		if end < len(d) && d[end] != '.' && d[end] != 'e' && d[end] != 'E' {
			return end, true
		}
		return number(d, i)
	case c == '-' || c == '0':
		return number(d, i)
	case c == 't':
		return literal(d, i, "true")
	case c == 'f':
		return literal(d, i, "false")
	case c == 'n':
		return literal(d, i, "null")
	}
	return i, false
}

// skipSpaceAt returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpaceAt(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func number(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if i = digits(d, i); i < 0 {
		return 0, false
	}
	if i < len(d) && d[i] == '.' {
		if i = digits(d, i+1); i < 0 {
			return 0, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i = digits(d, i); i < 0 {
			return 0, false
		}
	}
	return i, true
}

// digits returns the index past the run of digits at d[i], or -1 if there
// is none.
func digits(d []byte, i int) int {
	start := i
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

func literal(d []byte, i int, lit string) (int, bool) {
	end := i + len(lit)
	return end, end <= len(d) && string(d[i:end]) == lit
}

// plainCount reads a value walkObject has read as a token count, when it is
// a plain integer of up to 15 digits: such a number is exact in a float64,
// so the count is the one count(gjson.Parse(raw)) reads. ok is false for
// any other value, which the caller leaves to gjson.
func plainCount(raw []byte) (v uint64, ok bool) {
	if len(raw) == 0 || len(raw) > 15 {
		return 0, false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// Masks for finding special bytes in a 64-bit word of eight bytes.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stringEnd reads the contents of a JSON string that start at d[i] (just
// past the opening quote) and returns the index just past the closing quote,
// and whether the string holds escapes. ok is false for a control character,
// a bad escape or a missing closing quote. Bytes of 0x80 and above pass
// unchecked, as in gjson: the stream is taken to be UTF-8. Plain bytes are
// skipped eight at a time.
func stringEnd(d []byte, i int) (end int, escaped, ok bool) {
	for {
		for i+8 <= len(d) {
			m := specialBytes(binary.LittleEndian.Uint64(d[i:]))
			if m != 0 {
				i += int(uint(bits.TrailingZeros64(m)) >> 3)
				break
			}
			i += 8
		}
		for i < len(d) && d[i] != '"' && d[i] != '\\' && d[i] >= ' ' {
			i++
		}
		if i >= len(d) {
			return i, escaped, false
		}
		switch d[i] {
		case '"':
			return i + 1, escaped, true
		case '\\':
			escaped = true
			if i = escapeEnd(d, i+1); i < 0 {
				return len(d), escaped, false
			}
		default: // a control character
			return i, escaped, false
		}
	}
}

// specialBytes sets the high bit of the lowest byte of w that is a quote,
// a backslash or below 0x20 (bits above it may be set falsely, the usual
// caveat of these tricks); it is zero if w has none.
func specialBytes(w uint64) uint64 {
	quote := w ^ (lows * '"')
	slash := w ^ (lows * '\\')
	return (zeroBytes(quote) | zeroBytes(slash) | (w-lows*' ')&^w&highs)
}

// zeroBytes flags the lowest zero byte of w (and maybe bytes above it).
func zeroBytes(w uint64) uint64 { return (w - lows) &^ w & highs }

// escapeEnd checks the escape whose letter is at d[i] and returns the index
// past it, or -1 if it is not a JSON escape.
func escapeEnd(d []byte, i int) int {
	if i >= len(d) {
		return -1
	}
	switch d[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 1
	case 'u':
		if i+5 > len(d) {
			return -1
		}
		for _, c := range d[i+1 : i+5] {
			if !ishex(c) {
				return -1
			}
		}
		return i + 5
	}
	return -1
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// topMembers is a memberVisitor that notes the top-level members of an
// object (walk it with maxDepth 1), so that a parser can take them once
// walkObject has vouched for the whole object. An object with more than
// maxTopMembers members is declined.
type topMembers struct {
	n       int
	members [maxTopMembers]rawMember
}

// rawMember is one member as walkObject found it: the key between its
// quotes and the raw JSON value.
type rawMember struct{ key, value []byte }

// maxTopMembers is more than any provider puts at the top of a chunk.
const maxTopMembers = 24

func (t *topMembers) reset() *topMembers {
	t.n = 0
	return t
}

// list returns the members noted, in the object's order.
func (t *topMembers) list() []rawMember { return t.members[:t.n] }

func (t *topMembers) member(_ int, _, key, value []byte) bool {
	if t.n == len(t.members) {
		return false
	}
	t.members[t.n] = rawMember{key, value}
	t.n++
	return true
}
