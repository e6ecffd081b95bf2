/**
 * Reload in a single process (core/src/reload.ts): what happens to connections of the old
 * generation, a reload that cannot start, and the signals and commands that trigger it.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { Logger } from '@switchyard/sdk';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { startReloadable, type Reloader } from '@switchyard/core';
import { cli, runCli, until } from './helpers';

const logger = pino({ level: process.env.SWY_TEST_LOG ?? 'silent' }) as unknown as Logger;
let dir: string;
let a: Upstream;
let b: Upstream;
const held: http.ServerResponse[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-reload-'));
  a = await startUpstream({
    name: 'a',
    handler: (req, res) => {
      req.resume();
      if (req.url === '/hold') return void held.push(res);
      res.setHeader('x-upstream', 'a');
      res.end('a\n');
    },
  });
  b = await startUpstream({ name: 'b' });
});
afterAll(async () => {
  for (const r of held) r.destroy();
  await a.close();
  await b.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function config(file: string, upstream: Upstream, extra: string[] = []): void {
  fs.writeFileSync(file, [
    'global: { gracePeriod: 3s, logLevel: warn }',
    'frontends:',
    '  web: { bind: "127.0.0.1:0", defaultBackend: app, timeouts: { keepAlive: 300ms } }',
    ...extra,
    'backends:',
    `  app: { servers: [{ name: s, address: "${upstream.address}" }] }`,
  ].join('\n') + '\n');
}

/** A raw HTTP/1.1 keep-alive connection: send a request, read one response head and body. */
function keepAlive(port: number): Promise<{ socket: net.Socket; get: (p: string) => Promise<string>; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      let buf = '';
      let waiter: ((s: string) => void) | null = null;
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => {
        buf += c;
        const end = buf.indexOf('\r\n\r\n');
        const len = /content-length: (\d+)/i.exec(buf)?.[1];
        if (end !== -1 && len !== undefined && buf.length >= end + 4 + Number(len) && waiter) {
          const w = waiter;
          waiter = null;
          const out = buf.slice(0, end + 4 + Number(len));
          buf = buf.slice(out.length);
          w(out);
        }
      });
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.on('error', () => undefined);
      resolve({
        socket,
        closed,
        get: (p) =>
          new Promise((r) => {
            waiter = r;
            socket.write(`GET ${p} HTTP/1.1\r\nhost: x\r\n\r\n`);
          }),
      });
    });
  });
}

describe('single-process reload (in process)', () => {
  let r: Reloader;
  let file: string;
  afterEach(async () => {
    await r?.stop(0);
  });

  it('an in-flight request of the old generation finishes (Connection: close); idle keep-alive connections of the old one are closed; new ones reach the new', async () => {
    file = path.join(dir, 'inflight.yaml');
    config(file, a);
    r = await startReloadable({ file, logger });
    const port = r.gateway.address('web').port;
    const idle = await keepAlive(port);
    expect(await idle.get('/x')).toMatch(/^HTTP\/1\.1 200/);
    const busy = await keepAlive(port);
    const answer = busy.get('/hold');
    await until('the upstream to hold the request', () => held.length === 1);
    config(file, b);
    expect(await r.reload()).toMatchObject({ ok: true });
    expect(r.draining).toBe(1);
    // New connections: generation 2, upstream b.
    const fresh = await keepAlive(port);
    expect(await fresh.get('/y')).toMatch(/x-upstream: b/);
    // The old generation closes its idle keep-alive connection after timeouts.keepAlive…
    await idle.closed;
    // …and lets the held request finish, telling the client to close.
    held.shift()!.end('done\n');
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/connection: close/i);
    await busy.closed;
    await until('the old generation to stop', () => r.draining === 0);
    // The kept connection to generation 2 is untouched.
    expect(await fresh.get('/z')).toMatch(/x-upstream: b/);
    fresh.socket.destroy();
  });

  it('a new bind that cannot listen: the reload fails saying why, generation 1 keeps serving on every port', async () => {
    file = path.join(dir, 'busy-port.yaml');
    config(file, a);
    r = await startReloadable({ file, logger });
    const port = r.gateway.address('web').port;
    const squatter = net.createServer();
    const taken = await freePort();
    await new Promise<void>((res) => squatter.listen(taken, '127.0.0.1', () => res()));
    try {
      config(file, b, [`  extra: { bind: "127.0.0.1:${taken}", defaultBackend: app }`]);
      const result = await r.reload();
      expect(result.ok).toBe(false);
      expect(result.errors.join('\n')).toMatch(new RegExp(`extra.*127\\.0\\.0\\.1:${taken}.*EADDRINUSE`));
      expect(r.generation).toBe(1);
      const c = await keepAlive(port);
      expect(await c.get('/still')).toMatch(/x-upstream: a/);
      c.socket.destroy();
    } finally {
      squatter.close();
    }
  });

  it('reloads asked for during a reload are done once more after it, with the file as it is then', async () => {
    file = path.join(dir, 'queued.yaml');
    config(file, a);
    r = await startReloadable({ file, logger });
    const first = r.reload();
    const second = r.reload();
    const third = r.reload();
    config(file, b);
    expect(await first).toMatchObject({ ok: true });
    const [s2, s3] = await Promise.all([second, third]);
    expect(s2).toBe(s3);
    expect(r.generation).toBe(3);
    const c = await keepAlive(r.gateway.address('web').port);
    expect(await c.get('/q')).toMatch(/x-upstream: b/);
    c.socket.destroy();
  });
});

describe('single-process reload (switchyard run)', () => {
  it('SIGHUP reloads; `switchyard reload` (PID file) too; a broken config with --wait exits 1 naming file:line, the old one serves', async () => {
    const file = path.join(dir, 'cli.yaml');
    const port = await freePort();
    const write = (up: Upstream): void =>
      fs.writeFileSync(file, `global: { pidFile: cli.pid, gracePeriod: 2s }\nfrontends:\n  web: { bind: "127.0.0.1:${port}", defaultBackend: app }\nbackends:\n  app: { servers: [{ name: s, address: "${up.address}" }] }\n`);
    write(a);
    const gw = runCli(['run', '--config', file]);
    try {
      await gw.waitFor(/serving \(single process; SIGHUP reloads\)/);
      const via = async (): Promise<string> => {
        const c = await keepAlive(port);
        const t = await c.get('/');
        c.socket.destroy();
        return /x-upstream: (\w+)/.exec(t)![1]!;
      };
      expect(await via()).toBe('a');
      write(b);
      gw.child.kill('SIGHUP');
      await gw.waitFor(/reload done: generation 2 serving/);
      expect(await via()).toBe('b');
      write(a);
      const plain = await cli(['reload', '--config', file]);
      expect(plain.code).toBe(0);
      expect(plain.output).toMatch(/sent SIGHUP to \d+/);
      await gw.waitFor(/reload done: generation 3 serving/);
      expect(await via()).toBe('a');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('defaultBackend: app', 'defaultBackend: nowhere'));
      const broken = await cli(['reload', '--config', file, '--wait']);
      expect(broken.code).toBe(1);
      expect(broken.output).toContain(`${file}:3`);
      expect(broken.output).toMatch(/generation 3 keeps serving/);
      expect(await via()).toBe('a');
      expect(await gw.stop('SIGTERM')).toBe(0);
      expect(fs.existsSync(path.join(dir, 'cli.pid'))).toBe(false);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('`reload --wait` for a process without a control socket (not switchyard, or still starting) exits 1 saying so', async () => {
    // This jest worker is alive and has no /tmp/switchyard-<pid>.sock.
    const r = await cli(['reload', '--pid', String(process.pid), '--wait']);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`error: no control socket ${path.join(os.tmpdir(), `switchyard-${process.pid}.sock`)} (is switchyard ${process.pid} running?)`);
    expect(r.output).not.toMatch(/Unhandled|node:events/);
  });
});
