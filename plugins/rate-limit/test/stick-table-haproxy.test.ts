import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Stick tables and sticky counters beside HAProxy 2.6 (Debian's binary): the same haproxy.cfg
 * runs in Switchyard (through the adapter) and in HAProxy, the same requests go to both, and
 * `show table`, `set table`, `clear table` and their refusals must read the same on both
 * stats sockets (entry addresses and remaining expiry times aside).
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

function get(port: number, p: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
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
  stick-table type ip size 1k expire 30s store server_id,gpt0,gpc0,gpc0_rate(10s),conn_cnt,conn_rate(10s),conn_cur,http_req_cnt,http_req_rate(10s),http_err_cnt,http_fail_cnt,gpc1
  http-request track-sc0 src
  http-request track-sc1 req.hdr(x-user) table users
  http-request sc-inc-gpc0(0)
  http-request sc-inc-gpc1(1) if { path /one }
  http-request sc-set-gpt0(0) 7 if { path /nf }
  http-request deny deny_status 404 if { path /nf }
  http-request deny deny_status 429 if { sc_get_gpc0(0) gt 20 }
  http-request return status 200
backend users
  stick-table type string len 16 size 100 store gpc1,http_req_cnt,conn_cur
`;

interface Instance {
  port: number;
  sock: string;
  child: ChildProcess;
  out: () => string;
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
    return (await cli(sock, 'show table').catch(() => '')).includes('# table:');
  }, `${kind}'s stats socket`);
  return { port, sock, child, out: () => out };
}

/** Entry addresses and remaining expiry differ between processes: everything else must not. */
const normalize = (text: string): string => text.replace(/^0x[0-9a-f]+:/gm, '0x:').replace(/ exp=\d+/g, (m) => (m === ' exp=0' ? m : ' exp=N'));

const haveHaproxy = fs.existsSync(HAPROXY);

(haveHaproxy ? describe : describe.skip)('stick tables beside HAProxy 2.6', () => {
  let dir: string;
  let sy: Instance;
  let ha: Instance;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-stick-'));
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

  const both = async (fn: (i: Instance) => Promise<string | number>): Promise<[string | number, string | number]> => [await fn(sy), await fn(ha)];

  it('counts tracked requests, gpc0/gpc1/gpt0 and 4xx the same way, and dumps them the same way', async () => {
    for (const [p, h] of [['/', {}], ['/one', { 'x-user': 'bob' }], ['/one', { 'x-user': 'alice' }], ['/nf', { 'x-user': 'bob' }], ['/', {}]] as Array<[string, Record<string, string>]>) {
      const [a, b] = await both((i) => get(i.port, p, h));
      expect(a).toBe(b);
    }
    for (const cmd of ['show table', 'show table fe', 'show table users', 'show table fe data.gpc0 gt 4', 'show table fe data.gpc0 eq 5', 'show table users key bob', 'show table users key nobody']) {
      const [a, b] = await both((i) => cli(i.sock, cmd));
      expect(`${cmd}\n${normalize(String(a))}`).toBe(`${cmd}\n${normalize(String(b))}`);
    }
    const [dump] = await both((i) => cli(i.sock, 'show table users'));
    expect(dump).toMatch(/key=bob use=0 exp=0 conn_cur=0 http_req_cnt=2 gpc1=1\n/);
  });

  it('set table and clear table change entries as HAProxy does, refusals worded alike', async () => {
    const cmds = [
      'set table users key carol data.gpc1 5 data.http_req_cnt 9',
      'show table users key carol',
      'set table fe key 10.0.0.1 data.gpc0 3 data.gpt0 1',
      'show table fe key 10.0.0.1',
      'clear table users key carol',
      'show table users key carol',
      'clear table fe data.gpc0 eq 3',
      'show table fe key 10.0.0.1',
      'show table nope',
      'show table fe data.foo gt 1',
      'show table fe data.gpc0 xx 1',
      'show table fe data.gpc0 gt',
      'show table fe data.sess_cnt gt 1',
      'show table fe key',
      'show table fe bla',
      'set table users key x data.sess_cnt 1',
      'set table users data.gpc1 1',
      'set table users key x data.gpc1',
      'set table fe key not-an-ip data.gpc0 1',
      'show table fe key not-an-ip',
      'set table users key 0123456789abcdefXYZ data.gpc1 2',
      'show table users',
      'clear table',
      'clear table nope',
    ];
    for (const cmd of cmds) {
      const [a, b] = await both((i) => cli(i.sock, cmd));
      expect(`${cmd}\n${normalize(String(a))}`).toBe(`${cmd}\n${normalize(String(b))}`);
    }
  });

  it('sc_get_gpc0 in a deny rule sees the counter the rules before it raised', async () => {
    await both((i) => cli(i.sock, 'set table fe key 127.0.0.1 data.gpc0 25'));
    const [a, b] = await both((i) => get(i.port, '/'));
    expect(a).toBe(429);
    expect(b).toBe(429);
  });
});
