import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const BIN = path.join(__dirname, '..', 'bin', 'switchyard.js');

/**
 * The CLI of the one package a user installs. (test/npm-plugin.test.ts runs it from packed
 * tarballs in a fresh project; this runs it in place.)
 */
describe('@switchyard/gateway', () => {
  it('validates a config without plugins: from any directory, with the standard preset found beside the package', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-gw-'));
    try {
      const file = path.join(dir, 'gateway.yaml');
      fs.writeFileSync(file, 'frontends:\n  web: { bind: 127.0.0.1:0, defaultBackend: app }\nbackends:\n  app: { balance: leastconn, servers: [{ address: 127.0.0.1:9, check: true }] }\n');
      const { stdout } = await exec(process.execPath, [BIN, 'validate', '--config', file], { cwd: dir });
      expect(stdout).toBe(`${file}: valid (4 plugins, 1 frontends, 1 backends)\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
