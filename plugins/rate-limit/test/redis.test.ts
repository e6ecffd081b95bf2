import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { request } from 'undici';
import { freePort, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { startGateway } from './fixtures/gateway';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-rate-limit'];

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

function stopRedis(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(child.pid!, 'SIGKILL');
  });
}

async function status(gw: TestGateway, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(gw.url('/'), { headers });
  await r.body.text();
  return r.statusCode;
}

describe('redis store: two gateways share one limit', () => {
  let redis: ChildProcess | null = null;
  let up: Upstream;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let redisPort = 0;

  beforeAll(async () => {
    const port = await freePort();
    redisPort = port;
    redis = await startRedis(port);
    up = await startUpstream();
    const config = {
      plugins: [...PLUGINS, './fixtures/sc-echo-plugin.js'],
      rateLimit: { store: 'redis', redis: { url: `redis://127.0.0.1:${port}`, keyPrefix: `t${process.pid}`, commandTimeout: '300ms' } },
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          rateLimits: [{ name: 'per-user', key: 'hdr(x-user)', points: 4, duration: '60s', headers: true }],
          track: [{ counter: 0, key: 'hdr(x-user)', period: '60s', denyAbove: 100 }],
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    };
    gw1 = await startGateway(config, { baseDir: __dirname });
    gw2 = await startGateway(config, { baseDir: __dirname });
  });
  afterAll(async () => {
    await gw1?.stop();
    await gw2?.stop();
    await up?.close();
    await stopRedis(redis);
  });

  it('counts requests through either gateway against the same budget', async () => {
    const ann = { 'x-user': 'ann' };
    expect(await status(gw1, ann)).toBe(200);
    expect(await status(gw2, ann)).toBe(200);
    expect(await status(gw1, ann)).toBe(200);
    expect(await status(gw2, ann)).toBe(200);
    // The fifth request is over the shared budget of 4, whichever gateway gets it.
    expect(await status(gw1, ann)).toBe(429);
    expect(await status(gw2, ann)).toBe(429);
    expect(await status(gw2, { 'x-user': 'bob' })).toBe(200);
    expect(gw1.logs.some((l) => l.msg === 'redis rate-limit store connected')).toBe(true);
    // Each key once in the line as written (a parsed record cannot show a duplicate).
    const line = gw1.logLines.find((l) => l.includes('"redis rate-limit store connected"'))!;
    expect(line.match(/"store":/g)).toEqual(['"store":']);
    expect(JSON.parse(line)).toMatchObject({ store: 'redis', plugin: '@switchyard/plugin-rate-limit' });
  });

  it('shares the stick table too: sc_http_req_rate(0) counts requests through both gateways', async () => {
    const eve = { 'x-user': 'eve' };
    const rates: string[] = [];
    for (const gw of [gw1, gw2, gw1, gw2]) {
      const r = await request(gw.url('/'), { headers: eve });
      await r.body.text();
      rates.push(String(r.headers['x-sc0-rate']));
    }
    expect(rates).toEqual(['1', '2', '3', '4']);
  });

  it('keeps serving with in-memory insurance limits when Redis dies, and logs it', async () => {
    await stopRedis(redis);
    redis = null;
    // Both gateways notice the lost connection and say so.
    for (let i = 0; i < 100 && !gw1.logs.some((l) => String(l.msg).includes('unreachable')); i++) await new Promise((r) => setTimeout(r, 50));
    const carl = { 'x-user': 'carl' };
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push(await status(gw1, carl));
    // Insurance limits have the same shape but count per instance: 4 pass, the fifth is refused.
    expect(seen).toEqual([200, 200, 200, 200, 429]);
    expect(await status(gw2, carl)).toBe(200);
    const line = gw1.logs.find((l) => String(l.msg).includes('redis rate-limit store unreachable'));
    expect(line).toBeDefined();
    expect(line!.level).toBe(40);
    expect(String(line!.msg)).toContain('insurance');
  });

  it('shares limits again once Redis is back, and logs that too', async () => {
    redis = await startRedis(redisPort);
    for (let i = 0; i < 100 && !gw1.logs.some((l) => String(l.msg).includes('reachable again')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(gw1.logs.some((l) => String(l.msg).includes('redis rate-limit store reachable again'))).toBe(true);
    for (let i = 0; i < 100 && !gw2.logs.some((l) => String(l.msg).includes('reachable again')); i++) await new Promise((r) => setTimeout(r, 50));
    const dora = { 'x-user': 'dora' };
    expect([await status(gw1, dora), await status(gw2, dora), await status(gw1, dora), await status(gw2, dora)]).toEqual([200, 200, 200, 200]);
    expect(await status(gw2, dora)).toBe(429);
  });
});

describe('redis store unreachable from the start, without insurance', () => {
  let up: Upstream;
  const gws: TestGateway[] = [];
  afterAll(async () => {
    for (const g of gws) await g.stop();
    await up?.close();
  });

  it('failOpen (default) lets requests through and logs the failure once; failOpen: false answers 503', async () => {
    up = await startUpstream();
    const deadPort = await freePort(); // nothing listens there
    const config = (failOpen: boolean): Record<string, unknown> => ({
      plugins: PLUGINS,
      rateLimit: { store: 'redis', failOpen, redis: { url: `redis://127.0.0.1:${deadPort}`, connectTimeout: '300ms', insurance: false } },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', rateLimits: [{ name: 'x', points: 1, duration: '60s' }] } },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
    const open = await startGateway(config(true));
    gws.push(open);
    expect([await status(open), await status(open), await status(open)]).toEqual([200, 200, 200]);
    expect(open.logs.some((l) => String(l.msg).includes('redis rate-limit store unreachable'))).toBe(true);
    const failed = open.logs.filter((l) => l.code === 'SWY_ERR_RATELIMIT_STORE_FAILED');
    expect(failed).toHaveLength(1);
    const closed = await startGateway(config(false));
    gws.push(closed);
    expect(await status(closed)).toBe(503);
  });
});
