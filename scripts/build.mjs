// Builds the `mqpay` command into dist/. Runs on `npm install` (prepare) so a fresh clone has a
// working bin. Dependencies stay external: they are installed beside it, and better-sqlite3 is a
// native addon that cannot be bundled.
//
// Also builds dist/agent.js: the device agent library as one self-contained file (only
// better-sqlite3 external), for devices that get a file copied onto them rather than an
// `npm install`. Its size is a product figure (target: under 300 KB), hence the steps below.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';

// dist/mqpay.js is a launcher: it loads dist/mqpay-agent.js for `mqpay agent ...` and
// dist/mqpay-cli.js for everything else, each at run time (bin/mqpay.ts).
// Dependencies installed beside the bundle (package.json), not in it.
const NODE_PACKAGE = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: true, logLevel: 'warning' };
await build({ ...NODE_PACKAGE, entryPoints: ['bin/mqpay.ts'], outfile: 'dist/mqpay.js', banner: { js: '#!/usr/bin/env node' } });
chmodSync('dist/mqpay.js', 0o755);
await build({ ...NODE_PACKAGE, entryPoints: ['cli/main.ts'], outfile: 'dist/mqpay-cli.js' });

// Browser polyfills that MQTT.js pulls in, replaced by what Node already has (and one MQTT 5 part):
// readable-stream is a copy of Node's own stream module (about 80 KB minified), and
// worker-timers moves timers into a Web Worker, which only matters in browsers. `debug` (with
// `ms`, 8 KB) is MQTT.js's and mqtt-packet's trace logging, off unless DEBUG=mqttjs* is set:
// a device logs through pino instead.
const NODE_SHIMS = {
  'readable-stream': 'import stream from "node:stream"; export * from "node:stream"; export default stream;',
  'worker-timers': 'export const { setInterval, clearInterval, setTimeout, clearTimeout } = globalThis;',
  // lru-cache (17 KB) backs MQTT.js's MQTT 5 topic aliases, created only when an MQTT 5 CONNACK
  // grants some (handlers/connack.js); mqpay speaks MQTT 3.1.1, so it is never constructed.
  'lru-cache': 'export class LRUCache { constructor() { throw new Error("MQTT 5 topic aliases are left out of the mqpay agent bundle"); } }',
  debug: 'module.exports = function debug() { const log = function () {}; log.enabled = false; log.extend = function () { return log; }; return log; };',
  // rfdc (3 KB) deep-copies a PUBLISH packet before MQTT.js stores it for QoS 1 (client.js
  // _storeAndSend, _storePacket): a plain object of strings, numbers, booleans and one Buffer
  // (MQTT 5 properties aside, which mqpay never sends). This copy covers exactly those.
  'rfdc/default': 'function clone(v) { if (v === null || typeof v !== "object") return v; if (Buffer.isBuffer(v)) return Buffer.from(v); if (ArrayBuffer.isView(v)) return v.slice(); if (Array.isArray(v)) return v.map(clone); if (v instanceof Date) return new Date(v.getTime()); const o = {}; for (const k of Object.keys(v)) o[k] = clone(v[k]); return o; } module.exports = clone;',
};

// zod's JSON Schema output (about 18 KB): the broker's OpenAPI document uses it, a device never
// does. Each export of those two modules becomes a function that throws if it is ever called.
const ZOD_JSON_SCHEMA = /[\\/]zod[\\/]v4[\\/]core[\\/](json-schema-processors|to-json-schema)\.js$/;

/** The module's export names, each as a function that throws (for the files above). */
function throwingExportsOf(file) {
  const names = [...readFileSync(file, 'utf8').matchAll(/^export (?:const|function) (\w+)/gm)].map((match) => match[1]);
  const aliases = [...readFileSync(file, 'utf8').matchAll(/^export \{ (\w+) as (\w+) \}/gm)].map((match) => match[2]);
  const body = 'function left() { throw new Error("zod JSON Schema output is left out of the mqpay agent bundle"); }';
  return [body, ...[...names, ...aliases].map((name) => `export const ${name} = left;`)].join('\n');
}

const agentBundlePlugin = {
  name: 'mqpay-agent-bundle',
  setup(builder) {
    builder.onResolve({ filter: /^(readable-stream|worker-timers|lru-cache|debug|rfdc\/default)$/ }, (args) => ({ path: args.path, namespace: 'node-shim' }));
    builder.onLoad({ filter: /.*/, namespace: 'node-shim' }, (args) => ({ contents: NODE_SHIMS[args.path], loader: 'js', resolveDir: process.cwd() }));
    builder.onLoad({ filter: ZOD_JSON_SCHEMA }, (args) => ({ contents: throwingExportsOf(args.path), loader: 'js' }));
  },
};

// The device's code, self-contained: the library (dist/agent.js) and the lean entry of
// `mqpay agent ...` (dist/mqpay-agent.js: the agent's commands and pino, no broker code).
const AGENT_BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  external: ['better-sqlite3'],
  plugins: [agentBundlePlugin],
  // MQTT.js and its helpers are CommonJS and `require` Node built-ins; an ESM bundle has no
  // `require` of its own, so give it Node's.
  banner: { js: "import { createRequire as __mqpayCreateRequire } from 'node:module'; const require = __mqpayCreateRequire(import.meta.url);" },
  // No legal comments kept inline: the licences are those of the packages in package.json.
  legalComments: 'none',
  // The source maps list every module each bundle holds (test/agent-bundle.test.ts reads them).
  sourcemap: true,
  logLevel: 'warning',
};
await build({ ...AGENT_BUNDLE, entryPoints: ['agent/index.ts'], outfile: 'dist/agent.js' });
await build({ ...AGENT_BUNDLE, entryPoints: ['cli/agent-main.ts'], outfile: 'dist/mqpay-agent.js' });

// The protocol core for integrators (package.json "exports": "mqpay/protocol"): shared/, pure,
// with its dependencies (zod, @noble/ed25519) installed beside it.
await build({ ...NODE_PACKAGE, entryPoints: ['shared/index.ts'], outfile: 'dist/protocol.js' });

// The operator dashboard (broker/operator/dashboard/): one browser script and its page and style, served
// by the broker from dist/dashboard/ (broker/operator/http/static-assets.ts). No framework, no chart
// library: plain DOM and inline SVG.
await build({
  entryPoints: ['broker/operator/dashboard/main.ts'],
  outfile: 'dist/dashboard/dashboard.js',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
await Promise.all(['index.html', 'dashboard.css'].map((name) => copyFile(`broker/operator/dashboard/${name}`, `dist/dashboard/${name}`)));
