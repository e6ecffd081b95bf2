import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from '@switchyard/sdk/testing';

/*
 * Real database servers for the tests, started on 127.0.0.1 in temporary directories and
 * stopped by PID. Binaries are looked up where Debian (and most distributions) put them;
 * a missing one fails the test with the package to install (.ci/run installs them).
 */

/** Finds an executable among candidate paths and globs of the form /usr/lib/postgresql/x/bin/initdb. */
export function findBinary(names: string[], pkg: string): string {
  for (const n of names) {
    if (n.includes('*')) {
      const [before, after] = n.split('*') as [string, string];
      const dir = path.dirname(before + 'x');
      const prefix = path.basename(before + 'x').slice(0, -1);
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(dir).filter((e) => e.startsWith(prefix)).sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
      } catch {
        continue;
      }
      for (const e of entries) {
        const p = path.join(dir, e) + after;
        if (fs.existsSync(p)) return p;
      }
    } else if (n.startsWith('/')) {
      if (fs.existsSync(n)) return n;
    } else {
      for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
        const p = path.join(d, n);
        if (fs.existsSync(p)) return p;
      }
    }
  }
  throw new Error(`none of ${names.join(', ')} found: install the Debian package "${pkg}" (.ci/run does)`);
}

export function waitForPort(port: number, ms = 15_000, proc?: ChildProcess, log?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (proc && proc.exitCode !== null) {
        reject(new Error(`server exited with ${proc.exitCode} before listening on ${port}${log ? `:\n${log()}` : ''}`));
        return;
      }
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => (Date.now() > deadline ? reject(new Error(`port ${port} never opened${log ? `:\n${log()}` : ''}`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

async function stopProcess(proc: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<void> {
  if (proc === null || proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  process.kill(proc.pid, signal);
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
  }, ms);
  await exited;
  clearTimeout(timer);
}

/** A redis-server without persistence, optionally a replica of another. */
export class RedisInstance {
  #proc: ChildProcess | null = null;
  port = 0;
  dir = '';

  async start(replicaOf?: number): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const bin = findBinary(['redis-server'], 'redis-server');
    // Its own directory: a replica's full sync writes an RDB file there.
    this.dir ||= fs.mkdtempSync(path.join(os.tmpdir(), 'swy-redis-'));
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--repl-diskless-sync-delay', '0'];
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    this.#proc = spawn(bin, args, { stdio: 'ignore' });
    await waitForPort(this.port, 10_000, this.#proc);
    return this;
  }

  /** Sends one inline command and returns the first reply chunk. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: this.port });
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('\r\n')) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      s.write(line + '\r\n');
    });
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    await stopProcess(p, 'SIGKILL');
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The uid/gid to run PostgreSQL as when we are root (initdb and postgres refuse root). */
function postgresUser(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root needs a "postgres" user to run PostgreSQL: install the Debian package "postgresql"');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A PostgreSQL cluster in a temporary directory (initdb, then postgres on 127.0.0.1). */
export class PostgresInstance {
  #proc: ChildProcess | null = null;
  #log = '';
  dir = '';
  port = 0;
  /** More `postgres` arguments (`-c name=value`). */
  extraArgs: string[] = [];

  async init(): Promise<this> {
    const initdb = findBinary(['/usr/lib/postgresql/*/bin/initdb', 'initdb'], 'postgresql');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-pg-'));
    const user = postgresUser();
    if ('uid' in user) fs.chownSync(this.dir, user.uid, user.gid);
    const r = spawnSync(initdb, ['-D', path.join(this.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions', '--no-sync'], { encoding: 'utf8', cwd: this.dir, ...user });
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
    return this;
  }

  /** A streaming replica of `primary` (pg_basebackup -R), in its own directory; start() it. */
  static async replicaOf(primary: PostgresInstance): Promise<PostgresInstance> {
    const r = new PostgresInstance();
    const basebackup = findBinary(['/usr/lib/postgresql/*/bin/pg_basebackup', 'pg_basebackup'], 'postgresql');
    r.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-pg-replica-'));
    const user = postgresUser();
    if ('uid' in user) fs.chownSync(r.dir, user.uid, user.gid);
    const out = spawnSync(basebackup, ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', path.join(r.dir, 'data'), '-R', '-X', 'stream', '--no-sync'], { encoding: 'utf8', cwd: r.dir, ...user });
    if (out.status !== 0) throw new Error(`pg_basebackup failed: ${out.stderr || out.stdout}`);
    return r;
  }

  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const postgres = findBinary(['/usr/lib/postgresql/*/bin/postgres', 'postgres'], 'postgresql');
    const args = [
      '-D', path.join(this.dir, 'data'), '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${this.dir}`, '-c', 'fsync=off', '-c', 'log_min_messages=warning', ...this.extraArgs,
    ];
    this.#log = '';
    const proc = spawn(postgres, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir, ...postgresUser() });
    proc.stdout!.on('data', (d: Buffer) => (this.#log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.#log += d.toString()));
    this.#proc = proc;
    await waitForPort(this.port, 20_000, proc, () => this.#log);
    // Listening is not ready: until recovery is done it answers "the database system is starting up".
    await until('PostgreSQL to accept queries', async () => {
      const c = new Client({ host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await c.end().catch(() => undefined);
      }
    }, 20_000);
    return this;
  }

  /** Fast shutdown (SIGINT), as `pg_ctl stop -m fast`. */
  stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    return stopProcess(p, 'SIGINT');
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A MariaDB server in a temporary directory (mariadb-install-db, then mariadbd as root with --user=root). */
export class MariaDbInstance {
  #proc: ChildProcess | null = null;
  #log = '';
  dir = '';
  port = 0;

  async init(): Promise<this> {
    const install = findBinary(['mariadb-install-db', 'mysql_install_db'], 'mariadb-server');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-mariadb-'));
    const r = spawnSync(install, [`--datadir=${path.join(this.dir, 'data')}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mariadb-install-db failed: ${r.stderr || r.stdout}`);
    return this;
  }

  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const bin = findBinary(['mariadbd', 'mysqld'], 'mariadb-server');
    const proc = spawn(bin, [
      '--no-defaults', `--datadir=${path.join(this.dir, 'data')}`, '--user=root', '--bind-address=127.0.0.1', `--port=${this.port}`,
      `--socket=${path.join(this.dir, 'mysqld.sock')}`, `--pid-file=${path.join(this.dir, 'mysqld.pid')}`, '--skip-name-resolve',
      '--innodb-buffer-pool-size=16M', '--skip-log-bin', '--max-connect-errors=100000',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#log = '';
    proc.stdout!.on('data', (d: Buffer) => (this.#log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.#log += d.toString()));
    this.#proc = proc;
    await waitForPort(this.port, 30_000, proc, () => this.#log);
    return this;
  }

  get socket(): string {
    return path.join(this.dir, 'mysqld.sock');
  }

  stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    return stopProcess(p, 'SIGTERM', 20_000);
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits for a condition, polling every 20 ms, up to `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
}
