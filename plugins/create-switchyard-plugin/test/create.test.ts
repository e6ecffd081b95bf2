import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BIN = path.join(__dirname, '..', 'bin', 'create.js');

/** The generator itself; test/npm-plugin.test.ts installs, builds and tests what it writes. */
describe('npm create switchyard-plugin', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-create-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a plugin package with a schema, taps, a slot, a README and a test', () => {
    const out = execFileSync(process.execPath, [BIN, 'request-id'], { cwd: dir, encoding: 'utf8' });
    const root = path.join(dir, 'switchyard-plugin-request-id');
    expect(out).toContain(`Created switchyard-plugin-request-id in ${root}`);
    const files = ['package.json', 'tsconfig.json', 'README.md', '.gitignore', 'src/index.ts', 'src/policy.ts', 'test/plugin.test.ts'];
    for (const f of files) expect(fs.existsSync(path.join(root, f))).toBe(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('switchyard-plugin-request-id');
    expect(pkg.peerDependencies['@switchyard/sdk']).toBe('>=0.1.1 <1.0.0');
    expect(pkg.switchyard.activation).toEqual({ keys: { config: ['requestId'] }, balance: ['request-id-first'] });
    const src = fs.readFileSync(path.join(root, 'src', 'index.ts'), 'utf8');
    expect(src).toContain("configKey: 'requestId'");
    expect(src).toContain('RequestIdFirstPolicy');
    expect(src).not.toMatch(/__[A-Z_]+__/);
    expect(fs.readFileSync(path.join(root, 'test', 'plugin.test.ts'), 'utf8')).not.toMatch(/__[A-Z_]+__/);
  });

  it('refuses a folder that is not empty, and a bad package name', () => {
    fs.mkdirSync(path.join(dir, 'switchyard-plugin-x'));
    fs.writeFileSync(path.join(dir, 'switchyard-plugin-x', 'keep'), '');
    expect(() => execFileSync(process.execPath, [BIN, 'x'], { cwd: dir, stdio: 'pipe' })).toThrow(/exists and is not empty/);
    expect(() => execFileSync(process.execPath, [BIN, 'Bad Name'], { cwd: dir, stdio: 'pipe' })).toThrow(/not a valid npm package name/);
  });
});
