#!/usr/bin/env node
'use strict';
// The switchyard CLI of @switchyard/gateway: the core's CLI, with this package's directory on
// the plugin search path so the standard preset and the opt-in plugins it depends on resolve
// whatever layout npm chose (hoisted, nested, pnpm).
const path = require('node:path');
const here = path.resolve(__dirname, '..');
// This package (the opt-in plugins) and the standard preset (its members, so a config may
// list them one by one).
const dirs = [here, path.dirname(require.resolve('@switchyard/preset-standard/package.json', { paths: [here] }))];
const current = process.env.SWITCHYARD_PLUGIN_PATH;
process.env.SWITCHYARD_PLUGIN_PATH = [...(current ? [current] : []), ...dirs].join(path.delimiter);
require('@switchyard/core/cli')
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(typeof code === 'number' ? code : 0),
    (err) => {
      process.stderr.write(`fatal: ${err && err.stack ? err.stack : String(err)}\n`);
      process.exit(70);
    },
  );
