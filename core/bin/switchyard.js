#!/usr/bin/env node
'use strict';
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then(
    (code) => {
      // Exit even if a plugin left a timer or socket behind after a graceful stop.
      process.exit(typeof code === 'number' ? code : 0);
    },
    (err) => {
      process.stderr.write(`fatal: ${err && err.stack ? err.stack : String(err)}\n`);
      process.exit(70);
    },
  );
