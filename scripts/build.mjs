// Builds the `mqpay` command into dist/. Runs on `npm install` (prepare) so a fresh clone has a
// working bin. Dependencies stay external: they are installed beside it, and better-sqlite3 is a
// native addon that cannot be bundled.
//
// Also builds dist/agent.js: the device agent library as one self-contained file (only
// better-sqlite3 external), for devices that get a file copied onto them rather than an
// `npm install`. Its size is a product figure (target: under 300 KB), hence the steps below.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';

await build({
  entryPoints: ['bin/mqpay.ts'],
  outfile: 'dist/mqpay.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  banner: { js: '#!/usr/bin/env node' },
  sourcemap: true,
  logLevel: 'warning',
});
chmodSync('dist/mqpay.js', 0o755);

// Browser polyfills that MQTT.js pulls in, replaced by what Node already has:
// readable-stream is a copy of Node's own stream module (about 80 KB minified), and
// worker-timers moves timers into a Web Worker, which only matters in browsers.
const NODE_SHIMS = {
  'readable-stream': 'import stream from "node:stream"; export * from "node:stream"; export default stream;',
  'worker-timers': 'export const { setInterval, clearInterval, setTimeout, clearTimeout } = globalThis;',
};

const agentBundlePlugin = {
  name: 'mqpay-agent-bundle',
  setup(builder) {
    builder.onResolve({ filter: /^(readable-stream|worker-timers)$/ }, (args) => ({ path: args.path, namespace: 'node-shim' }));
    builder.onLoad({ filter: /.*/, namespace: 'node-shim' }, (args) => ({ contents: NODE_SHIMS[args.path], loader: 'js', resolveDir: process.cwd() }));
  },
};

await build({
  entryPoints: ['agent/index.ts'],
  outfile: 'dist/agent.js',
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
  sourcemap: true,
  logLevel: 'warning',
});

// The protocol core for integrators (package.json "exports": "mqpay/protocol"): shared/, pure,
// with its dependencies (zod, @noble/ed25519) installed beside it.
await build({
  entryPoints: ['shared/index.ts'],
  outfile: 'dist/protocol.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});

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
