// Runs a Go test binary built for wasip1 (GOOS=wasip1 GOARCH=wasm go test
// -c) in Node's WASI, that is in V8, the engine Envoy runs the plugin in:
// the package benchmarks of sseparse and parsers measured in the engine
// that matters, next to their native figures. The package directory is
// the working directory, so testdata/ resolves as under go test.
//
//   node bench/v8/gotest.mjs TEST.wasm PACKAGE_DIR [go test flags, e.g. -test.bench .]

import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [binary, dir, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: ['test', ...args], env: { PWD: dir }, preopens: { [dir]: dir }, returnOnExit: true });
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(binary)), { wasi_snapshot_preview1: wasi.wasiImport });
process.exitCode = wasi.start(instance);
