'use strict';
// Idle memory, piece by piece (issue 17 item 5): runs pieces-child.js in a fresh Node process
// per V8 flag set and returns its steps (RSS, heap, external, new space after each piece).
const path = require('node:path');
const { execFileSync } = require('node:child_process');

/** The plugins a config loads, as `switchyard plugins --config` lists them. */
function pluginsOf(cfg) {
  const cli = path.resolve(__dirname, '..', '..', '..', 'core', 'bin', 'switchyard.js');
  const out = execFileSync(process.execPath, [cli, 'plugins', '--config', cfg], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').filter((l) => l.startsWith('@')).map((l) => l.split(/\s/)[0].replace(/@[^@]*$/, ''));
}

function measurePieces(runs) {
  return runs.map(({ cfg, flags, config, preset = false }) => {
    try {
      const list = pluginsOf(cfg);
      const out = execFileSync(process.execPath, ['--expose-gc', ...flags, path.join(__dirname, 'pieces-child.js'), cfg, list.join(','), preset ? 'preset' : ''], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const j = JSON.parse(out.trim().split('\n').pop());
      return { flags, config, preset, ...j };
    } catch (err) {
      return { flags, config, error: String(err.stdout || err.message).slice(0, 500) };
    }
  });
}

module.exports = { measurePieces };
