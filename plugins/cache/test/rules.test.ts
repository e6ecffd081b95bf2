import { startOrigin, startCachingGateway, get, sleep, type Origin, closeClient } from './helpers';
import type { TestGateway } from '@switchyard/sdk/testing';

/** RFC 9111 rules as a client sees them, against an origin that counts its requests. */
describe('cache: RFC 9111 rules', () => {
  let origin: Origin;
  let gw: TestGateway;

  beforeAll(async () => {
    origin = await startOrigin();
    gw = await startCachingGateway(origin);
  });
  afterAll(async () => {
    await closeClient();
    await gw?.stop();
    await origin?.upstream.close();
  });

  const serve = (path: string, headers: Record<string, string>, body = `body of ${path}\n`, status = 200): void => {
    origin.routes.set(path, (_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    });
  };

  test('max-age: the second request is a HIT with an Age header, the origin is asked once', async () => {
    serve('/max-age', { 'cache-control': 'max-age=60' });
    const a = await get(gw.url('/max-age'));
    const b = await get(gw.url('/max-age'));
    expect(a.headers['x-cache']).toBe('MISS');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(b.body).toBe('body of /max-age\n');
    expect(Number(b.headers.age)).toBeGreaterThanOrEqual(0);
    expect(origin.hits('/max-age')).toBe(1);
  });

  test('s-maxage makes a response fresh for a shared cache even with max-age=0', async () => {
    serve('/s-maxage', { 'cache-control': 'max-age=0, s-maxage=60' });
    await get(gw.url('/s-maxage'));
    const b = await get(gw.url('/s-maxage'));
    expect(b.headers['x-cache']).toBe('HIT');
    expect(origin.hits('/s-maxage')).toBe(1);
  });

  test('the origin Age counts: max-age=10 with Age: 20 is already stale', async () => {
    serve('/aged', { 'cache-control': 'max-age=10', age: '20' });
    await get(gw.url('/aged'));
    const b = await get(gw.url('/aged'));
    expect(b.headers['x-cache']).toBe('MISS');
    expect(origin.hits('/aged')).toBe(2);
  });

  test('no-store and private responses are never stored', async () => {
    serve('/no-store', { 'cache-control': 'no-store, max-age=60' });
    serve('/private', { 'cache-control': 'private, max-age=60' });
    for (let i = 0; i < 3; i++) {
      expect((await get(gw.url('/no-store'))).headers['x-cache']).toBe('MISS');
      expect((await get(gw.url('/private'))).headers['x-cache']).toBe('MISS');
    }
    expect(origin.hits('/no-store')).toBe(3);
    expect(origin.hits('/private')).toBe(3);
  });

  test('a request with Cache-Control: no-store is neither answered nor stored', async () => {
    serve('/req-no-store', { 'cache-control': 'max-age=60' });
    await get(gw.url('/req-no-store'), { 'cache-control': 'no-store' });
    const b = await get(gw.url('/req-no-store'));
    expect(b.headers['x-cache']).toBe('MISS');
    expect(origin.hits('/req-no-store')).toBe(2);
  });

  test('Expires: a future date is fresh, a past one is not', async () => {
    serve('/expires-future', { expires: new Date(Date.now() + 3_600_000).toUTCString(), date: new Date().toUTCString() });
    serve('/expires-past', { expires: new Date(Date.now() - 3_600_000).toUTCString(), date: new Date().toUTCString() });
    await get(gw.url('/expires-future'));
    await get(gw.url('/expires-past'));
    expect((await get(gw.url('/expires-future'))).headers['x-cache']).toBe('HIT');
    expect((await get(gw.url('/expires-past'))).headers['x-cache']).toBe('MISS');
    expect(origin.hits('/expires-future')).toBe(1);
    expect(origin.hits('/expires-past')).toBe(2);
  });

  test('authenticated requests: not stored unless the response says public or s-maxage', async () => {
    serve('/auth-plain', { 'cache-control': 'max-age=60' });
    serve('/auth-public', { 'cache-control': 'public, max-age=60' });
    const auth = { authorization: 'Bearer secret' };
    await get(gw.url('/auth-plain'), auth);
    await get(gw.url('/auth-public'), auth);
    expect((await get(gw.url('/auth-plain'), auth)).headers['x-cache']).toBe('MISS');
    expect((await get(gw.url('/auth-public'), auth)).headers['x-cache']).toBe('HIT');
    expect(origin.hits('/auth-plain')).toBe(2);
    expect(origin.hits('/auth-public')).toBe(1);
  });

  test('Set-Cookie responses are not stored by default', async () => {
    serve('/cookie', { 'cache-control': 'max-age=60', 'set-cookie': 'sid=abc' });
    await get(gw.url('/cookie'));
    expect((await get(gw.url('/cookie'))).headers['x-cache']).toBe('MISS');
    expect(origin.hits('/cookie')).toBe(2);
  });

  test('Vary: several variants of one URL are stored side by side', async () => {
    origin.routes.set('/vary', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', vary: 'Accept-Language' });
      res.end(`hello in ${req.headers['accept-language'] ?? 'none'}\n`);
    });
    const langs = ['en', 'fr', 'de'];
    for (const l of langs) expect((await get(gw.url('/vary'), { 'accept-language': l })).headers['x-cache']).toBe('MISS');
    for (const l of langs) {
      const r = await get(gw.url('/vary'), { 'accept-language': l });
      expect(r.headers['x-cache']).toBe('HIT');
      expect(r.body).toBe(`hello in ${l}\n`);
    }
    expect(origin.hits('/vary')).toBe(3);
    expect((await get(gw.url('/vary'))).body).toBe('hello in none\n');
    expect(origin.hits('/vary')).toBe(4);
  });

  test('Vary: * is never stored', async () => {
    serve('/vary-star', { 'cache-control': 'max-age=60', vary: '*' });
    await get(gw.url('/vary-star'));
    await get(gw.url('/vary-star'));
    expect(origin.hits('/vary-star')).toBe(2);
  });

  test('ETag revalidation: no-cache objects are checked with If-None-Match, a 304 serves the stored body', async () => {
    let version = 'v1';
    origin.routes.set('/etag', (req, res) => {
      const etag = `"${version}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag, 'cache-control': 'no-cache' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/plain', etag, 'cache-control': 'no-cache' });
      res.end(`content ${version}\n`);
    });
    const a = await get(gw.url('/etag'));
    expect(a.headers['x-cache']).toBe('MISS');
    const b = await get(gw.url('/etag'));
    expect(b.headers['x-cache']).toBe('REVALIDATED');
    expect(b.status).toBe(200);
    expect(b.body).toBe('content v1\n');
    expect(origin.upstream.requests.at(-1)!.headers['if-none-match']).toBe('"v1"');
    version = 'v2';
    const c = await get(gw.url('/etag'));
    expect(c.headers['x-cache']).toBe('MISS');
    expect(c.body).toBe('content v2\n');
    const d = await get(gw.url('/etag'));
    expect(d.headers['x-cache']).toBe('REVALIDATED');
    expect(d.body).toBe('content v2\n');
    expect(origin.hits('/etag')).toBe(4);
  });

  test('Last-Modified revalidation uses If-Modified-Since', async () => {
    const lastModified = new Date(Date.now() - 86_400_000).toUTCString();
    origin.routes.set('/lm', (req, res) => {
      if (req.headers['if-modified-since'] === lastModified) {
        res.writeHead(304, { 'last-modified': lastModified, 'cache-control': 'max-age=0' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': lastModified, 'cache-control': 'max-age=0' });
      res.end('dated\n');
    });
    await get(gw.url('/lm'));
    const b = await get(gw.url('/lm'));
    expect(b.headers['x-cache']).toBe('REVALIDATED');
    expect(b.body).toBe('dated\n');
    expect(origin.upstream.requests.at(-1)!.headers['if-modified-since']).toBe(lastModified);
  });

  test('a client conditional request gets a 304 from the cache without asking the origin', async () => {
    serve('/cond', { 'cache-control': 'max-age=60', etag: '"abc"', 'last-modified': new Date(Date.now() - 60_000).toUTCString() });
    await get(gw.url('/cond'));
    const inm = await get(gw.url('/cond'), { 'if-none-match': 'W/"abc"' });
    expect(inm.status).toBe(304);
    expect(inm.body).toBe('');
    expect(inm.headers.etag).toBe('"abc"');
    const ims = await get(gw.url('/cond'), { 'if-modified-since': new Date().toUTCString() });
    expect(ims.status).toBe(304);
    const other = await get(gw.url('/cond'), { 'if-none-match': '"other"' });
    expect(other.status).toBe(200);
    expect(origin.hits('/cond')).toBe(1);
  });

  test('a revalidated object answers the client conditional with 304', async () => {
    origin.routes.set('/cond-reval', (req, res) => {
      if (req.headers['if-none-match'] === '"r1"') {
        res.writeHead(304, { etag: '"r1"', 'cache-control': 'no-cache' });
        return res.end();
      }
      res.writeHead(200, { etag: '"r1"', 'cache-control': 'no-cache' });
      res.end('r1\n');
    });
    await get(gw.url('/cond-reval'));
    const r = await get(gw.url('/cond-reval'), { 'if-none-match': '"r1"' });
    expect(r.status).toBe(304);
    expect(r.headers['x-cache']).toBe('REVALIDATED');
    expect(origin.hits('/cond-reval')).toBe(2);
  });

  test('a client Cache-Control: no-cache forces a revalidation', async () => {
    serve('/client-no-cache', { 'cache-control': 'max-age=60', etag: '"n1"' });
    await get(gw.url('/client-no-cache'));
    await get(gw.url('/client-no-cache'), { 'cache-control': 'no-cache' });
    expect(origin.hits('/client-no-cache')).toBe(2);
    expect(origin.upstream.requests.at(-1)!.headers['if-none-match']).toBe('"n1"');
  });

  test('stale-while-revalidate: a stale object is served at once and refreshed in the background', async () => {
    let n = 0;
    origin.routes.set('/swr', (_req, res) => {
      n++;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=1, stale-while-revalidate=60', age: '5' });
      res.end(`swr ${n}\n`);
    });
    await get(gw.url('/swr'));
    const b = await get(gw.url('/swr'));
    expect(b.headers['x-cache']).toBe('STALE');
    expect(b.body).toBe('swr 1\n');
    for (let i = 0; i < 100 && origin.hits('/swr') < 2; i++) await sleep(20);
    expect(origin.hits('/swr')).toBe(2);
    // The refreshed object (also born stale because of Age: 5) replaced the old one.
    for (let i = 0; i < 50; i++) {
      const c = await get(gw.url('/swr'));
      if (c.body === 'swr 2\n') break;
      await sleep(20);
    }
    expect(origin.hits('/swr')).toBeGreaterThanOrEqual(2);
  });

  test('stale-if-error: a 5xx from the origin is replaced by the stale object', async () => {
    let fail = false;
    origin.routes.set('/sie', (_req, res) => {
      if (fail) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end('down\n');
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=1, stale-if-error=600', age: '5' });
      res.end('still good\n');
    });
    await get(gw.url('/sie'));
    fail = true;
    const b = await get(gw.url('/sie'));
    expect(b.status).toBe(200);
    expect(b.headers['x-cache']).toBe('STALE');
    expect(b.body).toBe('still good\n');
    expect(origin.hits('/sie')).toBe(2);
  });

  test('must-revalidate: a stale object is never served on error, fresh ones are hits', async () => {
    let fail = false;
    origin.routes.set('/mr', (_req, res) => {
      if (fail) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end('down\n');
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=1, must-revalidate, stale-if-error=600, stale-while-revalidate=600', age: '5' });
      res.end('strict\n');
    });
    origin.routes.set('/mr-fresh', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60, must-revalidate' });
      res.end('fresh strict\n');
    });
    await get(gw.url('/mr'));
    fail = true;
    const b = await get(gw.url('/mr'));
    expect(b.status).toBe(503);
    expect(b.headers['x-cache']).toBe('MISS');
    await get(gw.url('/mr-fresh'));
    expect((await get(gw.url('/mr-fresh'))).headers['x-cache']).toBe('HIT');
    expect(origin.hits('/mr-fresh')).toBe(1);
  });

  test('only-if-cached: a hit is served, a miss is a 504 without asking the origin', async () => {
    serve('/oic', { 'cache-control': 'max-age=60' });
    const miss = await get(gw.url('/oic'), { 'cache-control': 'only-if-cached' });
    expect(miss.status).toBe(504);
    expect(origin.hits('/oic')).toBe(0);
    await get(gw.url('/oic'));
    const hit = await get(gw.url('/oic'), { 'cache-control': 'only-if-cached' });
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(origin.hits('/oic')).toBe(1);
  });

  test('HEAD is answered from a stored GET; other methods pass through', async () => {
    serve('/head', { 'cache-control': 'max-age=60' });
    await get(gw.url('/head'));
    const h = await get(gw.url('/head'), {}, 'HEAD');
    expect(h.headers['x-cache']).toBe('HIT');
    expect(h.headers['content-length']).toBe(String('body of /head\n'.length));
    expect(h.body).toBe('');
    const p = await get(gw.url('/head'), { 'content-type': 'text/plain' }, 'POST');
    expect(p.headers['x-cache']).toBeUndefined();
    expect(origin.hits('/head')).toBe(2);
  });

  test('Range requests bypass the cache', async () => {
    serve('/range', { 'cache-control': 'max-age=60' });
    await get(gw.url('/range'));
    const r = await get(gw.url('/range'), { range: 'bytes=0-3' });
    expect(r.headers['x-cache']).toBeUndefined();
    expect(origin.hits('/range')).toBe(2);
  });
});
