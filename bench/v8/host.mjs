// A small proxy-wasm host for Node.js: just enough of the proxy-wasm ABI
// (v0.2.x, the calls tokenmeter imports) to run an HTTP filter module in
// V8 -- the engine Envoy runs it in -- without Envoy, so the cost of each
// callback can be measured on its own.
//
// It plays Envoy's part for one plugin: the root context, then per stream
// an HTTP context driven through request headers and body, response
// headers, response body chunks, done, log and delete. Like Envoy with
// allow_on_headers_stop_iteration, a body callback that returns Pause
// (StopIterationAndBuffer) keeps the bytes buffered and the next callback
// sees them again together with the new ones; Continue passes them on.
//
// What the module writes is kept for checking: filter state (properties),
// metrics, local replies and log lines.

import { WASI } from 'node:wasi';

// Status codes of the ABI (proxy-wasm spec, "Status").
const OK = 0;
const NOT_FOUND = 1;
const BAD_ARGUMENT = 2;
const UNIMPLEMENTED = 12;

// Header map and buffer types used by the calls below.
const MAP_REQUEST_HEADERS = 0;
const MAP_RESPONSE_HEADERS = 2;
const BUFFER_REQUEST_BODY = 0;
const BUFFER_RESPONSE_BODY = 1;
const BUFFER_VM_CONFIGURATION = 6;
const BUFFER_PLUGIN_CONFIGURATION = 7;

/** Action a filter callback returns. */
export const CONTINUE = 0;
export const PAUSE = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * One VM running one plugin: instantiate with {@link ProxyWasmHost.start},
 * then drive streams with {@link ProxyWasmHost.open}.
 */
export class ProxyWasmHost {
  /**
   * @param {WebAssembly.Module} module compiled proxy-wasm module
   * @param {string} pluginConfig the plugin configuration (JSON text)
   */
  constructor(module, pluginConfig) {
    this.module = module;
    this.pluginConfig = encoder.encode(pluginConfig);
    this.nextContextID = 1;
    this.rootID = 0;
    this.properties = new Map(); // last value set per property path
    this.metrics = new Map(); // name -> {id, type, value}
    this.metricNames = [];
    this.logs = []; // [level, message] at warn and above
    this.localReplies = 0;
    this.memory = null;
    this.bytes = null;
    this.view = null;
    this.current = null; // the stream whose callbacks are running
  }

  /** Pages of linear memory the module has now. */
  pages() {
    return this.memory.buffer.byteLength / 65536;
  }

  /**
   * Instantiates the module and starts the plugin: _initialize (the Go
   * reactor's runtime init), proxy_on_vm_start, the root context and
   * proxy_on_configure. Throws if the plugin refuses its configuration.
   * Returns the pages the module had right after instantiation.
   */
  start() {
    const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
    const imports = { wasi_snapshot_preview1: wasi.wasiImport, env: this.imports() };
    for (const imp of WebAssembly.Module.imports(this.module)) {
      if (imp.kind === 'function' && !(imp.name in imports[imp.module])) {
        imports[imp.module][imp.name] = () => UNIMPLEMENTED;
      }
    }
    this.instance = new WebAssembly.Instance(this.module, imports);
    this.exports = this.instance.exports;
    this.memory = this.exports.memory;
    const initialPages = this.pages();
    wasi.initialize(this.instance);
    this.rootID = this.nextContextID++;
    if (!this.exports.proxy_on_vm_start(this.rootID, 0)) {
      throw new Error('proxy_on_vm_start failed');
    }
    this.exports.proxy_on_context_create(this.rootID, 0);
    if (!this.exports.proxy_on_configure(this.rootID, this.pluginConfig.length)) {
      throw new Error(`proxy_on_configure failed: ${JSON.stringify(this.logs)}`);
    }
    return initialPages;
  }

  /**
   * Starts one HTTP stream: creates its context and runs the request
   * callbacks and the response headers. Feed the body with
   * {@link HttpStream.body} and finish with {@link HttpStream.end}.
   */
  open(req, resp) {
    return new HttpStream(this, req, resp);
  }

  // --- memory helpers -------------------------------------------------

  refresh() {
    // Growing the memory detaches the old buffer, leaving views of it empty.
    if (this.bytes === null || this.bytes.byteLength === 0) {
      this.bytes = new Uint8Array(this.memory.buffer);
      this.view = new DataView(this.memory.buffer);
    }
  }

  str(ptr, len) {
    this.refresh();
    return decoder.decode(this.bytes.subarray(ptr, ptr + len));
  }

  /** Copies data into memory the module allocates and returns its address. */
  give(data, retPtr, retSize) {
    let ptr = 0;
    if (data.length > 0) {
      ptr = this.exports.proxy_on_memory_allocate(data.length);
      this.refresh(); // the allocation may have grown the memory
      this.bytes.set(data, ptr);
    }
    this.refresh();
    this.view.setUint32(retPtr, ptr, true);
    this.view.setUint32(retSize, data.length, true);
    return OK;
  }

  // --- the env imports ---------------------------------------------------

  imports() {
    return {
      proxy_log: (level, ptr, len) => {
        if (level >= 3) this.logs.push([level, this.str(ptr, len)]);
        return OK;
      },
      proxy_get_buffer_bytes: (type, start, max, retPtr, retSize) => {
        let buf;
        switch (type) {
          case BUFFER_PLUGIN_CONFIGURATION: buf = this.pluginConfig; break;
          case BUFFER_VM_CONFIGURATION: buf = new Uint8Array(0); break;
          case BUFFER_REQUEST_BODY: buf = this.current?.requestBody; break;
          case BUFFER_RESPONSE_BODY: buf = this.current?.held(); break;
        }
        if (buf === undefined) return NOT_FOUND;
        return this.give(buf.subarray(start, start + max), retPtr, retSize);
      },
      proxy_get_header_map_value: (type, keyPtr, keyLen, retPtr, retSize) => {
        const map = type === MAP_REQUEST_HEADERS ? this.current?.req.headers
          : type === MAP_RESPONSE_HEADERS ? this.current?.resp.headers : undefined;
        const value = map?.[this.str(keyPtr, keyLen)];
        if (value === undefined) return NOT_FOUND;
        return this.give(encoder.encode(value), retPtr, retSize);
      },
      proxy_get_property: () => NOT_FOUND, // no route name, no code details
      proxy_set_property: (pathPtr, pathLen, valuePtr, valueLen) => {
        this.properties.set(this.str(pathPtr, pathLen), this.str(valuePtr, valueLen));
        return OK;
      },
      proxy_define_metric: (type, namePtr, nameLen, retID) => {
        const name = this.str(namePtr, nameLen);
        let m = this.metrics.get(name);
        if (m === undefined) {
          m = { id: this.metricNames.length, type, value: 0n };
          this.metrics.set(name, m);
          this.metricNames.push(name);
        }
        this.refresh();
        this.view.setUint32(retID, m.id, true);
        return OK;
      },
      proxy_increment_metric: (id, offset) => this.metricOp(id, (m) => { m.value += offset; }),
      proxy_record_metric: (id, value) => this.metricOp(id, (m) => { m.value = value; }),
      proxy_send_local_response: () => {
        this.localReplies++;
        return OK;
      },
      proxy_continue_stream: () => {
        this.current?.resume();
        return OK;
      },
      proxy_set_effective_context: () => OK,
      proxy_set_tick_period_milliseconds: () => OK,
    };
  }

  metricOp(id, op) {
    const m = this.metrics.get(this.metricNames[id]);
    if (m === undefined) return BAD_ARGUMENT;
    op(m);
    return OK;
  }
}

/** One HTTP call through the filter, as Envoy drives it. */
export class HttpStream {
  /**
   * @param {ProxyWasmHost} host
   * @param {{headers: Object<string,string>, body: Uint8Array}} req
   * @param {{headers: Object<string,string>}} resp
   */
  constructor(host, req, resp) {
    this.host = host;
    this.req = req;
    this.resp = resp;
    this.requestBody = req.body;
    // What Envoy holds for the filter: the last chunk itself, or after a
    // Pause, the chunks since joined in pending (as Envoy joins them in its
    // buffer, which a filter that continues never costs a copy).
    this.holding = EMPTY;
    this.pending = null;
    this.callbacks = 0;
    this.id = host.nextContextID++;
    const x = host.exports;
    host.current = this;
    x.proxy_on_context_create(this.id, host.rootID);
    x.proxy_on_request_headers(this.id, Object.keys(req.headers).length, req.body.length === 0);
    if (req.body.length > 0) x.proxy_on_request_body(this.id, req.body.length, true);
    x.proxy_on_response_headers(this.id, Object.keys(resp.headers).length, false);
  }

  /** The response bytes the filter sees in the current callback. */
  held() {
    return this.holding;
  }

  /** Passes the held bytes on, as Envoy does on Continue. */
  resume() {
    this.holding = EMPTY;
  }

  /** Delivers one chunk of the response body; returns the action. */
  body(chunk, endOfStream) {
    if (this.holding.length === 0) {
      this.holding = chunk;
    } else {
      const need = this.holding.length + chunk.length;
      if (this.pending === null || need > this.pending.length) {
        const grown = new Uint8Array(Math.max(need, 2 * (this.pending?.length ?? 0), 64 << 10));
        grown.set(this.holding);
        this.pending = grown;
      } else if (this.holding.buffer !== this.pending.buffer) {
        this.pending.set(this.holding);
      }
      this.pending.set(chunk, this.holding.length);
      this.holding = this.pending.subarray(0, need);
    }
    this.callbacks++;
    const action = this.host.exports.proxy_on_response_body(this.id, this.holding.length, endOfStream);
    if (action === CONTINUE) this.resume();
    return action;
  }

  /** Ends the stream: done, log (the filter's OnHttpStreamDone), delete. */
  end() {
    const x = this.host.exports;
    x.proxy_on_done(this.id);
    x.proxy_on_log(this.id);
    x.proxy_on_delete(this.id);
    this.host.current = null;
  }
}
