/**
 * Runs the same haproxy.cfg in real HAProxy (Debian's /usr/sbin/haproxy 2.6, started as a
 * child with -db and stopped by PID) and in Switchyard (the file read by the haproxy.cfg
 * adapter), for the monitoring differential tests.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'undici';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Haproxy {
  readonly child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
  /** A command on its stats socket (level admin). */
  cli(command: string): Promise<string>;
}

/** One command on HAProxy's stats socket (the master-less CLI), its whole answer. */
export function haproxyCli(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let out = '';
    s.setEncoding('utf8');
    s.once('connect', () => s.write(`${command}\n`));
    s.on('data', (d: string) => (out += d));
    s.once('end', () => resolve(out));
    s.once('error', reject);
  });
}

/** Polls `check` every `step` ms for at most `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000, step = 50): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, step));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Starts HAProxy on `cfg`. Readiness comes from a second config file holding only a
 * `stats socket` (HAProxy reads every -f in order): once the socket answers, every
 * listener is bound. Probing a listener instead would count as a (bad) session.
 */
export async function startHaproxy(cfg: string): Promise<Haproxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-hap-'));
  const file = path.join(dir, 'haproxy.cfg');
  const socket = path.join(dir, 'admin.sock');
  fs.writeFileSync(file, cfg);
  fs.writeFileSync(path.join(dir, 'zz-socket.cfg'), `global\n  stats socket ${socket} mode 600 level admin\n`);
  const child = spawn(HAPROXY, ['-f', file, '-f', path.join(dir, 'zz-socket.cfg'), '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until('haproxy to answer on its stats socket', async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited: ${err}`);
      if (!fs.existsSync(socket)) return false;
      return (await haproxyCli(socket, 'show info').catch(() => '')).includes('Pid:');
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, stderr: () => err, stop, cli: (command: string) => haproxyCli(socket, command) };
}

/** Switchyard on the same haproxy.cfg text (ports already substituted). */
export async function startSwitchyard(cfg: string): Promise<{ gw: TestGateway; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-cfg-'));
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, cfg);
  const gw = await startTestGateway(cfg, { file, baseDir: dir, logLevel: 'warn' });
  return { gw, dir };
}

/** Sends `paths` in order over one keep-alive connection and returns the statuses. */
export async function traffic(base: string, paths: string[]): Promise<number[]> {
  const agent = new Agent({ connections: 1, pipelining: 1 });
  try {
    const out: number[] = [];
    for (const p of paths) {
      const res = await request(base + p, { dispatcher: agent });
      await res.body.text();
      out.push(res.statusCode);
    }
    return out;
  } finally {
    await agent.close();
  }
}

export async function fetchText(url: string): Promise<string> {
  const res = await request(url, { headers: { connection: 'close' } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}
