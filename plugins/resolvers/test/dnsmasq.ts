import { spawn, type ChildProcess } from 'node:child_process';
import { promises as dnsp } from 'node:dns';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '@switchyard/sdk/testing';

/**
 * A real DNS server on loopback for the tests: Debian's dnsmasq, run as this user on a high
 * port, answering only from a hosts file (names under `.test` are local, so an unknown one
 * is NXDOMAIN) and from SRV records given at start. `hosts()` rewrites the file and reloads it
 * (SIGHUP), resolving once dnsmasq has read it.
 */
export interface Dnsmasq {
  readonly port: number;
  readonly address: string;
  hosts(lines: ReadonlyArray<string>): Promise<void>;
  close(): Promise<void>;
}

export function haveDnsmasq(): boolean {
  return ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].some((f) => fs.existsSync(f));
}

export async function startDnsmasq(lines: ReadonlyArray<string>, srv: ReadonlyArray<string> = []): Promise<Dnsmasq> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-dnsmasq-'));
  const file = path.join(dir, 'hosts');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const port = await freePort();
  const bin = fs.existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';
  const args = ['-k', '-d', '--port', String(port), '--listen-address', '127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
    '--addn-hosts', file, '-C', '/dev/null', '--local=/test/', ...srv.map((s) => `--srv-host=${s}`)];
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const waiters: Array<{ text: string; from: number; resolve: () => void }> = [];
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) if (err.indexOf(w.text, w.from) !== -1) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const until = (text: string, from: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (err.indexOf(text, from) !== -1) return resolve();
      const t = setTimeout(() => reject(new Error(`dnsmasq did not say "${text}" in 5 s: ${err}`)), 5000);
      waiters.push({ text, from, resolve: () => (clearTimeout(t), resolve()) });
    });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Ready when it answers.
  const r = new dnsp.Resolver({ timeout: 200, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await r.resolve4('ready.probe.test');
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTFOUND') break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`dnsmasq did not start: ${err}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return {
    port,
    address: `127.0.0.1:${port}`,
    async hosts(next) {
      fs.writeFileSync(file, `${next.join('\n')}\n`);
      const from = err.length;
      child.kill('SIGHUP');
      await until(`read ${file}`, from);
    },
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
