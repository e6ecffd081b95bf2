/**
 * resolvers beside HAProxy 2.6: the same haproxy.cfg (a resolvers section on a dnsmasq on
 * loopback, server-template slots), the same DNS changes, the same requests; both must send
 * traffic to the same set of addresses after each change, and answer 503 once the name is gone.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { Gateway, loadConfig } from '@switchyard/core';
import { freePort } from '@switchyard/sdk/testing';
import { haveDnsmasq, startDnsmasq, type Dnsmasq } from './dnsmasq';

const HAPROXY = '/usr/sbin/haproxy';
const ready = haveDnsmasq() && fs.existsSync(HAPROXY);

async function startHaproxy(file: string, port: number): Promise<() => Promise<void>> {
  const child = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`haproxy did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
}

(ready ? describe : describe.skip)('resolvers: Switchyard and HAProxy 2.6 follow the same DNS changes', () => {
  let dns: Dnsmasq;
  let port: number;
  let servers: http.Server[] = [];
  let dir: string;
  beforeAll(async () => {
    dns = await startDnsmasq(['127.0.0.2 app.test', '127.0.0.3 app.test']);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-resolvers-diff-'));
    for (let attempt = 0; attempt < 10 && servers.length === 0; attempt++) {
      port = await freePort();
      try {
        for (const host of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
          const s = http.createServer((req, res) => (req.resume(), res.setHeader('x-upstream', host), res.end(host)));
          await new Promise<void>((resolve, reject) => (s.once('error', reject), s.listen(port, host, () => resolve())));
          servers.push(s);
        }
      } catch {
        await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
        servers = [];
      }
    }
  });
  afterAll(async () => {
    await dns?.close();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The statuses and upstreams of 6 requests. */
  const sample = async (front: number): Promise<string> => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await request(`http://127.0.0.1:${front}/`, { reset: true });
      await res.body.text();
      seen.add(res.statusCode === 200 ? String(res.headers['x-upstream']) : String(res.statusCode));
    }
    return [...seen].sort().join(',');
  };
  const converge = async (front: number, want: string): Promise<string> => {
    const deadline = Date.now() + 8000;
    let got = '';
    while (Date.now() < deadline) {
      got = await sample(front);
      if (got === want) return got;
      await new Promise((r) => setTimeout(r, 50));
    }
    return got;
  };

  for (const which of ['haproxy', 'switchyard'] as const) {
    it(`${which}: two answers spread, a changed answer moves, NXDOMAIN past hold nx gives 503, a valid answer brings traffic back`, async () => {
      await dns.hosts(['127.0.0.2 app.test', '127.0.0.3 app.test']);
      const front = await freePort();
      const file = path.join(dir, `${which}.cfg`);
      fs.writeFileSync(file, [
        'resolvers mydns', `  nameserver dns1 ${dns.address}`, '  resolve_retries 2', '  timeout resolve 100ms', '  timeout retry 100ms', '  hold nx 300ms', '  hold valid 1s',
        'defaults', '  mode http', '  timeout connect 1s', '  timeout client 5s', '  timeout server 5s',
        'frontend web', `  bind 127.0.0.1:${front}`, '  default_backend app',
        'backend app', `  server-template web 3 app.test:${port} resolvers mydns init-addr none`, '',
      ].join('\n'));
      let stop: () => Promise<void>;
      if (which === 'haproxy') stop = await startHaproxy(file, front);
      else {
        const logger = pino({ level: 'warn' }, { write: () => undefined } as unknown as NodeJS.WritableStream);
        const gw = await Gateway.start(loadConfig({ file }, { logger }), { logger });
        stop = () => gw.stop(0);
      }
      try {
        expect(await converge(front, '127.0.0.2,127.0.0.3')).toBe('127.0.0.2,127.0.0.3');
        await dns.hosts(['127.0.0.4 app.test']);
        expect(await converge(front, '127.0.0.4')).toBe('127.0.0.4');
        await dns.hosts(['127.0.0.9 other.test']);
        expect(await converge(front, '503')).toBe('503');

        await dns.hosts(['127.0.0.3 app.test']);
        expect(await converge(front, '127.0.0.3')).toBe('127.0.0.3');
      } finally {
        await stop();
      }
    }, 60_000);
  }
});
