import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort } from '@switchyard/sdk/testing';

export const HAPROXY = '/usr/sbin/haproxy';
export const haveHaproxy = (): boolean => fs.existsSync(HAPROXY);

/** The test agent (test/agent.js) in a child process; `events` are its JSON lines. */
export interface Agent {
  port: number;
  events: Array<Record<string, unknown>>;
  notifies(): Array<Array<{ name: string; args: Array<{ name: string; type: string; value: unknown }> }>>;
  stop(): Promise<void>;
}

export async function startAgent(port = 0): Promise<Agent> {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'agent.js'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Array<Record<string, unknown>> = [];
  let buf = '';
  const listening = new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('agent did not start in 5 s')), 5000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const e = JSON.parse(line) as Record<string, unknown>;
        if (typeof e.listening === 'number') {
          clearTimeout(t);
          resolve(e.listening);
        } else events.push(e);
      }
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    port: await listening,
    events,
    notifies: () => events.filter((e) => e.notify).map((e) => e.notify as never),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An HTTP server that records the headers each request brought. */
export interface Recorder {
  port: number;
  seen: Array<Record<string, string | undefined>>;
  close(): Promise<void>;
}

export async function startRecorder(): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const s = http.createServer((req, res) => {
    req.resume();
    const pick = (h: string): string | undefined => req.headers[h] as string | undefined;
    seen.push({ path: req.url, ipScore: pick('x-ip-score'), seenIp: pick('x-seen-ip'), tag: pick('x-tag'), err: pick('x-spoe-error') });
    res.end('ok');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { port: (s.address() as net.AddressInfo).port, seen, close: () => new Promise((r) => s.close(() => r())) };
}

/** Starts HAProxy 2.6 on a file (foreground, -db) and waits until it accepts on `port`. */
export async function startHaproxy(file: string, port: number): Promise<{ stop(): Promise<void> }> {
  const child = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'], cwd: path.dirname(file) });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`haproxy did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export { freePort };

/** The haproxy.cfg and SPOE file of the differential tests. */
export function writeConfigs(dir: string, p: { front: number; upstream: number; agent: number; extraAgent?: string; session?: boolean }): { cfg: string; spoe: string } {
  const spoe = path.join(dir, 'spoe.conf');
  fs.writeFileSync(spoe, [
    '[myspoe]',
    'spoe-agent my-agent',
    '    messages check-client',
    '    groups tagging',
    '    option var-prefix myspoe',
    '    option set-on-error err',
    ...(p.extraAgent ? [`    ${p.extraAgent}`] : []),
    '    timeout hello 2s',
    '    timeout idle 30s',
    '    timeout processing 500ms',
    '    use-backend agents',
    '',
    'spoe-message check-client',
    ...(p.session ? ['    args ip=src', '    event on-client-session'] : ['    args ip=src path=url', '    event on-frontend-http-request']),
    '',
    'spoe-group tagging',
    '    messages tag-request',
    '',
    'spoe-message tag-request',
    '    args method=method path=url',
    '',
  ].join('\n'));
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, [
    'defaults',
    '    mode http',
    '    timeout connect 1s',
    '    timeout client 5s',
    '    timeout server 5s',
    '',
    'frontend web',
    `    bind 127.0.0.1:${p.front}`,
    '    filter spoe engine myspoe config spoe.conf',
    '    http-request send-spoe-group myspoe tagging',
    '    http-request deny if { var(sess.myspoe.ip_score) -m int gt 20 }',
    '    http-request set-header x-ip-score %[var(sess.myspoe.ip_score)]',
    '    http-request set-header x-seen-ip %[var(txn.myspoe.seen_ip)]',
    '    http-request set-header x-tag %[var(txn.myspoe.tag)]',
    '    http-request set-header x-spoe-error %[var(txn.myspoe.err)]',
    '    default_backend app',
    '',
    'backend app',
    `    server s1 127.0.0.1:${p.upstream}`,
    '',
    'backend agents',
    '    mode tcp',
    '    timeout connect 1s',
    '    timeout server 30s',
    `    server a1 127.0.0.1:${p.agent}`,
    '',
  ].join('\n'));
  return { cfg, spoe };
}
