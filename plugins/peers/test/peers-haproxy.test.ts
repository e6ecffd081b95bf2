import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A Switchyard instance and a HAProxy 2.6 instance (Debian's binary) in one peers section,
 * sharing two stick tables: what is tracked on one side shows up on the other's stats socket.
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

function get(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

async function until<T>(fn: () => Promise<T | false | undefined> | T | false | undefined, what: string, ms = 40_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Ports {
  hapPeer: number;
  syPeer: number;
}

const config = (local: 'hap' | 'sy', ports: Ports, fe: number, sock: string): string => `
global
  stats socket ${sock} level admin
${local === 'sy' ? '  localpeer sy\n' : ''}defaults
  mode http
  timeout connect 5s
  timeout client 5s
  timeout server 5s
peers mypeers
  peer hap 127.0.0.1:${ports.hapPeer}
  peer sy 127.0.0.1:${ports.syPeer}
backend st
  stick-table type string len 32 size 100 expire 60s store gpc0,conn_cnt,http_req_rate(10s),server_id peers mypeers
backend st_ip
  stick-table type ip size 100 store gpc0,gpc1 peers mypeers
frontend fe
  bind 127.0.0.1:${fe}
  http-request track-sc0 path table st
  http-request track-sc1 req.hdr(x-ip) table st_ip
  http-request sc-inc-gpc0(0)
  http-request sc-inc-gpc1(1)
  http-request return status 200
`;

interface Instance {
  fe: number;
  sock: string;
  child: ChildProcess;
  out: () => string;
}

async function start(kind: 'hap' | 'sy', dir: string, ports: Ports): Promise<Instance> {
  const fe = await freePort();
  const sock = path.join(dir, `${kind}.sock`);
  const file = path.join(dir, `${kind}.cfg`);
  fs.writeFileSync(file, config(kind, ports, fe, sock));
  const child = kind === 'hap' ? spawn(HAPROXY, ['-db', '-L', 'hap', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`${kind} exited:\n${out}`);
    if (!fs.existsSync(sock)) return false;
    return (await cli(sock, 'show table').catch(() => '')).includes('# table: st,');
  }, `${kind}'s stats socket`);
  return { fe, sock, child, out: () => out };
}

const entries = async (i: Instance, table: string): Promise<string[]> =>
  (await cli(i.sock, `show table ${table}`))
    .split('\n')
    .filter((l) => l.startsWith('0x'))
    .map((l) => l.replace(/^0x[0-9a-f]+: /, '').replace(/ exp=\d+/, '').replace(/ use=\d+/, ''));

(fs.existsSync(HAPROXY) ? describe : describe.skip)('peers: Switchyard and HAProxy 2.6 share stick tables', () => {
  let dir: string;
  let hap: Instance;
  let sy: Instance;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-peers-'));
    const ports = { hapPeer: await freePort(), syPeer: await freePort() };
    [hap, sy] = await Promise.all([start('hap', dir, ports), start('sy', dir, ports)]);
  }, 60_000);
  afterAll(async () => {
    for (const i of [hap, sy]) {
      if (!i) continue;
      i.child.kill('SIGTERM');
      if (i.child.exitCode === null) await new Promise((r) => i.child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  jest.setTimeout(120_000);

  it('an entry tracked on HAProxy appears on Switchyard, with its counters', async () => {
    expect(await get(hap.fe, '/from-haproxy')).toBe(200);
    expect(await get(hap.fe, '/from-haproxy')).toBe(200);
    const got = await until(async () => (await entries(sy, 'st')).find((l) => l.startsWith('key=/from-haproxy ') && l.includes(' gpc0=2 ')), 'the entry on Switchyard');
    expect(got).toBe('key=/from-haproxy server_id=0 gpc0=2 conn_cnt=2 http_req_rate(10000)=2');
  });

  it('an entry tracked on Switchyard appears on HAProxy, in both tables', async () => {
    const req = (p: string): Promise<number> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: sy.fe, path: p, agent: false, headers: { 'x-ip': '10.1.2.3' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
    for (let i = 0; i < 3; i++) expect(await req('/from-switchyard')).toBe(200);
    const st = await until(async () => (await entries(hap, 'st')).find((l) => l.startsWith('key=/from-switchyard ') && l.includes(' gpc0=3 ')), 'the entry on HAProxy');
    expect(st).toBe('key=/from-switchyard server_id=0 gpc0=3 conn_cnt=3 http_req_rate(10000)=3');
    const ip = await until(async () => (await entries(hap, 'st_ip')).find((l) => l.startsWith('key=10.1.2.3 ') && l.includes(' gpc1=3')), 'the ip entry on HAProxy');
    expect(ip).toBe('key=10.1.2.3 gpc0=0 gpc1=3'); // sc-inc-gpc0(0) counts in sc0's table only
  });

  it('set table on one side is seen on the other', async () => {
    await cli(sy.sock, 'set table st key /set-on-sy data.gpc0 41');
    await until(async () => (await entries(hap, 'st')).find((l) => l.startsWith('key=/set-on-sy ') && l.includes(' gpc0=41 ')), 'set table on HAProxy');
    await cli(hap.sock, 'set table st_ip key 192.0.2.7 data.gpc1 9');
    await until(async () => (await entries(sy, 'st_ip')).find((l) => l === 'key=192.0.2.7 gpc0=0 gpc1=9'), 'set table on Switchyard');
  });
});
