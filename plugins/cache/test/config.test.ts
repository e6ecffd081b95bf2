import * as net from 'node:net';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { startOrigin, get, sleep, type Origin, closeClient } from './helpers';

describe('cache: configuration and incomplete responses', () => {
  let origin: Origin;
  let gw: TestGateway;

  beforeAll(async () => {
    origin = await startOrigin();
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-cache'],
      global: { logLevel: 'error' },
      cache: { statusHeader: 'X-Edge-Cache', heuristic: 0.1, lockTimeout: '60s' },
      frontends: {
        cached: { mode: 'http', bind: [{ host: '127.0.0.1', port: 0 }], defaultBackend: 'app' },
        direct: { mode: 'http', bind: [{ host: '127.0.0.1', port: 0 }], defaultBackend: 'app', cache: false },
      },
      backends: { app: { mode: 'http', servers: [{ name: 'a', address: origin.upstream.address }] } },
    });
  });
  afterAll(async () => {
    await closeClient();
    await gw?.stop();
    await origin?.upstream.close();
  });

  test('statusHeader names the header; a frontend with cache: false never uses the cache', async () => {
    origin.routes.set('/conf', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('conf\n');
    });
    await get(gw.url('/conf', 'cached'));
    const hit = await get(gw.url('/conf', 'cached'));
    expect(hit.headers['x-edge-cache']).toBe('HIT');
    expect(hit.headers['x-cache']).toBeUndefined();
    const d1 = await get(gw.url('/conf', 'direct'));
    const d2 = await get(gw.url('/conf', 'direct'));
    expect(d1.headers['x-edge-cache']).toBeUndefined();
    expect(d2.headers['x-edge-cache']).toBeUndefined();
    expect(origin.hits('/conf')).toBe(3);
  });

  test('heuristic freshness from Last-Modified when the response states none', async () => {
    origin.routes.set('/heuristic', (_req, res) => {
      res.writeHead(200, { 'last-modified': new Date(Date.now() - 10 * 86_400_000).toUTCString(), date: new Date().toUTCString() });
      res.end('old file\n');
    });
    await get(gw.url('/heuristic', 'cached'));
    expect((await get(gw.url('/heuristic', 'cached'))).headers['x-edge-cache']).toBe('HIT');
    expect(origin.hits('/heuristic')).toBe(1);
  });

  test('a response cut by the server half-way is not stored', async () => {
    origin.routes.set('/cut', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '100' });
      res.write('only part of it');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await get(gw.url('/cut', 'cached')).catch(() => undefined);
    await sleep(50);
    await get(gw.url('/cut', 'cached')).catch(() => undefined);
    expect(origin.hits('/cut')).toBe(2);
  });

  test('a response whose client went away is not stored, and the clients waiting for it are let go', async () => {
    const { cacheOf } = await import('@switchyard/plugin-cache');
    let release: (() => void) | undefined;
    origin.routes.set('/abandoned', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.write('start ');
      if (release === undefined) release = () => res.end('end\n');
      else res.end('end\n');
    });
    const client = net.connect({ host: '127.0.0.1', port: gw.port('cached') });
    client.write(`GET /abandoned HTTP/1.1\r\nhost: 127.0.0.1:${gw.port('cached')}\r\n\r\n`);
    await new Promise<void>((resolve) => client.once('data', () => resolve()));
    // A second client misses the same URL and waits for the first one's response (lockTimeout is 60 s).
    const coalesced = cacheOf(gw.gateway).counters.coalesced;
    const waiting = get(gw.url('/abandoned', 'cached'));
    for (let i = 0; i < 200 && cacheOf(gw.gateway).counters.coalesced === coalesced; i++) await sleep(10);
    expect(cacheOf(gw.gateway).counters.coalesced).toBe(coalesced + 1);
    client.destroy();
    const next = await waiting;
    expect(next.headers['x-edge-cache']).toBe('MISS');
    expect(next.body).toBe('start end\n');
    expect(origin.hits('/abandoned')).toBe(2);
    release?.();
  });

  test('cache stats counts what happened', async () => {
    const { cacheOf } = await import('@switchyard/plugin-cache');
    const c = cacheOf(gw.gateway).counters;
    expect(c.hits).toBeGreaterThanOrEqual(2);
    expect(c.stored).toBeGreaterThanOrEqual(2);
    expect(c.misses).toBeGreaterThanOrEqual(4);
  });
});

describe('cache: an unknown store', () => {
  test('fails the start with SWY_ERR_CACHE_STORE_UNKNOWN', async () => {
    await expect(
      startTestGateway({
        plugins: ['@switchyard/preset-standard', '@switchyard/plugin-cache'],
        global: { logLevel: 'silent' },
        cache: { store: 'nowhere' },
        frontends: { web: { mode: 'http', bind: [{ host: '127.0.0.1', port: 0 }], defaultBackend: 'app' } },
        backends: { app: { mode: 'http', servers: [{ name: 'a', address: '127.0.0.1:9' }] } },
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_CACHE_STORE_UNKNOWN' });
  });
});
