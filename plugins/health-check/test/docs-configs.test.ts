/**
 * The configurations of docs/databases.md, read from the page itself and run against real
 * servers: every haproxy.cfg block is valid for HAProxy 2.6 (`haproxy -c`) and for
 * Switchyard; the Redis blocks follow a REPLICAOF switchover with ioredis writing through
 * the proxy and lose no committed write; the MySQL pool balances real MariaDB sessions.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import * as mysql from 'mysql2/promise';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { parse as parseYaml } from 'yaml';
import { findBinary, MariaDbInstance, RedisInstance, until } from './databases';
import { docsBlock, docsBlockNames, localize } from './docs';
import { HEALTH_CONTROL_KEY, type HealthControl } from '../src';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-docs-db-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startCfg(text: string, name: string): Promise<TestGateway> {
  const file = path.join(dir, `${name}.cfg`);
  fs.writeFileSync(file, text);
  return startTestGateway(text, { file });
}

describe('docs/databases.md', () => {
  it('has tested blocks, and HAProxy 2.6 accepts each haproxy.cfg one', () => {
    const names = docsBlockNames();
    expect(names).toEqual(['redis-primary', 'redis-primary-yaml', 'postgres-primary-replicas', 'mysql-pool']);
    const haproxy = findBinary(['haproxy'], 'haproxy');
    for (const n of names) {
      const b = docsBlock(n);
      if (b.lang !== 'haproxy') continue;
      const file = path.join(dir, `${n}-check.cfg`);
      fs.writeFileSync(file, b.text);
      const r = spawnSync(haproxy, ['-c', '-f', file], { encoding: 'utf8' });
      expect(`${n}: ${r.status} ${r.stderr.split('\n').filter((l) => /ALERT/.test(l)).join(' ')}`).toBe(`${n}: 0 `);
    }
  });
});

/** Writes through the proxy until stopped; a write is committed once `WAIT 1` says a replica has it. */
class Writer {
  readonly committed: Array<{ id: number; at: number }> = [];
  errors = 0;
  unreplicated = 0;
  #stop = false;
  #done: Promise<void>;

  constructor(readonly client: Redis) {
    this.#done = this.#loop();
  }

  async #loop(): Promise<void> {
    for (let id = 0; !this.#stop; id++) {
      try {
        await this.client.rpush('log', String(id));
        const replicas = await this.client.wait(1, 500);
        if (replicas >= 1) this.committed.push({ id, at: Date.now() });
        else this.unreplicated++;
      } catch {
        this.errors++;
        await new Promise((r) => setTimeout(r, 10)); // back off a little, as an application would
      }
    }
  }

  stop(): Promise<void> {
    this.#stop = true;
    return this.#done;
  }
}

describe.each([['redis-primary'], ['redis-primary-yaml']])('Redis primary routing (%s) with real redis-server, across a REPLICAOF switchover', (block) => {
  const a = new RedisInstance();
  const b = new RedisInstance();
  let gw: TestGateway;

  beforeAll(async () => {
    await a.start();
    await b.start(a.port);
    await until('the replica to sync', async () => (await b.command('info replication')).includes('master_link_status:up'), 10_000);
    const text = localize(docsBlock(block).text, { '10.0.0.1:6379': `127.0.0.1:${a.port}`, '10.0.0.2:6379': `127.0.0.1:${b.port}` });
    if (block.endsWith('yaml')) gw = await startTestGateway({ plugins: ['@switchyard/preset-standard'], ...(parseYaml(text) as Record<string, unknown>) });
    else gw = await startCfg(text, block);
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([a.destroy(), b.destroy()]);
  });

  const server = (n: string) => gw.gateway.backends.get('redis_primary')!.server(n)!;

  it('marks the replica DOWN at once, with HAProxy\'s words', async () => {
    await until('redis2 DOWN', () => server('redis2').health === 'down', 5000);
    const line = gw.logs.map((l) => String(l.msg)).find((m) => m.startsWith('Server redis_primary/redis2 is DOWN'));
    expect(line).toMatch(/^Server redis_primary\/redis2 is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content 'role:master' at step 3", check duration: \d+ms\. 1 active and 0 backup servers left\.$/);
    expect(server('redis1').health).toBe('up');
  });

  it('loses no committed write: ioredis keeps writing through the proxy while the primary moves', async () => {
    const client = new Redis({ host: '127.0.0.1', port: gw.port('redis'), maxRetriesPerRequest: 1, retryStrategy: () => 20 });
    const w = new Writer(client);
    await until('writes committed before the switch', () => w.committed.length >= 20, 5000);
    const switchedAt = Date.now();
    await b.command('replicaof no one');
    await a.command(`replicaof 127.0.0.1 ${b.port}`);
    await until('redis1 DOWN and redis2 UP', () => server('redis1').health === 'down' && server('redis2').health === 'up', 8000);
    const movedAt = Date.now();
    await until('writes committed on the new primary', () => w.committed.filter((c) => c.at > movedAt).length >= 20, 8000);
    await w.stop();
    client.disconnect();
    const onNewPrimary = new Set((await new Redis({ port: b.port, lazyConnect: false }).lrange('log', 0, -1).then((x) => x)) as string[]);
    const lost = w.committed.filter((c) => !onNewPrimary.has(String(c.id)));
    expect(lost).toEqual([]);
    // The longest pause between two committed writes: the write outage the switchover caused.
    let gap = 0;
    for (let i = 1; i < w.committed.length; i++) gap = Math.max(gap, w.committed[i]!.at - w.committed[i - 1]!.at);
    // eslint-disable-next-line no-console
    console.log(`${block}: ${w.committed.length} committed writes, 0 lost; ${w.errors} failed and ${w.unreplicated} unreplicated (not counted); primary moved in ${movedAt - switchedAt} ms; longest pause between two committed writes ${gap} ms`);
    expect(gw.logs.some((l) => /^Server redis_primary\/redis1: \d+ session\(s\) closed \(on-marked-down shutdown-sessions\)$/.test(String(l.msg)))).toBe(true);
  }, 30_000);
});

describe('MySQL pool (mysql-pool) with a real MariaDB', () => {
  const my = new MariaDbInstance();
  let gw: TestGateway;

  beforeAll(async () => {
    await my.init();
    await my.start();
    const root = await mysql.createConnection({ socketPath: my.socket, user: 'root' });
    await root.query("CREATE USER 'haproxy'@'%'");
    await root.query("CREATE USER 'app'@'%' IDENTIFIED BY 'secret'");
    await root.query('CREATE DATABASE app');
    await root.query("GRANT ALL ON app.* TO 'app'@'%'");
    await root.end();
    // db1 and db2 are the same MariaDB (two server lines); db3, the backup, is not running.
    const dead = await freePort();
    const text = localize(docsBlock('mysql-pool').text, {
      '10.0.0.21:3306': `127.0.0.1:${my.port}`,
      '10.0.0.22:3306': `127.0.0.1:${my.port}`,
      '10.0.0.23:3306': `127.0.0.1:${dead}`,
    });
    gw = await startCfg(text, 'mysql-pool');
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await my.destroy();
  }, 30_000);

  const server = (n: string) => gw.gateway.backends.get('mysql')!.server(n)!;

  it('checks with a login, spreads long-lived sessions with leastconn, and moves them off a server put in maintenance', async () => {
    await until('db3 DOWN and db1, db2 checked', () => server('db3').health === 'down' && ['db1', 'db2'].every((n) => (server(n).data.get(HEALTH_CONTROL_KEY) as HealthControl).last?.ok === true), 10_000);
    expect(gw.gateway.config.frontends.mysql).toMatchObject({ tcpKeepAlive: true });
    expect(gw.gateway.config.backends.mysql).toMatchObject({ tcpKeepAlive: true, balance: 'leastconn' });
    expect((server('db1').data.get(HEALTH_CONTROL_KEY) as HealthControl).last).toMatchObject({ reason: 'Layer7 check passed', code: 0, info: expect.stringMatching(/MariaDB/) });
    const conns = await Promise.all(Array.from({ length: 4 }, () => mysql.createConnection({ host: '127.0.0.1', port: gw.port('mysql'), user: 'app', password: 'secret', database: 'app' })));
    for (const c of conns) await c.query('SELECT 1');
    // Four sessions open for their whole life: leastconn puts two on each server.
    expect([server('db1').active, server('db2').active]).toEqual([2, 2]);
    await conns[0]!.query('CREATE TABLE t (id INT PRIMARY KEY)');
    const closed: number[] = [];
    conns.forEach((c, i) => c.once('error', () => closed.push(i)));
    server('db1').setAdmin('maint', 'test');
    await until('db1 sessions closed', () => server('db1').active === 0 && closed.length === 2, 5000);
    const again = await mysql.createConnection({ host: '127.0.0.1', port: gw.port('mysql'), user: 'app', password: 'secret', database: 'app' });
    await again.query('INSERT INTO t VALUES (1)');
    expect(server('db2').active).toBe(3);
    await again.end();
    for (const [i, c] of conns.entries()) if (!closed.includes(i)) await c.end();
    for (const i of closed) conns[i]!.destroy();
  }, 30_000);
});
