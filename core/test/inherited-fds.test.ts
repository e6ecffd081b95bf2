import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveBindFd, systemdSockets } from '../src/inherited-fds';

const CLI = path.resolve(__dirname, '..', 'bin', 'switchyard.js');

interface Child {
  child: ChildProcess;
  out: () => string;
  waitFor(re: RegExp, ms?: number): Promise<void>;
  exit: Promise<number | null>;
}

/**
 * The parent binds and listens (as VTest and systemd do), hands the descriptors to the child
 * as fds 3, 4, … and closes its own copies: only the child accepts on them afterwards.
 */
async function spawnWithSockets(args: string[], sockets: net.Server[], env: NodeJS.ProcessEnv = {}, viaShell = false): Promise<Child> {
  const fds = sockets.map((s) => (s as unknown as { _handle: { fd: number } })._handle.fd);
  // `sh -c 'LISTEN_PID=$$ exec node …'` gives systemd's LISTEN_PID: the pid the CLI will have.
  const child = viaShell
    ? spawn('/bin/sh', ['-c', `LISTEN_PID=$$ exec "$0" "$@"`, process.execPath, CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', ...fds] })
    : spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', ...fds] });
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    exit,
    waitFor: (re, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out}`)), ms);
        const check = (): void => {
          if (re.test(out)) {
            clearTimeout(timer);
            resolve();
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`exited (${child.exitCode}) before ${re}:\n${out}`));
          } else waiters.push(check);
        };
        check();
      }),
  };
}

async function boundSocket(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer();
  // Nobody accepts here: the child does, on its inherited copy.
  server.on('connection', (s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as net.AddressInfo).port };
}

function get(port: number, p = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe('inherited-fd listeners (fd@N, systemd socket activation)', () => {
  let dir: string;
  let upstream: http.Server;
  let upstreamPort: number;
  const children: Child[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-fd-'));
    upstream = http.createServer((req, res) => res.end(`upstream ${req.url}`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    upstreamPort = (upstream.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
      await c.exit;
    }
  });
  afterAll(async () => {
    await new Promise<void>((r) => upstream.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const yaml = (bind: string): string =>
    `frontends:\n  web:\n    bind: ${bind}\n    defaultBackend: app\nbackends:\n  app:\n    servers: [{ address: 127.0.0.1:${upstreamPort} }]\n`;

  it('native config: bind { fd: 3 } serves on the socket the parent bound', async () => {
    const file = path.join(dir, 'fd.yaml');
    fs.writeFileSync(file, yaml('{ fd: 3 }'));
    const { server, port } = await boundSocket();
    const c = await spawnWithSockets(['run', '--config', file], [server]);
    children.push(c);
    await c.waitFor(/listening/);
    const r = await get(port, '/x');
    expect(r).toEqual({ status: 200, body: 'upstream /x' });
  });

  it('native config: the string form "fd@3"', async () => {
    const file = path.join(dir, 'fd-string.yaml');
    fs.writeFileSync(file, yaml('"fd@3"'));
    const { server, port } = await boundSocket();
    const c = await spawnWithSockets(['run', '--config', file], [server]);
    children.push(c);
    await c.waitFor(/listening/);
    expect((await get(port, '/s')).body).toBe('upstream /s');
  });

  it('haproxy.cfg: bind fd@${VAR} and bind fd@N', async () => {
    const file = path.join(dir, 'fd.cfg');
    fs.writeFileSync(
      file,
      `defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n` +
        `frontend a\n  bind "fd@\${FE_A}"\n  default_backend app\n` +
        `frontend b\n  bind fd@4\n  default_backend app\n` +
        `backend app\n  server s1 127.0.0.1:${upstreamPort}\n`,
    );
    const a = await boundSocket();
    const b = await boundSocket();
    const c = await spawnWithSockets(['run', '--config', file], [a.server, b.server], { FE_A: '3' });
    children.push(c);
    await c.waitFor(/frontend b listening/);
    expect((await get(a.port, '/a')).body).toBe('upstream /a');
    expect((await get(b.port, '/b')).body).toBe('upstream /b');
  });

  it('haproxy.cfg: fd@${VAR} with the variable unset is refused with file:line', async () => {
    const file = path.join(dir, 'unset.cfg');
    fs.writeFileSync(file, `frontend a\n  mode http\n  bind "fd@\${SWY_NO_SUCH_FD_VAR}"\n  default_backend app\nbackend app\n  mode http\n  server s1 127.0.0.1:${upstreamPort}\n`);
    const c = await spawnWithSockets(['validate', '--config', file], []);
    expect(await c.exit).toBe(1);
    expect(c.out()).toContain(`${file}:3:`);
    expect(c.out()).toMatch(/fd@ needs a descriptor number/);
  });

  it('systemd: fd "systemd:<name>" picks the socket LISTEN_FDNAMES names, for this LISTEN_PID', async () => {
    const file = path.join(dir, 'systemd.yaml');
    fs.writeFileSync(file, yaml('[{ fd: "systemd:public" }, "fd@systemd:admin"]'));
    const admin = await boundSocket();
    const pub = await boundSocket();
    const c = await spawnWithSockets(['run', '--config', file], [admin.server, pub.server], { LISTEN_FDS: '2', LISTEN_FDNAMES: 'admin:public' }, true);
    children.push(c);
    await c.waitFor(/listening[\s\S]*listening/);
    expect((await get(pub.port, '/pub')).body).toBe('upstream /pub');
    expect((await get(admin.port, '/adm')).body).toBe('upstream /adm');
  });

  it('systemd: sockets meant for another pid (LISTEN_PID) are not taken', async () => {
    const file = path.join(dir, 'systemd-other.yaml');
    fs.writeFileSync(file, yaml('{ fd: systemd }'));
    const s = await boundSocket();
    const c = await spawnWithSockets(['run', '--config', file], [s.server], { LISTEN_FDS: '1', LISTEN_PID: '1' });
    children.push(c);
    expect(await c.exit).not.toBe(0);
    expect(c.out()).toContain('SWY_ERR_LISTEN_FD');
    expect(c.out()).toContain('LISTEN_PID names another process');
  });

  it('a descriptor that is not a socket fails with SWY_ERR_LISTEN_FAILED naming fd@N', async () => {
    const file = path.join(dir, 'badfd.yaml');
    fs.writeFileSync(file, yaml('{ fd: 3 }'));
    const fd = fs.openSync(file, 'r');
    const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe', fd] });
    fs.closeSync(fd);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).not.toBe(0);
    expect(out).toContain('fd@3');
    expect(out).toContain('SWY_ERR_LISTEN_FAILED');
  });

  it('resolveBindFd and systemdSockets follow sd_listen_fds', () => {
    const env = { LISTEN_FDS: '3', LISTEN_PID: String(process.pid), LISTEN_FDNAMES: 'a::c' };
    expect(systemdSockets(env)).toEqual({ fds: [3, 4, 5], names: ['a', 'unknown', 'c'] });
    expect(resolveBindFd('systemd:c', 'web', env)).toBe(5);
    expect(resolveBindFd('systemd:1', 'web', env)).toBe(4);
    expect(resolveBindFd(7, 'web', env)).toBe(7);
    expect(() => resolveBindFd('systemd', 'web', env)).toThrow(/passed 3 sockets \(a, unknown, c\): name one/);
    expect(() => resolveBindFd('systemd:zz', 'web', env)).toThrow(/no socket named "zz"/);
    expect(systemdSockets({ LISTEN_FDS: '0' })).toBeNull();
    expect(systemdSockets({ LISTEN_FDS: '1', LISTEN_PID: String(process.pid + 1) })).toBeNull();
  });
});
