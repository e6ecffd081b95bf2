'use strict';
// Run by pieces.js as `node --expose-gc pieces-child.js <config> <plugin,plugin,...> [preset]`:
// loads Switchyard's pieces one after another in one process and prints process.memoryUsage()
// after each (after a full GC), as one JSON line. The plugin list is the config's (from
// `switchyard plugins`); with `preset`, the 30 modules of @switchyard/preset-standard are
// required first, as every adapted config did before the adapter loaded only what it uses.
// The last step is a listening gateway on the config.
const path = require('node:path');
const v8 = require('node:v8');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const req = (m) => require(require.resolve(m, { paths: [ROOT] }));
const cfg = process.argv[2];
const listed = (process.argv[3] ?? '').split(',').filter(Boolean);
const preset = process.argv[4] === 'preset';
const steps = [];
let keep = [];
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((r) => setImmediate(r));
  }
};
async function step(name, fn) {
  if (fn) keep.push(await fn());
  await settle();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
  steps.push({ name, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, newSpace: spaces.new_space ?? 0 });
}

(async () => {
  await step('node 20, nothing loaded');
  await step('tapable (the first package required from node_modules)', () => req('tapable'));
  await step('pino (a logger created)', () => req('pino')({ level: 'warn' }));
  await step('yaml', () => req('yaml'));
  await step('ajv + ajv-formats (required)', () => [req('ajv'), req('ajv-formats')]);
  await step('undici (required)', () => req('undici'));
  const core = await (async () => {
    let c;
    await step('@switchyard/core (required)', () => (c = req('@switchyard/core')));
    return c;
  })();
  const logger = req('pino')({ level: 'warn' });
  if (preset) await step("@switchyard/preset-standard's 30 plugin modules (required)", () => core.loadPlugins(core.DEFAULT_PLUGINS, ROOT));
  await step(`the config's ${listed.length} plugin modules (required): ${listed.map((p) => p.replace('@switchyard/plugin-', '')).join(', ')}`, () => core.loadPlugins(listed, ROOT));
  let loaded;
  await step('loadConfig: read (adapt), register, compose + compile the schema (ajv), validate', () => (loaded = core.loadConfig({ file: cfg }, { logger })));
  let gw;
  await step('Gateway.start: plugins applied, listening', async () => (gw = await core.Gateway.start(loaded, { logger })));
  process.stdout.write(JSON.stringify({ steps, plugins: loaded.plugins.length }) + '\n');
  await gw.stop?.();
  keep = null;
  process.exit(0);
})().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String(err && err.stack ? err.stack : err) }) + '\n');
  process.exit(1);
});
