/**
 * docs/databases.md's PostgreSQL block (read from the page), run against a real primary and
 * a real streaming replica (pg_basebackup -R, synchronous commit): writes go to the primary,
 * reads to the replica; when the primary stops and the replica is promoted, the proxy
 * follows, and the pg client writing through it loses no committed row.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { PostgresInstance, until } from './databases';
import { docsBlock, localize } from './docs';

async function sql<T = Record<string, unknown>>(port: number, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Inserts rows through the proxy until stopped; a row is committed when its INSERT returned. */
class Writer {
  readonly committed: Array<{ id: number; at: number }> = [];
  errors = 0;
  #stop = false;
  readonly #done: Promise<void>;

  constructor(readonly port: number) {
    this.#done = this.#loop();
  }

  async #loop(): Promise<void> {
    let id = 0;
    while (!this.#stop) {
      const c = new Client({ host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        while (!this.#stop) {
          const n = id++;
          await c.query('INSERT INTO log (id) VALUES ($1)', [n]);
          this.committed.push({ id: n, at: Date.now() });
        }
      } catch {
        this.errors++;
        await new Promise((r) => setTimeout(r, 20)); // reconnect after a short pause, as an application would
      } finally {
        await c.end().catch(() => undefined);
      }
    }
  }

  stop(): Promise<void> {
    this.#stop = true;
    return this.#done;
  }
}

describe('PostgreSQL primary/replicas (postgres-primary-replicas) with a real primary and streaming replica', () => {
  const primary = new PostgresInstance();
  let replica: PostgresInstance;
  let gw: TestGateway;
  let dir: string;

  beforeAll(async () => {
    await primary.init();
    await primary.start();
    await sql(primary.port, 'CREATE ROLE haproxy LOGIN');
    await sql(primary.port, 'CREATE TABLE log (id int PRIMARY KEY)');
    replica = await PostgresInstance.replicaOf(primary);
    await replica.start();
    await until('the replica to stream', async () => (await sql<{ n: number }>(primary.port, "SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'"))[0]!.n === 1, 20_000);
    // Synchronous commit: a committed row is on the replica too.
    await sql(primary.port, "ALTER SYSTEM SET synchronous_standby_names = '*'");
    await sql(primary.port, 'SELECT pg_reload_conf()');
    const text = localize(docsBlock('postgres-primary-replicas').text, { '10.0.0.11:5432': `127.0.0.1:${primary.port}`, '10.0.0.12:5432': `127.0.0.1:${replica.port}` });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-pg-cfg-'));
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, text);
    gw = await startTestGateway(text, { file });
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([primary.destroy(), replica?.destroy()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const server = (be: string, n: string) => gw.gateway.backends.get(be)!.server(n)!;

  it('sends writes to the primary and reads to the replica', async () => {
    await until('each role found', () => server('pg_primary', 'pg2').health === 'down' && server('pg_replicas', 'pg1').health === 'down', 10_000);
    expect(server('pg_primary', 'pg1').health).toBe('up');
    expect(server('pg_replicas', 'pg2').health).toBe('up');
    const line = gw.logs.map((l) => String(l.msg)).find((m) => m.startsWith('Server pg_primary/pg2 is DOWN'));
    expect(line).toMatch(/^Server pg_primary\/pg2 is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content \(binary\) at step 5 comment: not in recovery", check duration: \d+ms\. 1 active and 0 backup servers left\.$/);
    expect((await sql<{ r: boolean }>(gw.port('pg_rw'), 'SELECT pg_is_in_recovery() AS r'))[0]!.r).toBe(false);
    expect((await sql<{ r: boolean }>(gw.port('pg_ro'), 'SELECT pg_is_in_recovery() AS r'))[0]!.r).toBe(true);
  });

  it('follows a promotion and loses no committed row', async () => {
    const w = new Writer(gw.port('pg_rw'));
    await until('rows committed on the first primary', () => w.committed.length >= 50, 10_000);
    const stoppedAt = Date.now();
    await primary.stop();
    await sql(replica.port, 'SELECT pg_promote()');
    await until('pg2 is the primary', () => server('pg_primary', 'pg2').health === 'up' && server('pg_primary', 'pg1').health === 'down', 10_000);
    const movedAt = Date.now();
    await until('rows committed on the new primary', () => w.committed.filter((c) => c.at > movedAt).length >= 50, 10_000);
    await w.stop();
    const present = new Set((await sql<{ id: number }>(replica.port, 'SELECT id FROM log')).map((r) => r.id));
    const lost = w.committed.filter((c) => !present.has(c.id));
    expect(lost).toEqual([]);
    // The longest pause between two committed rows: the write outage the failover caused.
    let outage = 0;
    for (let i = 1; i < w.committed.length; i++) outage = Math.max(outage, w.committed[i]!.at - w.committed[i - 1]!.at);
    // The promoted server left the read-only backend.
    await until('pg2 out of pg_replicas', () => server('pg_replicas', 'pg2').health === 'down', 10_000);
    // eslint-disable-next-line no-console
    console.log(`postgres: ${w.committed.length} committed rows, 0 lost (${w.errors} failed attempts); new primary UP ${movedAt - stoppedAt} ms after the old one stopped; longest pause between two committed rows ${outage} ms`);
  }, 60_000);
});
