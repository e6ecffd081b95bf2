#!/usr/bin/env node
/**
 * The published config schema: the composed JSON Schema of the core and EVERY bundled plugin
 * (plugins/*, presets excluded), as `switchyard schema` prints it for a config listing them all.
 *
 *   node scripts/schema.js            writes schema/config.json (npm run schema)
 *   node scripts/schema.js --check    exits 1 when schema/config.json is stale
 *
 * Needs a build (npm run build) first; the test test/schema-file.test.ts runs the check.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const FILE = path.join(ROOT, 'schema', 'config.json');

/**
 * Every bundled plugin package, by name, in directory order (presets only list others; the
 * user-facing package and the scaffolder, which are no plugins, carry no switchyard-plugin keyword).
 */
function bundledPlugins() {
  const dir = path.join(ROOT, 'plugins');
  return fs
    .readdirSync(dir)
    .filter((d) => !d.startsWith('preset-') && fs.existsSync(path.join(dir, d, 'package.json')))
    .sort()
    .map((d) => JSON.parse(fs.readFileSync(path.join(dir, d, 'package.json'), 'utf8')))
    .filter((pkg) => (pkg.keywords ?? []).includes('switchyard-plugin'))
    .map((pkg) => pkg.name);
}

function composed() {
  const { loadConfig } = require(path.join(ROOT, 'core', 'dist', 'index.js'));
  const silent = { level: 'silent', fatal() {}, error() {}, warn() {}, info() {}, debug() {}, trace() {}, child() { return silent; } };
  const loaded = loadConfig({ object: { plugins: bundledPlugins(), frontends: {}, backends: {} }, baseDir: ROOT }, { logger: silent });
  return JSON.stringify(loaded.schema, null, 2) + '\n';
}

function main() {
  const text = composed();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(FILE) ? fs.readFileSync(FILE, 'utf8') : '';
    if (current !== text) {
      process.stderr.write('schema/config.json is stale: run `npm run build && npm run schema` and commit it\n');
      process.exit(1);
    }
    return;
  }
  fs.mkdirSync(path.dirname(FILE), { recursive: true });
  fs.writeFileSync(FILE, text);
  process.stdout.write(`wrote ${path.relative(ROOT, FILE)} (${bundledPlugins().length} plugins)\n`);
}

if (require.main === module) main();
module.exports = { bundledPlugins, composed, FILE };
