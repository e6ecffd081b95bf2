'use strict';
// Idle memory, piece by piece (issue 17 item 5): runs pieces-child.js in a fresh Node process
// per V8 flag set and returns its steps (RSS, heap, external, new space after each piece).
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function measurePieces(runs) {
  return runs.map(({ cfg, flags, config }) => {
    try {
      const out = execFileSync(process.execPath, ['--expose-gc', ...flags, path.join(__dirname, 'pieces-child.js'), cfg], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const j = JSON.parse(out.trim().split('\n').pop());
      return { flags, config, ...j };
    } catch (err) {
      return { flags, config, error: String(err.stdout || err.message).slice(0, 500) };
    }
  });
}

module.exports = { measurePieces };
