import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The runtime API's map and ACL commands beside HAProxy 2.6 (Debian's binary): the same
 * haproxy.cfg and map/ACL files in both, the same commands on both stats sockets, the same
 * answers, and the traffic follows the changes on both.
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

function get(port: number, p: string, ua: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false, headers: { 'user-agent': ua } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function until(fn: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Instance {
  port: number;
  sock: string;
  dir: string;
  child: ChildProcess;
}

async function start(kind: 'switchyard' | 'haproxy', root: string): Promise<Instance> {
  const dir = path.join(root, kind);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'r.map'), 'example.org https://www.example.org\n# a comment\n/old /new\n');
  fs.writeFileSync(path.join(dir, 'ua.acl'), 'Bad Agent\ncurl\n');
  const port = await freePort();
  const sock = path.join(dir, 'stats.sock');
  const file = path.join(dir, 'h.cfg');
  fs.writeFileSync(
    file,
    `global\n  stats socket ${sock} level admin\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n` +
      `frontend fe\n  bind 127.0.0.1:${port}\n  http-request deny if { req.hdr(user-agent) -f ${dir}/ua.acl }\n` +
      `  http-request return status 200 content-type text/plain lf-string "%[path,map_str(${dir}/r.map,none)]"\n`,
  );
  const child = kind === 'haproxy' ? spawn(HAPROXY, ['-db', '-f', file], { stdio: 'ignore' }) : spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: 'ignore' });
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`${kind} exited`);
    return fs.existsSync(sock) && (await cli(sock, 'show acl').catch(() => '')).startsWith('# id');
  }, `${kind}'s stats socket`);
  return { port, sock, dir, child };
}

const same = (i: Instance, text: string): string => text.split(i.dir).join('<dir>').replace(/0x[0-9a-f]+/g, '0x');

(fs.existsSync(HAPROXY) ? describe : describe.skip)('map and ACL commands beside HAProxy 2.6', () => {
  let root: string;
  let sy: Instance;
  let ha: Instance;
  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-maps-'));
    [sy, ha] = await Promise.all([start('switchyard', root), start('haproxy', root)]);
  }, 60_000);
  afterAll(async () => {
    for (const i of [sy, ha]) {
      if (!i) continue;
      i.child.kill('SIGTERM');
      if (i.child.exitCode === null) await new Promise((r) => i.child.once('exit', r));
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('answers show/get/set/add/del/clear map and acl the same way, and traffic follows', async () => {
    const steps: Array<string | [string, string, number, string]> = [
      'show map <dir>/r.map',
      'show map <dir>/nope',
      'get map <dir>/r.map /old',
      'get map <dir>/r.map /none',
      ['GET', '/old', 200, 'curl-not'],
      'set map <dir>/r.map /old /newer',
      'set map <dir>/r.map /absent x',
      ['GET', '/old', 200, 'x'],
      'add map <dir>/r.map /added value',
      'add map <dir>/r.map /k2',
      ['GET', '/added', 200, 'x'],
      'del map <dir>/r.map example.org',
      'del map <dir>/r.map nokey',
      'show map <dir>/r.map',
      'show acl <dir>/ua.acl',
      ['GET', '/', 403, 'curl'],
      'add acl <dir>/ua.acl wget',
      'del acl <dir>/ua.acl curl',
      'del acl <dir>/ua.acl nope',
      'get acl <dir>/ua.acl wget',
      'get acl <dir>/ua.acl zzz',
      'show acl <dir>/ua.acl',
      ['GET', '/', 200, 'curl'],
      ['GET', '/', 403, 'wget'],
      'clear map <dir>/r.map',
      'show map <dir>/r.map',
      ['GET', '/old', 200, 'x'],
      'add map <dir>/r.map <<\n/p1 v1\n/p2 v2\n',
      'show map <dir>/r.map',
    ];
    for (const step of steps) {
      if (typeof step === 'string') {
        const [a, b] = [await cli(sy.sock, step.split('<dir>').join(sy.dir)), await cli(ha.sock, step.split('<dir>').join(ha.dir))];
        expect(`${step}\n${same(sy, a)}`).toBe(`${step}\n${same(ha, b)}`);
      } else {
        const [, p, status, ua] = step;
        const [a, b] = [await get(sy.port, p, ua), await get(ha.port, p, ua)];
        // The map's answer must match; deny pages are the error-page plugin's business, not compared.
        const seen = (r: { status: number; body: string }): string => `${p} ${ua} ${r.status} ${r.status === 200 ? r.body : ''}`;
        expect(seen(a)).toBe(seen(b));
        expect(a.status).toBe(status);
      }
    }
    expect(await cli(sy.sock, 'show map')).toMatch(/^# id \(file\) description\n\d+ \(.*r\.map\) pattern loaded from file '.*r\.map' used by map\. curr_ver=0 next_ver=0 entry_cnt=2\n/);
  });
});
