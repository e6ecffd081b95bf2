import * as zlib from 'node:zlib';
import { request } from 'undici';
import type { TestGateway } from '@switchyard/sdk/testing';
import { startOrigin, startCachingGateway, type Origin, closeClient, client } from './helpers';

const TEXT = 'cacheable and compressible text\n'.repeat(200);

/** The cache stores what compression produced: one variant per Accept-Encoding. */
describe('cache with compression', () => {
  let origin: Origin;
  let gw: TestGateway;

  beforeAll(async () => {
    origin = await startOrigin();
    origin.routes.set('/doc', (req, res) => {
      if (req.headers['if-none-match'] === 'W/"d1"' || req.headers['if-none-match'] === '"d1"') {
        res.writeHead(304, { etag: '"d1"', 'cache-control': 'max-age=60' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/plain', etag: '"d1"', 'cache-control': 'max-age=60', 'content-length': String(TEXT.length) });
      res.end(TEXT);
    });
    origin.routes.set('/checked', (req, res) => {
      if (req.headers['if-none-match'] === 'W/"c1"' || req.headers['if-none-match'] === '"c1"') {
        res.writeHead(304, { etag: '"c1"', 'cache-control': 'no-cache' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/plain', etag: '"c1"', 'cache-control': 'no-cache' });
      res.end(TEXT);
    });
    gw = await startCachingGateway(origin, {}, ['@switchyard/plugin-compression']);
  });
  afterAll(async () => {
    await closeClient();
    await gw?.stop();
    await origin?.upstream.close();
  });

  async function fetchDoc(headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const res = await request(gw.url('/doc'), { headers, dispatcher: client });
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  }

  test('gzip and br variants are stored apart and replayed compressed; identity clients get identity', async () => {
    const g1 = await fetchDoc({ 'accept-encoding': 'gzip' });
    const g2 = await fetchDoc({ 'accept-encoding': 'gzip' });
    expect(g1.headers['x-cache']).toBe('MISS');
    expect(g2.headers['x-cache']).toBe('HIT');
    expect(g2.headers['content-encoding']).toBe('gzip');
    expect(g2.headers.etag).toBe('W/"d1"');
    expect(zlib.gunzipSync(g2.body).toString()).toBe(TEXT);
    const b1 = await fetchDoc({ 'accept-encoding': 'br' });
    const b2 = await fetchDoc({ 'accept-encoding': 'br' });
    expect(b1.headers['x-cache']).toBe('MISS');
    expect(b2.headers['x-cache']).toBe('HIT');
    expect(zlib.brotliDecompressSync(b2.body).toString()).toBe(TEXT);
    const i1 = await fetchDoc({});
    const i2 = await fetchDoc({});
    expect(i2.headers['x-cache']).toBe('HIT');
    expect(i2.headers['content-encoding']).toBeUndefined();
    expect(i2.body.toString()).toBe(TEXT);
    expect(i1.headers['content-length']).toBe(String(TEXT.length));
    expect(origin.hits('/doc')).toBe(3);
  });

  test('a weak-ETag conditional from the client is answered 304 by the cache', async () => {
    const r = await fetchDoc({ 'accept-encoding': 'gzip', 'if-none-match': 'W/"d1"' });
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    expect(origin.hits('/doc')).toBe(3);
  });

  test('a revalidated compressed variant keeps its weak ETag and its compressed body', async () => {
    const miss = await request(gw.url('/checked'), { headers: { 'accept-encoding': 'gzip' }, dispatcher: client });
    await miss.body.arrayBuffer();
    const res = await request(gw.url('/checked'), { headers: { 'accept-encoding': 'gzip' }, dispatcher: client });
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(res.headers['x-cache']).toBe('REVALIDATED');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers.etag).toBe('W/"c1"');
    expect(zlib.gunzipSync(body).toString()).toBe(TEXT);
    expect(origin.upstream.requests.at(-1)!.headers['if-none-match']).toBe('W/"c1"');
  });
});
