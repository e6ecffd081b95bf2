'use strict';
// Embedding: the core's API (startGateway, loadConfig…), with this package's plugins on the
// search path like the CLI.
const path = require('node:path');
const dirs = [__dirname, path.dirname(require.resolve('@switchyard/preset-standard/package.json', { paths: [__dirname] }))];
const current = (process.env.SWITCHYARD_PLUGIN_PATH ?? '').split(path.delimiter).filter(Boolean);
process.env.SWITCHYARD_PLUGIN_PATH = [...current, ...dirs.filter((d) => !current.includes(d))].join(path.delimiter);
module.exports = require('@switchyard/core');
