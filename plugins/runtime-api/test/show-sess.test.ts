import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** `show sess` lists the exchanges in progress; `shutdown session` closes one (haproxy.cfg, real sockets). */
const CLI = path.resolve(__dirname, '..', '..', '..', 'core', 'bin', 'switchyard.js');

function cli(sock: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.write(`${text}\n`);
  });
}

async function until<T>(fn: () => Promise<T | false | undefined>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('show sess / shutdown session', () => {
  let dir: string;
  let child: ChildProcess;
  let upstream: http.Server;
  let sock: string;
  let port: number;
  const held: http.ServerResponse[] = [];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-sess-'));
    upstream = http.createServer((_req, res) => held.push(res)); // answers nothing: the exchange stays in progress
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const up = (upstream.address() as net.AddressInfo).port;
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    sock = path.join(dir, 'admin.sock');
    const file = path.join(dir, 'h.cfg');
    fs.writeFileSync(file, `global\n  stats socket ${sock} level admin\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend web\n  bind 127.0.0.1:${port}\n  default_backend app\nbackend app\n  server s1 127.0.0.1:${up}\n`);
    child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: 'ignore' });
    await until(async () => fs.existsSync(sock) && (await cli(sock, 'show sess').catch(() => 'x')) === '\n', 'the stats socket');
  }, 60_000);
  afterAll(async () => {
    for (const r of held) r.destroy();
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((r) => child.once('exit', r));
    await new Promise((r) => upstream.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists an exchange in progress with its frontend, backend and server, and shutdown session closes it', async () => {
    const req = http.get({ host: '127.0.0.1', port, path: '/slow', agent: false });
    const closed = new Promise<string>((resolve) => {
      req.on('error', (e) => resolve(e.message));
      req.on('response', (res) => resolve(`status ${res.statusCode}`));
    });
    const line = await until(async () => (await cli(sock, 'show sess')).split('\n').find((l) => / fe=web /.test(l)), 'the session in show sess');
    expect(line).toMatch(/^0x[0-9a-f]+: proto=tcpv4 src=127\.0\.0\.1:\d+ fe=web be=app srv=s1 ts=00 epoch=0 age=\d+s /);
    const ptr = line.split(':')[0]!;
    expect(await cli(sock, 'shutdown session 0xdead')).toBe("No such session (use 'show sess').\n\n");
    expect(await cli(sock, `user; shutdown session ${ptr}`)).toBe('\nPermission denied\n\n');
    expect(await cli(sock, `shutdown session ${ptr}`)).toBe('\n');
    expect(await closed).toMatch(/socket hang up|ECONNRESET/);
    await until(async () => !(await cli(sock, 'show sess')).includes(ptr), 'the session to leave show sess');
  });
});
