import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cli, ROOT, runCli } from './helpers';

const exec = promisify(execFile);

describe('the switchyard CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--version and --help', async () => {
    const v = await cli(['--version']);
    expect(v).toEqual({ code: 0, output: `${JSON.parse(fs.readFileSync(path.join(ROOT, 'core', 'package.json'), 'utf8')).version}\n` });
    const h = await cli(['--help']);
    expect(h.code).toBe(0);
    expect(h.output).toContain('switchyard validate --config <file>');
  });

  it('is reachable as `npx switchyard` from the repository root', async () => {
    const { stdout } = await exec('npx', ['--no-install', 'switchyard', '--version'], { cwd: ROOT });
    expect(stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'core', 'package.json'), 'utf8')).version);
  });

  it('validate: exit 0 for a good config', async () => {
    const file = path.join(dir, 'good.yaml');
    fs.writeFileSync(file, 'frontends:\n  web: { bind: 127.0.0.1:8080, defaultBackend: app }\nbackends:\n  app:\n    servers: [{ address: 127.0.0.1:9001 }]\n');
    const r = await cli(['validate', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.output).toContain('valid');
  });

  it('validate: every problem with file, line, key path; exit 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'frontends:\n  web:\n    bind: 127.0.0.1:8080\n    defaultBackend: app\n    tiemouts: {}\nbackends:\n  app:\n    servers:\n      - address: 127.0.0.1:9001\n        weight: -1\n');
    const r = await cli(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`error: ${file}:5: frontends.web.tiemouts: unknown key (not in the schema of any loaded plugin) (SWY_ERR_CONFIG_INVALID)`);
    expect(r.output).toContain(`error: ${file}:10: backends.app.servers[0].weight: must be >= 0 (SWY_ERR_CONFIG_INVALID)`);
  });

  it('validate without --config is a usage error', async () => {
    const r = await cli(['validate']);
    expect(r.code).toBe(2);
    expect(r.output).toContain('needs --config');
  });

  it('plugins: each loaded plugin with version, hooks and slots', async () => {
    const file = path.join(dir, 'good.yaml');
    const r = await cli(['plugins', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/@switchyard\/plugin-roundrobin@0\.1\.\d+ .*via @switchyard\/preset-standard/);
    expect(r.output).toMatch(/@switchyard\/plugin-http-forwarder@[\d.]+[^\n]*\n\s+hooks: [^\n]*forward/);
    expect(r.output).toContain('slots: balance:roundrobin');
  });

  it('schema: the composed JSON Schema, including plugin-contributed keys', async () => {
    const r = await cli(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.output) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['frontends', 'backends', 'plugins', 'httpForwarder']));
  });

  it('an unknown command or option is a usage error (exit 2)', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['run', '--bogus'])).code).toBe(2);
  });

  it('run: a config that fails validation exits 1 before listening', async () => {
    const file = path.join(dir, 'bad.yaml');
    const r = runCli(['run', '--config', file]);
    expect(await r.exit).toBe(1);
    expect(r.output()).toContain('SWY_ERR_CONFIG_INVALID');
  });
});
