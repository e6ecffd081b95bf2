import { request } from 'undici';
import { RUNTIME_COMMAND_SLOT, type RuntimeCommand } from '@switchyard/sdk';
import type { TestGateway } from '@switchyard/sdk/testing';
import { cacheOf, purgeCache } from '@switchyard/plugin-cache';
import { startOrigin, startCachingGateway, get, sleep, type Origin, closeClient, client } from './helpers';

describe('cache: coalescing, streaming, size limits, purge', () => {
  let origin: Origin;
  let gw: TestGateway;

  beforeAll(async () => {
    origin = await startOrigin();
    gw = await startCachingGateway(origin, { maxObjectSize: '4kb', maxSize: '14kb' }, [require.resolve('./fixtures/rewrite-plugin')]);
  });
  afterAll(async () => {
    await closeClient();
    await gw?.stop();
    await origin?.upstream.close();
  });

  const serve = (path: string, body: string | Buffer, headers: Record<string, string> = { 'cache-control': 'max-age=60' }): void => {
    origin.routes.set(path, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
    });
  };

  test('coalescing: 20 concurrent misses on one URL make one origin request', async () => {
    // The origin answers only once the 19 other clients are waiting (bounded: 10 s).
    const base = cacheOf(gw.gateway).counters.coalesced;
    origin.routes.set('/slow', (_req, res) => {
      void (async () => {
        for (let i = 0; i < 500 && cacheOf(gw.gateway).counters.coalesced < base + 19; i++) await sleep(20);
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
        res.end('slow answer\n');
      })();
    });
    const results = await Promise.all(Array.from({ length: 20 }, () => get(gw.url('/slow'))));
    expect(origin.hits('/slow')).toBe(1);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.body).toBe('slow answer\n');
    }
    expect(results.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(1);
    expect(results.filter((r) => r.headers['x-cache'] === 'HIT')).toHaveLength(19);
    expect(cacheOf(gw.gateway).counters.coalesced).toBe(base + 19);
  });

  test('revalidations coalesce too: 10 concurrent requests for a stale object make one conditional request', async () => {
    let revalidationBase = Infinity;
    origin.routes.set('/slow-stale', (req, res) => {
      void (async () => {
        for (let i = 0; i < 500 && cacheOf(gw.gateway).counters.coalesced < revalidationBase + 9; i++) await sleep(20);
        if (req.headers['if-none-match'] === '"s1"') {
          res.writeHead(304, { etag: '"s1"', 'cache-control': 'max-age=60' });
          return res.end();
        }
        res.writeHead(200, { 'content-type': 'text/plain', etag: '"s1"', 'cache-control': 'max-age=60', age: '100' });
        res.end('stale then fresh\n');
      })();
    });
    revalidationBase = -Infinity; // the first (filling) request is answered at once
    await get(gw.url('/slow-stale'));
    revalidationBase = cacheOf(gw.gateway).counters.coalesced;
    const results = await Promise.all(Array.from({ length: 10 }, () => get(gw.url('/slow-stale'))));
    expect(origin.hits('/slow-stale')).toBe(2);
    expect(origin.upstream.requests.filter((r) => r.url === '/slow-stale' && r.headers['if-none-match'] === '"s1"')).toHaveLength(1);
    for (const r of results) expect(r.body).toBe('stale then fresh\n');
    expect(results.map((r) => r.headers['x-cache']).sort()).toEqual(['REVALIDATED', ...Array(9).fill('HIT')].sort());
  });

  test('respond taps after the cache (header rewrites) apply to hits as well', async () => {
    serve('/rewritten', 'r\n');
    const miss = await get(gw.url('/rewritten'));
    const hit = await get(gw.url('/rewritten'));
    expect(miss.headers['x-rewritten']).toBe('yes');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-rewritten']).toBe('yes');
  });

  test('coalescing lets waiters go to the origin when the response is not storable', async () => {
    origin.routes.set('/slow-private', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'private' });
        res.end('mine\n');
      }, 200);
    });
    const results = await Promise.all(Array.from({ length: 5 }, () => get(gw.url('/slow-private'))));
    for (const r of results) expect(r.body).toBe('mine\n');
    expect(origin.hits('/slow-private')).toBe(5);
  });

  test('a response streams to the client while it is being stored', async () => {
    let finish: (() => void) | undefined;
    origin.routes.set('/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.write('first part\n');
      finish = () => res.end('second part\n');
    });
    const res = await request(gw.url('/stream'), { dispatcher: client });
    expect(res.headers['x-cache']).toBe('MISS');
    const it = res.body[Symbol.asyncIterator]();
    const first = await it.next();
    // The client holds the first bytes while the origin has not finished the response.
    expect(Buffer.from(first.value as Buffer).toString()).toBe('first part\n');
    expect(finish).toBeDefined();
    finish!();
    let rest = '';
    for (let r = await it.next(); !r.done; r = await it.next()) rest += Buffer.from(r.value as Buffer).toString();
    expect(rest).toBe('second part\n');
    const hit = await get(gw.url('/stream'));
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toBe('first part\nsecond part\n');
    expect(origin.hits('/stream')).toBe(1);
  });

  test('a purge during a streaming miss keeps that response out of the store', async () => {
    let finish: (() => void) | undefined;
    origin.routes.set('/purged-while-streaming', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.write('old ');
      if (finish === undefined) finish = () => res.end('content\n');
      else res.end('content\n');
    });
    const res = await request(gw.url('/purged-while-streaming'), { dispatcher: client });
    const it = res.body[Symbol.asyncIterator]();
    await it.next();
    await purgeCache(gw.gateway, { url: '/purged-while-streaming' });
    finish!();
    for (let r = await it.next(); !r.done; r = await it.next());
    expect((await get(gw.url('/purged-while-streaming'))).headers['x-cache']).toBe('MISS');
  });

  test('an object over maxObjectSize is passed through whole but not stored (declared length)', async () => {
    const big = 'x'.repeat(6000);
    serve('/big', big);
    const a = await get(gw.url('/big'));
    const b = await get(gw.url('/big'));
    expect(a.body).toBe(big);
    expect(b.body).toBe(big);
    expect(b.headers['x-cache']).toBe('MISS');
    expect(origin.hits('/big')).toBe(2);
  });

  test('a chunked object that grows past maxObjectSize is dropped from the store, the client still gets it all', async () => {
    origin.routes.set('/big-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      let i = 0;
      const next = (): void => {
        if (i++ === 6) return void res.end();
        res.write('y'.repeat(1000));
        setImmediate(next);
      };
      next();
    });
    const before = cacheOf(gw.gateway).counters.tooBig;
    const a = await get(gw.url('/big-chunked'));
    expect(a.body).toBe('y'.repeat(6000));
    const b = await get(gw.url('/big-chunked'));
    expect(b.headers['x-cache']).toBe('MISS');
    expect(b.body).toBe('y'.repeat(6000));
    expect(origin.hits('/big-chunked')).toBe(2);
    expect(cacheOf(gw.gateway).counters.tooBig).toBeGreaterThan(before);
  });

  test('total size: the least recently used object is evicted first', async () => {
    // 14 kb store, 3 kb objects: four fit, a fifth evicts the least recently used.
    for (const p of ['/lru/a', '/lru/b', '/lru/c', '/lru/d', '/lru/e']) serve(p, p.slice(-1).repeat(3000));
    for (const p of ['/lru/a', '/lru/b', '/lru/c', '/lru/d']) await get(gw.url(p));
    await purgeCache(gw.gateway, { prefix: '/slow' });
    await purgeCache(gw.gateway, { prefix: '/stream' });
    await get(gw.url('/lru/a')); // a is now the most recently used; b the least
    await get(gw.url('/lru/e'));
    expect((await get(gw.url('/lru/a'))).headers['x-cache']).toBe('HIT');
    expect((await get(gw.url('/lru/b'))).headers['x-cache']).toBe('MISS');
    expect(origin.hits('/lru/a')).toBe(1);
    expect(origin.hits('/lru/b')).toBe(2);
    const { bytes } = await cacheOf(gw.gateway).store.stats();
    expect(bytes).toBeLessThanOrEqual(14 * 1024);
  });

  test('purge by URL removes every variant of that URL only', async () => {
    origin.routes.set('/purge/one', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'accept-language' });
      res.end(`one ${req.headers['accept-language']}\n`);
    });
    serve('/purge/two', 'two\n');
    await get(gw.url('/purge/one'), { 'accept-language': 'en' });
    await get(gw.url('/purge/one'), { 'accept-language': 'fr' });
    await get(gw.url('/purge/two'));
    const removed = await purgeCache(gw.gateway, { url: gw.url('/purge/one') });
    expect(removed).toBe(3); // the vary marker and two variants
    expect((await get(gw.url('/purge/one'), { 'accept-language': 'en' })).headers['x-cache']).toBe('MISS');
    expect((await get(gw.url('/purge/one'), { 'accept-language': 'fr' })).headers['x-cache']).toBe('MISS');
    expect((await get(gw.url('/purge/two'))).headers['x-cache']).toBe('HIT');
  });

  test('purge by prefix through the runtime.command slot', async () => {
    serve('/tree/1', 'one\n');
    serve('/tree/2', 'two\n');
    serve('/other', 'other\n');
    for (const p of ['/tree/1', '/tree/2', '/other']) await get(gw.url(p));
    const cmd = gw.gateway.slots.get<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'cache purge');
    expect(cmd).toBeDefined();
    expect(await cmd!.run(gw.gateway, { prefix: '/tree/' })).toEqual({ purged: 2 });
    expect((await get(gw.url('/tree/1'))).headers['x-cache']).toBe('MISS');
    expect((await get(gw.url('/tree/2'))).headers['x-cache']).toBe('MISS');
    expect((await get(gw.url('/other'))).headers['x-cache']).toBe('HIT');
    await expect(purgeCache(gw.gateway, {})).rejects.toMatchObject({ code: 'SWY_ERR_CACHE_PURGE_ARGS' });
    const stats = await gw.gateway.slots.get<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'cache stats')!.run(gw.gateway, {});
    expect(stats).toMatchObject({ hits: expect.any(Number), entries: expect.any(Number) });
  });

  test('stores only what it can reuse: no freshness and no validator is not stored, and is counted', async () => {
    const before = { ...cacheOf(gw.gateway).counters };
    const entries = async (): Promise<number> => ((await cacheOf(gw.gateway).store.stats()) as { entries: number }).entries;
    const entriesBefore = await entries();
    // A 200 without Cache-Control, Expires, Last-Modified or ETag: never fresh, never revalidatable.
    serve('/useless', 'useless\n', {});
    // The same with a validator (revalidatable) and with no-cache + ETag: both are worth keeping.
    serve('/validated', 'validated\n', { etag: '"v1"' });
    serve('/no-cache', 'no-cache\n', { 'cache-control': 'no-cache', etag: '"n1"' });
    // no-cache without a validator could only be refetched in full: not stored.
    serve('/no-cache-bare', 'bare\n', { 'cache-control': 'no-cache' });
    for (let i = 0; i < 3; i++) expect((await get(gw.url('/useless'))).headers['x-cache']).toBe('MISS');
    expect(origin.hits('/useless')).toBe(3);
    await get(gw.url('/validated'));
    await get(gw.url('/no-cache'));
    await get(gw.url('/no-cache-bare'));
    const after = cacheOf(gw.gateway).counters;
    expect(after.notReusable - before.notReusable).toBe(4);
    expect(after.stored - before.stored).toBe(2);
    expect((await entries()) - entriesBefore).toBe(2);
    // The revalidatable one is used: a conditional request, answered 200 by this origin (no 304 support).
    expect((await get(gw.url('/validated'))).status).toBe(200);
    const stats = await gw.gateway.slots.get<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'cache stats')!.run(gw.gateway, {});
    expect(stats).toMatchObject({ notReusable: after.notReusable });
  });
});
