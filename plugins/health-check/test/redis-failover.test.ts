import * as net from 'node:net';
import Redis from 'ioredis';
import type { TestGateway } from '@switchyard/sdk/testing';
import { startGateway, waitForHealth } from './helpers';
import { RedisInstance, until } from './databases';
import { HEALTH_CONTROL_KEY, type HealthControl } from '../src';

const PLUGINS = ['@switchyard/preset-standard'];

/** The classic "route to the Redis primary" check from HAProxy's manual. */
const PRIMARY_RULES = [
  { connect: {} },
  { send: 'PING\r\n' },
  { expect: { string: '+PONG' } },
  { send: 'info replication\r\n' },
  { expect: { string: 'role:master' } },
  { send: 'QUIT\r\n' },
  { expect: { string: '+OK' } },
];

function openSession(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Asks through a session which role the Redis behind it has. */
function roleOver(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      const m = /role:(\w+)/.exec(got);
      if (m && got.includes('\r\n', got.indexOf('role:'))) {
        s.off('data', onData);
        resolve(m[1]!);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write('info replication\r\n');
  });
}

describe('Redis primary routing with tcp-check rules (real redis-server primary + replica)', () => {
  const a = new RedisInstance();
  const b = new RedisInstance();
  let gw: TestGateway;

  beforeAll(async () => {
    await a.start();
    await b.start(a.port);
    await until('the replica to sync', async () => (await b.command('info replication')).includes('master_link_status:up'), 10_000);
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { redis: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'redis' } },
      backends: {
        redis: {
          mode: 'tcp',
          // A replica never answers role:master: it fails on the timeout, as in HAProxy. fall 2 keeps a
          // loaded test machine from flapping the primary on one slow check.
          healthCheck: { type: 'tcp-check', inter: '200ms', fastinter: '100ms', timeout: '1s', rise: 1, fall: 2, tcpCheck: PRIMARY_RULES },
          servers: [
            { name: 'a', address: `127.0.0.1:${a.port}`, onMarkedDown: 'shutdown-sessions' },
            { name: 'b', address: `127.0.0.1:${b.port}`, onMarkedDown: 'shutdown-sessions' },
          ],
        },
      },
    });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([a.destroy(), b.destroy()]);
  });

  const server = (name: string) => gw.gateway.backends.get('redis')!.server(name)!;
  const control = (name: string) => server(name).data.get(HEALTH_CONTROL_KEY) as HealthControl;

  it('marks the replica DOWN in HAProxy\'s words and routes to the primary', async () => {
    await until('b to be DOWN', () => server('b').health === 'down', 8000);
    expect(server('a').health).toBe('up');
    const line = gw.logs.map((l) => String(l.msg)).find((m) => m.startsWith('Server redis/b is DOWN'));
    expect(line).toMatch(/^Server redis\/b is DOWN, reason: Layer7 timeout, info: " at step 5 of tcp-check \(expect string 'role:master'\)", check duration: \d+ms\. 1 active and 0 backup servers left\.$/);
    // The stats page and the runtime API read the last check from the control.
    await until('a check of a', () => control('a').last !== null);
    expect(control('a').last).toMatchObject({ ok: true, reason: 'Layer7 check passed', code: 0, info: '(tcp-check)', status: 'L7OK', step: 7 });
    expect(control('b').last).toMatchObject({ ok: false, reason: 'Layer7 timeout', status: 'L7TOUT', step: 5 });
    const client = new Redis({ host: '127.0.0.1', port: gw.port('redis'), lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    for (let i = 0; i < 10; i++) await client.set(`k${i}`, String(i));
    expect(await client.get('k9')).toBe('9');
    client.disconnect();
  });

  it('follows a REPLICAOF switch: old primary DOWN, new UP, open sessions to the old one closed', async () => {
    const sessions = await Promise.all([openSession(gw.port('redis')), openSession(gw.port('redis'))]);
    for (const s of sessions) expect(await roleOver(s)).toBe('master');
    const closedAt: number[] = [];
    for (const s of sessions) s.once('close', () => closedAt.push(Date.now()));
    const switchedAt = Date.now();
    const aDown = waitForHealth(gw.gateway, 'redis/a', 'down', 8000);
    const bUp = waitForHealth(gw.gateway, 'redis/b', 'up', 8000);
    await b.command('replicaof no one');
    await a.command(`replicaof 127.0.0.1 ${b.port}`);
    const [downAt, upAt] = await Promise.all([aDown, bUp]);
    await until('both sessions to the old primary to be closed', () => closedAt.length === 2, 2000);
    // Closed when (not before) the old primary went DOWN.
    for (const t of closedAt) expect(t).toBeGreaterThanOrEqual(downAt);
    const line = gw.logs.map((l) => String(l.msg)).find((m) => m.startsWith('Server redis/a: 2 session(s) closed'));
    expect(line).toBe('Server redis/a: 2 session(s) closed (on-marked-down shutdown-sessions)');
    // A new session reaches the new primary.
    const s = await openSession(gw.port('redis'));
    expect(await roleOver(s)).toBe('master');
    s.destroy();
    // eslint-disable-next-line no-console
    console.log(`REPLICAOF switch: new primary UP after ${upAt - switchedAt} ms, old primary DOWN after ${downAt - switchedAt} ms (inter 200ms, fastinter 100ms, timeout 1s, rise 1, fall 2)`);
    expect(server('b').health).toBe('up');
  });

  it('option redis-check passes with PING/+PONG and reports a refused connection', async () => {
    const gw2 = await startGateway({
      plugins: PLUGINS,
      frontends: { r: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'r' } },
      backends: {
        r: {
          mode: 'tcp',
          healthCheck: { type: 'redis-check', inter: '100ms', timeout: '1s', rise: 1, fall: 1 },
          servers: [{ name: 'up', address: `127.0.0.1:${a.port}` }, { name: 'gone', address: '127.0.0.1:1' }],
        },
      },
    });
    try {
      const s = (n: string) => gw2.gateway.backends.get('r')!.server(n)!;
      await until('gone to be DOWN and up checked', () => s('gone').health === 'down' && (s('up').data.get(HEALTH_CONTROL_KEY) as HealthControl).last !== null);
      expect((s('up').data.get(HEALTH_CONTROL_KEY) as HealthControl).last).toMatchObject({ ok: true, reason: 'Layer7 check passed', info: 'Redis server is ok', status: 'L7OK' });
      const line = gw2.logs.map((l) => String(l.msg)).find((m) => m.startsWith('Server r/gone is DOWN'));
      expect(line).toMatch(/^Server r\/gone is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 1 active and 0 backup servers left\.$/);
    } finally {
      await gw2.stop();
    }
  });
});
