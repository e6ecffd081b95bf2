import { request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import type { ServerState } from '@switchyard/sdk';
import { PROMETHEUS } from '@switchyard/plugin-prometheus/contract';
import { STICK_TABLE } from '@switchyard/plugin-stickiness/contract';
import { RedisServer, until } from './redis-server';

/**
 * Two gateways in this process share one real redis-server: one stick table, one HTTP
 * cache, operator server-state changes; then Redis dies and comes back under traffic.
 */
const redis = new RedisServer();
let upA: Upstream;
let upB: Upstream;
let gwA: TestGateway;
let gwB: TestGateway;
const prefix = `t${process.pid}x${Date.now()}`;

function config(instance: string, extra: string[] = []): Record<string, unknown> {
  return {
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stickiness', '@switchyard/plugin-cache', '@switchyard/plugin-redis-state', ...extra],
    ...(extra.length > 0 ? { prometheus: { listen: '127.0.0.1:0', processMetrics: false, hookTiming: false } } : {}),
    redis: { url: redis.url, keyPrefix: prefix, instanceId: instance, retryMin: '50ms', retryMax: '300ms', cache: { maxObjectSize: '4kb' } },
    cache: { store: 'redis' },
    frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
    backends: {
      app: {
        balance: 'roundrobin',
        stickTable: { key: 'src', expire: '1m', store: 'redis' },
        servers: [
          { name: 's1', address: upA.address },
          { name: 's2', address: upB.address },
        ],
      },
    },
  };
}

const handler = (name: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
  req.resume();
  req.on('end', () => {
    const cacheable = req.url?.startsWith('/cached') ?? false;
    if (req.url?.startsWith('/bare')) {
      // No Cache-Control, Expires, Last-Modified or ETag: a cache can never reuse it.
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name, 'content-length': 5 }).end('bare\n');
      return;
    }
    const body = req.url?.startsWith('/cached/big') ? 'x'.repeat(8192) : `${name} ${req.url}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name, 'content-length': Buffer.byteLength(body), ...(cacheable ? { 'cache-control': 'public, max-age=60' } : { 'cache-control': 'no-store' }) });
    res.end(body);
  });
};

async function get(gw: TestGateway, path: string): Promise<{ status: number; upstream: string; cache: string; body: string }> {
  const res = await request(gw.url(path), { headers: { host: 'app.example' } });
  const body = await res.body.text();
  return { status: res.statusCode, upstream: String(res.headers['x-upstream'] ?? ''), cache: String(res.headers['x-cache'] ?? ''), body };
}

function server(gw: TestGateway, name: string): ServerState {
  return gw.gateway.backends.get('app')!.server(name)!;
}

async function redisGauge(): Promise<string> {
  const svc = gwA.gateway.container.resolve<{ ready: Promise<{ url: string }> }>(PROMETHEUS.id);
  const res = await request((await svc.ready).url);
  const line = (await res.body.text()).split('\n').find((l) => l.startsWith('switchyard_redis_connected '));
  return line ?? 'missing';
}

function logged(gw: TestGateway, level: number, text: string): boolean {
  return gw.logs.some((r) => r.level === level && typeof r.msg === 'string' && r.msg.includes(text));
}

beforeAll(async () => {
  await redis.start();
  upA = await startUpstream({ name: 's1', handler: handler('s1') });
  upB = await startUpstream({ name: 's2', handler: handler('s2') });
  gwA = await startTestGateway(config('gw-a', ['@switchyard/plugin-prometheus']));
  gwB = await startTestGateway(config('gw-b'));
});

afterAll(async () => {
  await gwA?.stop();
  await gwB?.stop();
  await upA?.close();
  await upB?.close();
  await redis.stop();
});

describe('redis-state: two gateways, one redis', () => {
  it('both gateways connect and say so', () => {
    expect(logged(gwA, 30, 'redis connected')).toBe(true);
    expect(logged(gwB, 30, 'redis connected')).toBe(true);
  });

  it('metrics: switchyard_redis_connected is 1', async () => {
    expect(await redisGauge()).toBe('switchyard_redis_connected 1');
  });

  it('a client pinned by gateway A stays pinned through gateway B', async () => {
    // Without the shared table, B's round robin alternates s1/s2 for the same client.
    const first = await get(gwA, '/pin');
    expect(first.status).toBe(200);
    const table = gwB.gateway.backends.get('app')!.data.get(STICK_TABLE.id) as { name: string; store: { get(t: string, k: string): Promise<string | undefined> } };
    await until('the entry is in redis', async () => (await table.store.get(table.name, '127.0.0.1')) === first.upstream);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add((await get(gwB, `/pin/${i}`)).upstream);
    expect([...seen]).toEqual([first.upstream]);
  });

  it('the shared table is bounded by its size across gateways', async () => {
    const table = gwA.gateway.backends.get('app')!.data.get(STICK_TABLE.id) as {
      store: { set(t: string, k: string, s: string, ttl: number, max: number): Promise<void>; get(t: string, k: string): Promise<string | undefined>; size(t: string): Promise<number> };
    };
    for (const k of ['k1', 'k2', 'k3']) await table.store.set('bounded', k, 's1', 60_000, 2);
    expect(await table.store.size('bounded')).toBe(2);
    expect(await table.store.get('bounded', 'k1')).toBeUndefined();
    expect(await table.store.get('bounded', 'k3')).toBe('s1');
  });

  it('a key cleared through one gateway is stored again by the other on its next request', async () => {
    type Store = { set(t: string, k: string, s: string, ttl: number, max: number): Promise<void>; get(t: string, k: string): Promise<string | undefined>; delete(t: string, k: string): Promise<void> };
    const a = (gwA.gateway.backends.get('app')!.data.get(STICK_TABLE.id) as { store: Store }).store;
    const b = (gwB.gateway.backends.get('app')!.data.get(STICK_TABLE.id) as { store: Store }).store;
    await a.set('cleared', 'k', 's2', 60_000, 0);
    await a.set('cleared', 'k', 's2', 60_000, 0); // a refresh within expire/10: skipped
    expect(await b.get('cleared', 'k')).toBe('s2');
    await b.delete('cleared', 'k');
    expect(await a.get('cleared', 'k')).toBeUndefined();
    await a.set('cleared', 'k', 's2', 60_000, 0);
    expect(await b.get('cleared', 'k')).toBe('s2');
  });

  it('a response cached by gateway A is a HIT on gateway B', async () => {
    const miss = await get(gwA, '/cached/page');
    expect(miss.cache).toBe('MISS');
    const hitsBefore = upA.hits + upB.hits;
    await until('B serves it from the shared cache', async () => (await get(gwB, '/cached/page')).cache === 'HIT');
    const hit = await get(gwB, '/cached/page');
    expect(hit).toMatchObject({ status: 200, cache: 'HIT', body: miss.body });
    expect(upA.hits + upB.hits).toBe(hitsBefore);
  });

  it('a response no request could reuse (no freshness, no validator) is never written to Redis', async () => {
    const { Redis } = await import('ioredis');
    const cli = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await cli.connect();
      const keys = async (pattern: string): Promise<string[]> => cli.keys(`${prefix}*${pattern}*`);
      for (let i = 0; i < 3; i++) expect((await get(gwA, '/bare/p')).cache).toBe('MISS');
      expect(await get(gwA, '/cached/kept')).toMatchObject({ cache: 'MISS' });
      // The client's response ends once the object is in the store: no wait needed.
      expect(await keys('/cached/kept')).toHaveLength(1);
      expect(await keys('/bare/p')).toEqual([]);
    } finally {
      cli.disconnect();
    }
  });

  it('an object bigger than redis.cache.maxObjectSize is not stored in Redis', async () => {
    expect((await get(gwA, '/cached/big')).cache).toBe('MISS');
    await new Promise((r) => setTimeout(r, 200));
    const again = await get(gwB, '/cached/big');
    expect(again).toMatchObject({ status: 200, cache: 'MISS' });
    expect(again.body.length).toBe(8192);
  });

  it('a drain issued on A reaches B, and nothing echoes back', async () => {
    let changesOnA = 0;
    const count = (): void => void changesOnA++;
    gwA.gateway.events.on('server-change', count);
    server(gwA, 's2').setAdmin('drain', 'runtime API');
    await until('B drains s2', () => server(gwB, 's2').admin === 'drain');
    expect(gwB.logs.some((r) => r.msg === 'server state applied from another gateway' && r.from === 'gw-a')).toBe(true);
    server(gwB, 's2').setAdmin('ready', 'runtime API');
    await until('A sees s2 ready again', () => server(gwA, 's2').admin === 'ready');
    await new Promise((r) => setTimeout(r, 300));
    gwA.gateway.events.off('server-change', count);
    expect(changesOnA).toBe(2); // drain here, ready from B: no echo
    expect(server(gwB, 's2').admin).toBe('ready');
    // Health and automatic changes stay local.
    server(gwA, 's1').setWeight(7, 'slowstart');
    await new Promise((r) => setTimeout(r, 300));
    expect(server(gwB, 's1').weight).not.toBe(7);
    server(gwA, 's1').setWeight(server(gwA, 's1').config.weight ?? 1, 'slowstart');
  });

  it('a gateway that starts later learns of a drain issued before it started', async () => {
    server(gwA, 's1').setAdmin('maint', 'runtime API');
    await until('B sees it', () => server(gwB, 's1').admin === 'maint');
    const gwC = await startTestGateway(config('gw-c'));
    try {
      expect(server(gwC, 's1').admin).toBe('maint');
      expect(server(gwC, 's2').admin).toBe('ready');
    } finally {
      await gwC.stop();
      server(gwA, 's1').setAdmin('ready', 'runtime API');
      await until('B sees s1 ready', () => server(gwB, 's1').admin === 'ready');
    }
  });

  it('Redis dies: traffic is still served on local state and the logs say so; it comes back: recovery logged', async () => {
    await redis.stop();
    await until('A logs the loss', () => logged(gwA, 40, 'redis unreachable'));
    await until('B logs the loss', () => logged(gwB, 40, 'redis unreachable'));
    expect(await redisGauge()).toBe('switchyard_redis_connected 0');
    for (let i = 0; i < 6; i++) {
      expect((await get(gwA, `/down/${i}`)).status).toBe(200);
      expect((await get(gwB, `/cached/down${i % 2}`)).status).toBe(200);
    }
    // Local stickiness still holds on each gateway while Redis is away.
    const pinned = (await get(gwA, '/down/x')).upstream;
    for (let i = 0; i < 4; i++) expect((await get(gwA, `/down/y${i}`)).upstream).toBe(pinned);
    // A drain made meanwhile is published once Redis is back.
    server(gwA, 's1').setAdmin('drain', 'runtime API');

    await redis.start();
    await until('A logs the recovery', () => logged(gwA, 30, 'redis reachable again'), 10_000);
    await until('B logs the recovery', () => logged(gwB, 30, 'redis reachable again'), 10_000);
    await until('the drain made during the outage reaches B', () => server(gwB, 's1').admin === 'drain', 10_000);
    server(gwA, 's1').setAdmin('ready', 'runtime API');
    await until('B sees s1 ready', () => server(gwB, 's1').admin === 'ready');
    expect(await redisGauge()).toBe('switchyard_redis_connected 1');
    // Shared again: a fresh object stored through B is a HIT on A.
    expect((await get(gwB, '/cached/after')).cache).toBe('MISS');
    await until('A hits it', async () => (await get(gwA, '/cached/after')).cache === 'HIT');
  });
});

describe('redis-state: Redis unreachable at start-up', () => {
  it('the gateway starts within connectTimeout, serves on local state and says so', async () => {
    const up = await startUpstream();
    const gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stickiness', '@switchyard/plugin-cache', '@switchyard/plugin-redis-state'],
      redis: { port: await freePort(), connectTimeout: '300ms', retryMin: '50ms', retryMax: '200ms' },
      cache: { store: 'redis' },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { stickTable: { store: 'redis' }, servers: [{ name: 's1', address: up.address }] } },
    });
    try {
      expect(logged(gw, 40, 'redis unreachable')).toBe(true);
      for (let i = 0; i < 3; i++) expect((await request(gw.url('/'))).statusCode).toBe(200);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
