/**
 * option pgsql-check and option mysql-check against a real PostgreSQL and a real MariaDB,
 * started by this test in temporary directories, read from a haproxy.cfg and run beside
 * HAProxy 2.6 itself: both must report the same reasons. Then real client libraries (pg,
 * mysql2) query through the proxy, and a stopped server is marked DOWN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import * as mysql from 'mysql2/promise';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { findBinary, MariaDbInstance, PostgresInstance, until } from './databases';
import { HEALTH_CONTROL_KEY, type HealthControl } from '../src';

function config(ports: { pgFront: number; myFront: number; pg: number; my: number; dead: number }): string {
  return `global
  log stdout format raw local0

defaults
  mode tcp
  log global
  timeout connect 1s
  timeout client 20s
  timeout server 20s
  timeout check 2s
  default-server inter 300 fall 1 rise 1

listen pg
  bind 127.0.0.1:${ports.pgFront}
  option pgsql-check user postgres
  server pg1 127.0.0.1:${ports.pg} check

backend pg_unknown_user
  option pgsql-check user nosuchuser
  server pg1 127.0.0.1:${ports.pg} check

backend pg_dead
  option pgsql-check user postgres
  server gone 127.0.0.1:${ports.dead} check

listen mysql
  bind 127.0.0.1:${ports.myFront}
  balance leastconn
  option mysql-check user haproxy
  server my1 127.0.0.1:${ports.my} check

backend mysql_handshake
  option mysql-check
  server my1 127.0.0.1:${ports.my} check

backend mysql_unknown_user
  option mysql-check user nosuchuser
  server my1 127.0.0.1:${ports.my} check

backend mysql_dead
  option mysql-check
  server gone 127.0.0.1:${ports.dead} check
`;
}

/** "Server pg/pg1 is UP, reason: Layer7 check passed, code: 0, info: "…", …" → "pg/pg1 UP Layer7 check passed code 0 | …". */
function verdicts(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = /^Server (\S+) is (UP|DOWN), reason: ([^,]+)(?:, code: (\d+))?(?:, info: "((?:[^"\\]|\\.)*)")?/.exec(l);
    if (m) out.set(m[1]!, `${m[2]} ${m[3]}${m[4] !== undefined ? ` code ${m[4]}` : ''} | ${m[5] ?? ''}`);
  }
  return out;
}

describe('pgsql-check and mysql-check against real PostgreSQL and MariaDB, beside HAProxy 2.6', () => {
  const pg = new PostgresInstance();
  const my = new MariaDbInstance();
  let dir: string;
  let gw: TestGateway;
  let haproxy: ChildProcess | null = null;
  const haproxyLines: string[] = [];

  beforeAll(async () => {
    await Promise.all([pg.init().then(() => pg.start()), my.init().then(() => my.start())]);
    const root = await mysql.createConnection({ socketPath: my.socket, user: 'root' });
    await root.query("CREATE USER 'haproxy'@'%'");
    await root.query("CREATE USER 'app'@'%' IDENTIFIED BY 'secret'");
    await root.query('CREATE DATABASE app');
    await root.query("GRANT ALL ON app.* TO 'app'@'%'");
    await root.end();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-sql-cfg-'));
    const dead = await freePort();
    const ours = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(ours, config({ pgFront: 0, myFront: 0, pg: pg.port, my: my.port, dead }));
    gw = await startTestGateway(fs.readFileSync(ours, 'utf8'), { file: ours });
    const theirs = path.join(dir, 'real-haproxy.cfg');
    fs.writeFileSync(theirs, config({ pgFront: await freePort(), myFront: await freePort(), pg: pg.port, my: my.port, dead }));
    haproxy = spawn(findBinary(['haproxy'], 'haproxy'), ['-f', theirs, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    haproxy.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        haproxyLines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }, 120_000);

  afterAll(async () => {
    if (haproxy?.pid !== undefined && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy!.once('exit', r));
      process.kill(haproxy.pid, 'SIGTERM');
      await exited;
    }
    await gw?.stop();
    await Promise.all([pg.destroy(), my.destroy()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const last = (be: string, s: string) => (gw.gateway.backends.get(be)!.server(s)!.data.get(HEALTH_CONTROL_KEY) as HealthControl).last;

  it('reads the protocol checks from haproxy.cfg', () => {
    const be = gw.gateway.config.backends;
    expect(be.pg!.healthCheck).toMatchObject({ type: 'pgsql-check', pgsql: { user: 'postgres' } });
    expect(be.mysql!.healthCheck).toMatchObject({ type: 'mysql-check', mysql: { user: 'haproxy', variant: 'post-41' } });
    expect(be.mysql_handshake!.healthCheck).toMatchObject({ type: 'mysql-check' });
  });

  it('passes and fails each server with the reasons HAProxy gives', async () => {
    const down = ['pg_dead/gone', 'mysql_unknown_user/my1', 'mysql_dead/gone'];
    const ourLines = (): string[] => gw.logs.map((l) => String(l.msg));
    await until('both to report every DOWN server', () => down.every((id) => verdicts(ourLines()).has(id) && verdicts(haproxyLines).has(id)), 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\nours: ${JSON.stringify([...verdicts(ourLines())])}\nHAProxy: ${JSON.stringify([...verdicts(haproxyLines)])}`);
    });
    const ours = verdicts(ourLines());
    const theirs = verdicts(haproxyLines);
    for (const id of down) expect(`${id} ${ours.get(id)}`).toBe(`${id} ${theirs.get(id)}`);
    expect(ours.get('pg_dead/gone')).toBe('DOWN Layer4 connection problem | Connection refused');
    // HAProxy's pgsql-check only reads the first reply: under trust authentication PostgreSQL
    // answers AuthenticationOk before it looks the role up, so an unknown user passes — in both.
    expect(ours.has('pg_unknown_user/pg1')).toBe(false);
    expect(theirs.has('pg_unknown_user/pg1')).toBe(false);
    expect(last('pg_unknown_user', 'pg1')).toMatchObject({ ok: true, info: 'PostgreSQL server is ok' });
    expect(ours.get('mysql_unknown_user/my1')).toMatch(/^DOWN Layer7 wrong status code 1045 \| .*Access denied for user 'nosuchuser'/);
    // The servers that pass: same result as HAProxy's stats would show (it logs nothing for a server that stays UP).
    await until('passing checks', () => ['pg', 'mysql', 'mysql_handshake'].every((be) => last(be, be === 'pg' ? 'pg1' : 'my1') !== null));
    expect(last('pg', 'pg1')).toMatchObject({ ok: true, reason: 'Layer7 check passed', code: 0, info: 'PostgreSQL server is ok', status: 'L7OK' });
    const version = last('mysql', 'my1')!.info!;
    expect(version).toMatch(/MariaDB/);
    expect(last('mysql', 'my1')).toMatchObject({ ok: true, reason: 'Layer7 check passed', status: 'L7OK' });
    expect(last('mysql_handshake', 'my1')).toMatchObject({ ok: true, reason: 'Layer7 check passed', info: version });
  });

  it('pg and mysql2 query through the proxy', async () => {
    const c = new Client({ host: '127.0.0.1', port: gw.port('pg'), user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query('CREATE TABLE t (id int primary key, v text)');
    for (let i = 0; i < 20; i++) await c.query('INSERT INTO t VALUES ($1, $2)', [i, `v${i}`]);
    expect((await c.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(20);
    await c.end();
    const pool = mysql.createPool({ host: '127.0.0.1', port: gw.port('mysql'), user: 'app', password: 'secret', database: 'app', connectionLimit: 4 });
    await pool.query('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
    await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query('INSERT INTO t VALUES (?, ?)', [i, `v${i}`])));
    const [rows] = await pool.query('SELECT COUNT(*) AS n FROM t');
    expect((rows as Array<{ n: number }>)[0]!.n).toBe(20);
    await pool.end();
  });

  it('marks a stopped PostgreSQL DOWN and a restarted one UP', async () => {
    const s = gw.gateway.backends.get('pg')!.server('pg1')!;
    await pg.stop();
    await until('pg1 DOWN', () => s.health === 'down', 10_000);
    const line = gw.logs.map((l) => String(l.msg)).find((m) => m.startsWith('Server pg/pg1 is DOWN'));
    // SIGKILL of the postmaster: new checks are refused; a check whose connection was accepted just
    // before the kill gets the backend's FATAL instead (the two outcomes HAProxy reports alike).
    expect(line).toMatch(/^Server pg\/pg1 is DOWN, reason: (Layer4 connection problem, info: "Connection refused"|Layer7 invalid response, info: "FATAL"), check duration: \d+ms\. 0 active and 0 backup servers left\.$/);
    await pg.start();
    await until('pg1 UP', () => s.health === 'up', 20_000);
    expect(gw.logs.map((l) => String(l.msg)).find((m) => m.startsWith('Server pg/pg1 is UP'))).toMatch(/^Server pg\/pg1 is UP, reason: Layer7 check passed, code: 0, info: "PostgreSQL server is ok", check duration: \d+ms\. 1 active and 0 backup servers online\.$/);
  }, 60_000);
});
