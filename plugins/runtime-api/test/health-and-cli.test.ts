import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { adminCommand, RUNTIME_API_SERVICE, type RuntimeApiService } from '@switchyard/plugin-runtime-api';
import { until } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'core/bin/switchyard.js');
const TOKEN = 'cli-token-0123456789abcdef';

/** Runs the real CLI (built dist) and collects its output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('runtime API with the health-check plugin, and switchyard admin', () => {
  let healthy: Upstream;
  let sick: Upstream;
  let gw: TestGateway;
  let api: string;
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    healthy = await startUpstream({ name: 'healthy' });
    sick = await startUpstream({
      name: 'sick',
      handler: (req, res) => {
        req.resume();
        // Its health endpoint fails, but it still answers ordinary requests.
        res.writeHead(req.url === '/health' ? 503 : 200, { 'x-upstream': 'sick' }).end('sick');
      },
    });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-health-check', '@switchyard/plugin-runtime-api'],
      runtimeApi: { enabled: true, listen: '127.0.0.1:0', token: TOKEN },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: {
        app: {
          healthCheck: { type: 'http', inter: '200ms', timeout: '3s', rise: 1, fall: 2, http: { path: '/health' } },
          servers: [{ name: 'h1', address: healthy.address }, { name: 'k1', address: sick.address }],
        },
      },
    });
    api = (await gw.gateway.container.resolve<RuntimeApiService>(RUNTIME_API_SERVICE).ready).url;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-admin-'));
    configFile = path.join(dir, 'switchyard.yaml');
    // The file `switchyard admin --config` reads to find the API (same address and token).
    fs.writeFileSync(
      configFile,
      [
        'plugins: ["@switchyard/preset-standard", "@switchyard/plugin-runtime-api"]',
        `runtimeApi: { enabled: true, listen: "${new URL(api).host}", token: "${TOKEN}" }`,
        'frontends: {}',
        'backends: {}',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await healthy?.close();
    await sick?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const spread = async (n: number): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await request(gw.url('/'));
      const who = String(r.headers['x-upstream'] ?? r.statusCode);
      await r.body.dump();
      out[who] = (out[who] ?? 0) + 1;
    }
    return out;
  };

  it('disable health brings a server its checks hold DOWN back into rotation, and it stays there', async () => {
    const k1 = gw.gateway.backends.get('app')!.server('k1')!;
    const h1 = gw.gateway.backends.get('app')!.server('h1')!;
    await until(() => k1.health === 'down' && h1.health === 'up', 'the failing check to mark k1 DOWN (h1 UP)');
    expect(await spread(4)).toEqual({ healthy: 4 });
    const res = await request(`${api}/v1/commands/${encodeURIComponent('disable health')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ server: 'app/k1' }),
    });
    expect(await res.body.json()).toMatchObject({ ok: true, result: { status: 'UP', healthChecks: 'disabled' } });
    // Several check intervals later it is still UP: the checks really stopped.
    await new Promise((r) => setTimeout(r, 500));
    expect(k1.health).toBe('up');
    expect(await spread(4)).toEqual({ healthy: 2, sick: 2 });
    // enable health resumes the checks: the next failing check takes k1 DOWN again.
    const command = (name: string) =>
      request(`${api}/v1/commands/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ server: 'app/k1' }),
      });
    const again = await command('enable health');
    expect(again.statusCode).toBe(200);
    await again.body.dump();
    await until(() => k1.health === 'down', 'the resumed check to mark k1 DOWN again');
    expect(await spread(4)).toEqual({ healthy: 4 });
    // Disabled again for the next test, which reads it from `show servers`.
    const off = await command('disable health');
    await off.body.dump();
    expect(k1.health).toBe('up');
  });

  it('switchyard admin runs commands through --config, and through --url/--token', async () => {
    const shown = await cli(['admin', '--config', configFile, 'show', 'servers']);
    if (shown.code !== 0) throw new Error(`admin failed: ${JSON.stringify(shown)}`);
    expect(shown.err).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^server\s+role\s+address\s+status/);
    expect(shown.out).toMatch(/app\/k1\s+active\s+127\.0\.0\.1:\d+\s+UP\s+1\s+.*disabled/);

    const maint = await cli(['admin', '--config', configFile, '--url', api, '--token', TOKEN, 'set', 'server', 'state', 'app/h1', 'maint']);
    expect(maint.code).toBe(0);
    expect(JSON.parse(maint.out)).toEqual({ server: 'app/h1', from: 'ready', to: 'maint' });
    expect(await spread(3)).toEqual({ sick: 3 });

  }, 40_000);

  /** The same command in-process (no child process): env variables, bad token, key=value arguments. */
  const admin = async (argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> => {
    const saved = { url: process.env.SWITCHYARD_ADMIN_URL, token: process.env.SWITCHYARD_ADMIN_TOKEN };
    Object.assign(process.env, env);
    let out = '';
    let err = '';
    try {
      const code = await adminCommand.run({
        argv,
        out: (t) => (out += t),
        err: (t) => (err += t),
        prepare: () => Promise.reject(new Error('not used: the target comes from flags or env')),
      });
      return { code, out, err };
    } finally {
      for (const [k, v] of [['SWITCHYARD_ADMIN_URL', saved.url], ['SWITCHYARD_ADMIN_TOKEN', saved.token]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };

  it('admin takes the target from the environment and arguments as key=value', async () => {
    const weight = await admin(['set', 'server', 'weight', 'server=app/k1', 'weight=50%'], { SWITCHYARD_ADMIN_URL: api, SWITCHYARD_ADMIN_TOKEN: TOKEN });
    expect(weight).toMatchObject({ code: 0, err: '' });
    // HAProxy's arithmetic: 50% of an initial weight of 1 is 0 (truncated), not 1.
    expect(JSON.parse(weight.out)).toMatchObject({ server: 'app/k1', to: 0 });
    const back = await admin(['set', 'server', 'weight', 'app/k1', '100%'], { SWITCHYARD_ADMIN_URL: api, SWITCHYARD_ADMIN_TOKEN: TOKEN });
    expect(JSON.parse(back.out)).toMatchObject({ server: 'app/k1', to: 1 });
    const wrong = await admin(['--url', api, '--token', 'not-the-token-at-all', 'show', 'servers']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/SWY_ERR_RUNTIME_UNAUTHORIZED/);
    const help = await admin(['--url', api, '--token', TOKEN, 'help']);
    expect(help.out).toMatch(/^show servers <backend>$/m);
    const ready = await admin(['--url', api, '--token', TOKEN, 'set', 'server', 'state', 'app/h1', 'ready']);
    expect(ready.code).toBe(0);
    expect(gw.gateway.backends.get('app')!.server('h1')!.admin).toBe('ready');
    expect(await spread(2)).toEqual({ healthy: 1, sick: 1 });
    const reload = await admin(['--url', api, '--token', TOKEN, 'reload']);
    expect(reload.code).toBe(1);
    expect(reload.err).toMatch(/reload is not available.*SWY_ERR_RUNTIME_NOT_AVAILABLE/);
    const unknown = await admin(['--url', api, '--token', TOKEN, 'frobnicate']);
    expect(unknown.code).toBe(2);
  });

});
