import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { RUNTIME_API_SERVICE, type RuntimeApiService } from '@switchyard/plugin-runtime-api';
import { CLI, ROOT } from './helpers';

const TOKEN = 'fast-path-token-0123456789';

/** Runs `switchyard <args>` with a preload that writes every module file the process loaded to `trace`. */
function cli(args: string[], trace: string): Promise<{ code: number | null; out: string; err: string; modules: string[] }> {
  const preload = path.join(path.dirname(trace), 'trace.js');
  fs.writeFileSync(
    preload,
    `const Module = require('node:module');\n` +
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(trace)}, Object.keys(Module._cache).join('\\n')));\n`,
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', preload, CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      const modules = fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8').split('\n') : [];
      resolve({ code, out, err, modules });
    });
  });
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('switchyard admin reads only the runtime API address (issue 21 item 9)', () => {
  let a: Upstream;
  let b: Upstream;
  let gw: TestGateway;
  let listen: string;
  let dir: string;

  beforeAll(async () => {
    a = await startUpstream({ name: 'a' });
    b = await startUpstream({ name: 'b' });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard'],
      runtimeApi: { enabled: true, listen: '127.0.0.1:0', token: TOKEN },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'main', address: a.address }, { name: 'spare', address: b.address, backup: true }] } },
    });
    const ready = await gw.gateway.container.resolve<RuntimeApiService>(RUNTIME_API_SERVICE).ready;
    listen = `${ready.host}:${ready.port}`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-admin-fast-'));
    // A plugin that fails the moment it is required: the admin path must never load it.
    fs.writeFileSync(path.join(dir, 'refuses-to-load.js'), "throw new Error('a plugin was loaded by switchyard admin');\n");
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([a?.close(), b?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, lines: string[]): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };

  it('answers show servers from the config file without loading any plugin, the config driver or the gateway, and marks the backup', async () => {
    const file = write('gw.yaml', [
      'plugins: ["./refuses-to-load.js", "@switchyard/preset-standard"]',
      `runtimeApi: { enabled: true, listen: "${listen}", token: "${TOKEN}" }`,
      'frontends: { web: { bind: "127.0.0.1:0", defaultBackend: app } }',
      `backends: { app: { servers: [{ address: "${a.address}" }] } }`,
    ]);
    const r = await cli(['admin', '--config', file, 'show', 'servers'], path.join(dir, 'trace-1.txt'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^server\s+role\s+address\s+status/);
    expect(r.out).toMatch(/app\/main\s+active\s/);
    expect(r.out).toMatch(/app\/spare\s+backup\s/);
    const ours = r.modules.filter((m) => m.startsWith(ROOT) && !m.includes(`${path.sep}node_modules${path.sep}`) && m.endsWith('.js'));
    const pluginFiles = ours.filter((m) => m.includes(`${path.sep}plugins${path.sep}`));
    expect(pluginFiles.map((m) => path.relative(ROOT, m)).sort()).toEqual(['plugins/runtime-api/dist/cli.js', 'plugins/runtime-api/dist/listen.js']);
    for (const heavy of ['config/load.js', 'gateway.js', 'reload.js', 'cluster.js']) {
      expect(ours.filter((m) => m.endsWith(path.join('core', 'dist', heavy)))).toEqual([]);
    }
    // Nor ajv, undici, pino or TypeBox.
    expect(r.modules.filter((m) => /node_modules[\\/](ajv|undici|pino|@sinclair[\\/]typebox)[\\/]/.test(m))).toEqual([]);
  }, 30_000);

  it('says with a code when the config has no runtime API, and names the address it cannot reach', async () => {
    const none = write('none.yaml', ['frontends: { web: { bind: "127.0.0.1:0", defaultBackend: app } }', `backends: { app: { servers: [{ address: "${a.address}" }] } }`]);
    const r1 = await cli(['admin', '--config', none, 'show', 'servers'], path.join(dir, 'trace-2.txt'));
    expect(r1.code).toBe(2);
    expect(r1.err).toMatch(/none\.yaml: runtimeApi is not enabled.*\(SWY_ERR_RUNTIME_ADMIN_TARGET\)/);

    const port = await closedPort();
    const down = write('down.yaml', [`runtimeApi: { enabled: true, listen: "127.0.0.1:${port}", token: "${TOKEN}" }`]);
    const r2 = await cli(['admin', '--config', down, 'show', 'servers'], path.join(dir, 'trace-3.txt'));
    expect(r2.code).toBe(1);
    expect(r2.err).toContain(`cannot reach the runtime API at http://127.0.0.1:${port}`);
    expect(r2.err).toMatch(/ECONNREFUSED.*\(SWY_ERR_RUNTIME_ADMIN_UNREACHABLE\)/);
  }, 30_000);
});
