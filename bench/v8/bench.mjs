// Measures dist/tokenmeter.wasm in V8 through the proxy-wasm host in
// host.mjs: start-up time, then for each stream of a manifest written by
// bench/cmd/tmbench, the response body delivered one event per callback
// and in 16 KiB chunks. Prints one JSON object on stdout.
//
//   node bench/v8/bench.mjs --wasm dist/tokenmeter.wasm --manifest DIR/manifest.json [--budget-ms 1500] [--rounds 5] [--config JSON]
//
// Timing: only the proxy_on_response_body calls of a stream are timed
// (one clock read before the first and after the last), summed over
// rounds of whole streams; each figure is the median of the rounds. The
// other callbacks of a stream are timed apart as the per-stream overhead.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProxyWasmHost } from './host.mjs';

const { values: opt } = parseArgs({
  options: {
    wasm: { type: 'string' },
    manifest: { type: 'string' },
    'budget-ms': { type: 'string', default: '1500' },
    rounds: { type: 'string', default: '5' },
    chunk: { type: 'string', default: '16384' },
    config: { type: 'string', default: '{}' }, // the plugin configuration
  },
});
const budgetNS = BigInt(Math.round(Number(opt['budget-ms']) * 1e6));
const rounds = Number(opt.rounds);
const chunkSize = Number(opt.chunk);
const now = process.hrtime.bigint;
const encoder = new TextEncoder();

const manifest = JSON.parse(readFileSync(opt.manifest, 'utf8'));
const wasmBytes = readFileSync(opt.wasm);

// Start-up: the first compile is cold; instantiation plus start is then
// repeated on fresh VMs from the compiled module, as Envoy does per worker.
let t0 = now();
const module = new WebAssembly.Module(wasmBytes);
const compileNS = now() - t0;
const startNS = [];
let host;
let initialPages = 0;
for (let i = 0; i < 5; i++) {
  t0 = now();
  const h = new ProxyWasmHost(module, opt.config);
  initialPages = h.start();
  startNS.push(now() - t0);
  host = h;
}

const pageLog = []; // [streams run so far, pages]
let streamsRun = 0;
const checkpoints = new Set([1, 10, 100, 1000, 10000, 100000]);

function request(s) {
  return {
    headers: {
      ':method': 'POST', ':path': s.path, ':authority': s.host, ':scheme': 'https',
      'content-type': 'application/json', 'x-request-id': 'bench-0001',
    },
    body: encoder.encode(JSON.stringify({ model: s.model, stream: true, messages: [{ role: 'user', content: 'Tell me a long story.' }] })),
  };
}

const response = (s) => ({ headers: { ':status': '200', 'content-type': s.content_type } });

/** Runs one whole stream; returns [body ns, other callbacks ns]. */
function runStream(s, req, resp, chunks) {
  const a = now();
  const st = host.open(req, resp);
  const b = now();
  const last = chunks.length - 1;
  for (let i = 0; i <= last; i++) st.body(chunks[i], i === last);
  const c = now();
  st.end();
  const d = now();
  if (checkpoints.has(++streamsRun)) pageLog.push([streamsRun, host.pages()]);
  return [c - b, (b - a) + (d - c)];
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

/** Checks the plugin metered the stream exactly as the native parsers did. */
function check(s) {
  const got = host.properties.get('llm.total_tokens');
  const outcome = host.properties.get('llm.outcome');
  if (got !== String(s.total_tokens) || outcome !== 'completed' || host.localReplies !== 0) {
    throw new Error(`${s.name}: total_tokens=${got} outcome=${outcome} local replies=${host.localReplies}, want ${s.total_tokens} completed; logs ${JSON.stringify(host.logs.slice(0, 3))}`);
  }
}

/**
 * The stream with its first 64 bytes delivered one byte per callback: the
 * plugin pauses until it has a whole first event, so the host must join
 * the chunks it holds, as Envoy does.
 */
function pausing(body) {
  const cs = [];
  for (let i = 0; i < 64; i++) cs.push(body.subarray(i, i + 1));
  cs.push(body.subarray(64));
  return cs;
}

function measure(s, chunking, chunks, body) {
  const req = request(s);
  const resp = response(s);
  host.properties.clear();
  runStream(s, req, resp, pausing(body));
  check(s);
  host.properties.clear();
  runStream(s, req, resp, chunks);
  check(s);
  for (let i = 0; i < 20; i++) runStream(s, req, resp, chunks); // warm-up and tier-up
  const perRound = budgetNS / BigInt(rounds);
  const bodyPerStream = [];
  const otherPerStream = [];
  for (let r = 0; r < rounds; r++) {
    let body = 0n;
    let other = 0n;
    let n = 0;
    const start = now();
    while (now() - start < perRound || n < 3) {
      const [b, o] = runStream(s, req, resp, chunks);
      body += b;
      other += o;
      n++;
    }
    bodyPerStream.push(Number(body) / n);
    otherPerStream.push(Number(other) / n);
  }
  check(s);
  const bodyNS = median(bodyPerStream);
  return {
    stream: s.name, chunking, callbacks: chunks.length, events: s.event_ends.length, bytes: s.bytes,
    us_per_callback: bodyNS / chunks.length / 1e3,
    us_per_event: bodyNS / s.event_ends.length / 1e3,
    mb_per_s: s.bytes / bodyNS * 1e3,
    us_other_callbacks_per_stream: median(otherPerStream) / 1e3,
    rounds_us_per_event: bodyPerStream.map((x) => x / s.event_ends.length / 1e3),
  };
}

const results = [];
for (const s of manifest.streams) {
  const body = new Uint8Array(readFileSync(join(dirname(opt.manifest), s.file)));
  s.bytes = body.length;
  const byEvent = [];
  let from = 0;
  for (const end of s.event_ends) {
    byEvent.push(body.subarray(from, end));
    from = end;
  }
  const fixed = [];
  for (let i = 0; i < body.length; i += chunkSize) fixed.push(body.subarray(i, i + chunkSize));
  results.push(measure(s, 'event', byEvent, body));
  results.push(measure(s, `${chunkSize >> 10}KiB`, fixed, body));
}
pageLog.push([streamsRun, host.pages()]);

process.stdout.write(JSON.stringify({
  node: process.version,
  v8: process.versions.v8,
  module_bytes: wasmBytes.length,
  compile_ms: Number(compileNS) / 1e6,
  instantiate_start_ms: startNS.map((x) => Number(x) / 1e6),
  initial_pages: initialPages,
  pages: pageLog,
  streams_run: streamsRun,
  results,
}, null, 1) + '\n');
