/**
 * `log /path/to/socket local0` (HAProxy's `log /dev/log local0`): the access log reaches a
 * real syslog receiver on a Unix datagram socket, in HAProxy's local format, from HAProxy
 * and from Switchyard given the same file.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { tmpDir, waitFor } from './helpers';

const HAPROXY = '/usr/sbin/haproxy';
const dir = tmpDir('log');

/** A syslog receiver: python binds the Unix datagram socket (Node.js cannot) and prints each message. */
function receiver(sock: string): { child: ChildProcess; lines: string[] } {
  const code = `import socket,sys\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('ready', flush=True)\nwhile True:\n    print(s.recv(65536).decode('latin1').replace('\\n',' '), flush=True)\n`;
  const child = spawn('python3', ['-c', code, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return { child, lines };
}

const cfg = (sock: string, port: number, up: number) => `global
    log ${sock} local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    server s1 127.0.0.1:${up}
`;

(fs.existsSync(HAPROXY) ? describe : describe.skip)('log to a Unix socket', () => {
  let up: Upstream;
  const children: ChildProcess[] = [];
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    up = await startUpstream({ name: 'up' });
  });
  afterAll(async () => {
    await gw?.stop();
    for (const c of children) {
      if (c.pid !== undefined && c.exitCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        process.kill(c.pid, 'SIGTERM');
        await exited;
      }
    }
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('HAProxy and Switchyard both deliver an httplog line in the local syslog format', async () => {
    const hsock = path.join(dir, 'h.sock');
    const ssock = path.join(dir, 's.sock');
    const hr = receiver(hsock);
    const sr = receiver(ssock);
    children.push(hr.child, sr.child);
    expect(await waitFor(() => hr.lines[0] === 'ready' && sr.lines[0] === 'ready', 10000)).toBe(true);

    const hport = await freePort();
    const hfile = path.join(dir, 'h.cfg');
    fs.writeFileSync(hfile, cfg(hsock, hport, up.port));
    const hp = spawn(HAPROXY, ['-f', hfile, '-db'], { stdio: ['ignore', 'ignore', 'ignore'] });
    children.push(hp);
    const open = (p: number) => new Promise<boolean>((resolve) => net.connect(p, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    expect(await waitFor(() => open(hport), 10000)).toBe(true);
    await (await request(`http://127.0.0.1:${hport}/logged?by=haproxy`)).body.text();

    const sfile = path.join(dir, 's.cfg');
    fs.writeFileSync(sfile, cfg(ssock, 0, up.port));
    gw = await startTestGateway(fs.readFileSync(sfile, 'utf8'), { file: sfile });
    await (await request(gw.url('/logged?by=switchyard'))).body.text();

    expect(await waitFor(() => hr.lines.some((l) => l.includes('/logged?by=haproxy')), 10000)).toBe(true);
    expect(await waitFor(() => sr.lines.some((l) => l.includes('/logged?by=switchyard')), 10000)).toBe(true);
    const h = hr.lines.find((l) => l.includes('/logged'))!;
    const s = sr.lines.find((l) => l.includes('/logged'))!;
    // <local0.info>Mmm dd hh:mm:ss haproxy[pid]: client:port [date] fe be/s1 timers 200 bytes … "GET /logged?… HTTP/1.1"
    const shape = /^<134>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d haproxy\[\d+\]: 127\.0\.0\.1:\d+ \[[^\]]+\] fe be\/s1 [\d/-]+ 200 \d+ .*"GET \/logged\?by=\w+ HTTP\/1\.1" ?$/;
    expect(h).toMatch(shape);
    expect(s).toMatch(shape);
  }, 40000);
});
