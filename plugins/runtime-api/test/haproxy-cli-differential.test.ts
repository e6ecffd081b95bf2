import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The CLI's `set server` / `add server` answers beside HAProxy 2.6 (Debian's binary): the same
 * haproxy.cfg in both, the same command lines on both stats sockets, the same text back.
 */
const CLI = path.resolve(__dirname, '..', '..', '..', 'core', 'bin', 'switchyard.js');
const HAPROXY = '/usr/sbin/haproxy';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

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

async function until(fn: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const config = (port: number, sock: string): string => `
global
  stats socket ${sock} level admin
defaults
  mode http
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
  server s1 127.0.0.1:9 weight 2
  server s2 127.0.0.1:10
backend st
  balance static-rr
  server x 127.0.0.1:11
backend tcpbe
  mode tcp
  balance roundrobin
  server t 127.0.0.1:12
`;

interface Instance {
  sock: string;
  child: ChildProcess;
}

async function start(kind: 'switchyard' | 'haproxy', dir: string): Promise<Instance> {
  const port = await freePort();
  const sock = path.join(dir, `${kind}.sock`);
  const file = path.join(dir, `${kind}.cfg`);
  fs.writeFileSync(file, config(port, sock));
  const child = kind === 'haproxy' ? spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`${kind} exited:\n${out}`);
    if (!fs.existsSync(sock)) return false;
    return (await cli(sock, 'show servers state').catch(() => '')).startsWith('1\n');
  }, `${kind}'s stats socket`);
  return { sock, child };
}

/** HAProxy ends some refusals without the empty line; the text is what scripts match. */
const text = (s: string): string => s.replace(/\n+$/, '');

(fs.existsSync(HAPROXY) ? describe : describe.skip)('HAProxy CLI server commands beside HAProxy 2.6', () => {
  let dir: string;
  let sy: Instance;
  let ha: Instance;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-cli-diff-'));
    [sy, ha] = await Promise.all([start('switchyard', dir), start('haproxy', dir)]);
  }, 60_000);
  afterAll(async () => {
    for (const i of [sy, ha]) {
      if (!i) continue;
      i.child.kill('SIGTERM');
      if (i.child.exitCode === null) await new Promise((r) => i.child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('set server … addr / fqdn / check-port / agent / state / health and their refusals read the same', async () => {
    const cmds = [
      'set server be/s1 addr 127.0.0.2',
      'set server be/s1 addr 127.0.0.3 port 81',
      'set server be/s1 addr 127.0.0.3 port 81',
      'set server be/s1 addr',
      'set server be/s1 addr bad',
      'set server be/s1 addr 127.0.0.4 port x',
      'set server be/s1 fqdn foo.example',
      'set server be/s2 check-port 8080',
      'set server be/s1 check-port',
      'set server be/s2 agent up',
      'set server be/s2 agent-send hi',
      'set server be/s1 state x',
      'set server be/s1 health x',
      'set server be/s1 bla',
      'set server be/s1',
      'set server be',
      'set server be/zz state ready',
      'set server nope/s1 state ready',
      'add server st/n 127.0.0.1:5',
      'add server tcpbe/n 127.0.0.1:5 proto h2',
      'add server nope/n 127.0.0.1:5',
      'add server be/n',
      'add server be/n 127.0.0.1:5',
      'add server be/n 127.0.0.1:5',
    ];
    for (const cmd of cmds) {
      const [a, b] = [await cli(sy.sock, cmd), await cli(ha.sock, cmd)];
      expect(`${cmd}\n${text(a)}`).toBe(`${cmd}\n${text(b)}`);
    }
    // The address and port moved on both (show servers state: srv_addr, srv_port).
    const cols = (dump: string): string[] => dump.split('\n').filter((l) => / be s1 /.test(` ${l} `) || /^\d+ be 1 s1 /.test(l)).map((l) => { const w = l.split(' '); return `${w[3]} ${w[4]} ${w[18]}`; });
    expect(cols(await cli(sy.sock, 'show servers state be'))).toEqual(['s1 127.0.0.4 81']);
    expect(cols(await cli(ha.sock, 'show servers state be'))).toEqual(['s1 127.0.0.4 81']);
  });
});
