/**
 * Every CLI flag of `switchyard run` reaches every worker in master mode (`--workers N`),
 * and still does after a reload: a worker reads the config the way the master was told to.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { cli, runCli, type Running } from './helpers';

let up: Upstream;
let dir: string;
const running: Running[] = [];

beforeAll(async () => {
  up = await startUpstream({ name: 'app' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-flags-'));
});
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await up.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

async function startMaster(args: string[], port?: number): Promise<{ master: Running; port: number }> {
  const master = runCli(['run', ...args]);
  running.push(master);
  if (port !== undefined) {
    // Quiet log levels hide the banner: wait until the port answers.
    const deadline = Date.now() + 60_000;
    while (!(await get(port).then(() => true, () => false))) {
      if (Date.now() > deadline || master.child.exitCode !== null) throw new Error(`port ${port} never answered:\n${master.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { master, port };
  }
  port = Number((await master.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 60_000))[1]);
  await master.waitFor(/workers serving/, 60_000);
  return { master, port };
}

async function get(port: number, p = '/'): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}${p}`);
  await res.body.text();
  return res.statusCode;
}

/** Sends a request line llhttp refuses: the worker logs "bad client request" at debug. */
function sendGarbage(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('NOT A REQUEST\r\n\r\n'));
    s.on('data', () => undefined);
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
}

/** Lines logged by a worker (a pid other than the master's) that match `re`. */
function workerLines(master: Running, re: RegExp): string[] {
  return master
    .output()
    .split('\n')
    .filter((l) => re.test(l) && /"pid":(\d+)/.exec(l)?.[1] !== String(master.child.pid));
}

const HAPROXY = (upstream: string, pidFile: string): string => `global
    pidfile ${pidFile}
defaults
    mode http
    option frobnicate
frontend web
    bind 127.0.0.1:0
    default_backend app
backend app
    server a ${upstream}
`;

describe('CLI flags in master mode (run --workers 1)', () => {
  it('--lenient: the worker turns the unsupported directive into a warning, before and after a reload', async () => {
    const file = write('lenient.cfg', HAPROXY(up.address, path.join(dir, 'lenient.pid')));
    const without = await cli(['run', '--config', file, '--workers', '1']);
    expect(without.code).toBe(1);
    expect(without.output).toContain('SWY_ERR_HAPROXY_UNSUPPORTED');

    const { master, port } = await startMaster(['--config', file, '--lenient', '--workers', '1']);
    expect(await get(port)).toBe(200);
    expect(master.output()).toMatch(/ignored unsupported.*option frobnicate/);
    const reload = await cli(['reload', '--pid', String(master.child.pid), '--wait']);
    expect(reload.output).toMatch(/generation 2 serving/);
    expect(reload.code).toBe(0);
    expect(await get(port)).toBe(200);
    expect(await master.stop()).toBe(0);
  }, 120_000);

  it('--adapter: a haproxy.cfg under another name is read by the haproxy adapter in the worker', async () => {
    const file = write('gateway.conf', HAPROXY(up.address, path.join(dir, 'adapter.pid')).replace('    option frobnicate\n', ''));
    const without = await cli(['validate', '--config', file]);
    expect(without.code).not.toBe(0);
    const { master, port } = await startMaster(['--config', file, '--adapter', 'haproxy', '--workers', '1']);
    expect(await get(port)).toBe(200);
    expect(await master.stop()).toBe(0);
  }, 120_000);

  it('--log-level: the worker logs at the flag level (debug lines appear)', async () => {
    const file = write('debug.yaml', `frontends:\n  web: { bind: "127.0.0.1:0", defaultBackend: app }\nbackends:\n  app: { servers: [{ address: "${up.address}" }] }\n`);
    const { master, port } = await startMaster(['--config', file, '--log-level', 'debug', '--workers', '1']);
    await sendGarbage(port);
    await master.waitFor(/"msg":"bad client request"/);
    expect(workerLines(master, /"msg":"bad client request"/)).toHaveLength(1);
    expect(await master.stop()).toBe(0);
  }, 120_000);

  it('--log-level wins over global.logLevel in the worker; without it the worker follows global.logLevel', async () => {
    const [webPort, deadPort] = [await freePort(), await freePort()];
    const file = write('cfg-debug.yaml', [
      'global: { logLevel: debug }',
      'frontends:',
      `  web: { bind: "127.0.0.1:${webPort}", defaultBackend: app }`,
      `  dead: { bind: "127.0.0.1:${deadPort}", defaultBackend: none }`,
      'backends:',
      `  app: { servers: [{ address: "${up.address}" }] }`,
      '  none: { servers: [{ address: "127.0.0.1:9" }] }',
    ].join('\n'));
    // With --log-level warn: the garbage request's debug line must not appear; a failed
    // exchange (warn), sent after it, shows that the worker's log has caught up.
    const quiet = await startMaster(['--config', file, '--log-level', 'warn', '--workers', '1'], webPort);
    await sendGarbage(quiet.port);
    expect(await get(deadPort)).toBe(503);
    await quiet.master.waitFor(/SWY_ERR_FORWARD_REFUSED/);
    expect(workerLines(quiet.master, /bad client request/)).toEqual([]);
    expect(await quiet.master.stop()).toBe(0);

    const loud = await startMaster(['--config', file, '--workers', '1'], webPort);
    await sendGarbage(loud.port);
    await loud.master.waitFor(/"msg":"bad client request"/);
    expect(workerLines(loud.master, /"msg":"bad client request"/)).toHaveLength(1);
    expect(await loud.master.stop()).toBe(0);
  }, 120_000);

  it('--log-format: the worker writes the format the master was given (pretty: no JSON line anywhere)', async () => {
    const file = write('pretty.yaml', `frontends:\n  web: { bind: "127.0.0.1:0", defaultBackend: app }\nbackends:\n  app: { servers: [{ address: "${up.address}" }] }\n`);
    const { master, port } = await startMaster(['--config', file, '--log-format', 'pretty', '--log-level', 'debug', '--workers', '1']);
    await sendGarbage(port);
    // Only a worker logs this line: in pretty form, so the flag reached it.
    await master.waitFor(/DEBUG.*: bad client request/);
    expect(master.output()).not.toMatch(/^\{"level"/m);
    expect(await master.stop()).toBe(0);
  }, 120_000);

  it('--demo with --workers is a usage error that says what to do (exit 2)', async () => {
    const r = await cli(['run', '--demo', '--workers', '2']);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/--demo runs one process; drop --workers/);
  });

  it('--workers must be a whole number or auto (exit 2)', async () => {
    const r = await cli(['run', '--config', write('w.yaml', 'frontends: {}\nbackends: {}\n'), '--workers', 'two']);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/--workers must be a whole number from 1 to 256, or auto \(got two\)/);
  });
});
