import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Agent, request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const run = promisify(execFile);

/** Text that compresses well but is not trivial: 20 kB of numbered lines. */
const TEXT = Array.from({ length: 600 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join('');

const decoders: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gunzipSync(b),
  deflate: (b) => zlib.inflateSync(b),
  br: (b) => zlib.brotliDecompressSync(b),
};

const client = new Agent({ keepAliveTimeout: 1000 });

async function fetchRaw(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const res = await request(url, { method, headers, dispatcher: client });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

describe('compression', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream({
      handler: (req, res) => {
        req.resume();
        const url = req.url ?? '/';
        const base = { 'content-type': 'text/plain; charset=utf-8', etag: '"v1"' };
        switch (url) {
          case '/text':
            res.writeHead(200, { ...base, 'content-length': String(Buffer.byteLength(TEXT)), 'accept-ranges': 'bytes' });
            return void res.end(req.method === 'HEAD' ? undefined : TEXT);
          case '/json':
            res.writeHead(200, { 'content-type': 'application/problem+json', vary: 'Origin' });
            return void res.end(JSON.stringify({ text: TEXT }));
          case '/chunked': {
            res.writeHead(200, { 'content-type': 'text/html' });
            let i = 0;
            const next = (): void => {
              if (i === 50) return void res.end();
              res.write(`<p>${i++} ${TEXT.slice(0, 2000)}</p>\n`);
              setImmediate(next);
            };
            return next();
          }
          case '/small':
            res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
            return void res.end('tiny\n');
          case '/png':
            res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(TEXT.length) });
            return void res.end(TEXT);
          case '/encoded': {
            const gz = zlib.gzipSync(TEXT);
            res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': String(gz.length) });
            return void res.end(gz);
          }
          case '/events':
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            return void res.end(TEXT);
          case '/no-transform':
            res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-transform' });
            return void res.end(TEXT);
          case '/204':
            res.writeHead(204, { 'content-type': 'text/plain' });
            return void res.end();
          case '/304':
            res.writeHead(304, { 'content-type': 'text/plain', etag: '"v1"' });
            return void res.end();
          case '/range':
            if (req.headers.range) {
              res.writeHead(206, { 'content-type': 'text/plain', 'content-range': `bytes 0-9/${TEXT.length}`, 'content-length': '10' });
              return void res.end(TEXT.slice(0, 10));
            }
            res.writeHead(200, { 'content-type': 'text/plain' });
            return void res.end(TEXT);
          default:
            res.writeHead(404);
            return void res.end();
        }
      },
    });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-compression'],
      global: { logLevel: 'warn' },
      frontends: { web: { mode: 'http', bind: [{ host: '127.0.0.1', port: 0 }], defaultBackend: 'app' } },
      backends: { app: { mode: 'http', servers: [{ name: 'a', address: up.address }] } },
    });
  });
  afterAll(async () => {
    await client.close();
    await gw?.stop();
    await up?.close();
  });

  test.each(['gzip', 'deflate', 'br'])('%s round trip with undici, decoded by hand', async (encoding) => {
    const r = await fetchRaw(gw.url('/text'), { 'accept-encoding': encoding });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe(encoding);
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers['accept-ranges']).toBeUndefined();
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers.etag).toBe('W/"v1"');
    expect(r.body.length).toBeLessThan(TEXT.length / 4);
    expect(decoders[encoding]!(r.body).toString()).toBe(TEXT);
  });

  test.each(['gzip', 'deflate', 'br'])('%s round trip with curl --compressed (streamed, chunked origin)', async (encoding) => {
    const { stdout } = await run('curl', ['-sS', '--compressed', '-H', `Accept-Encoding: ${encoding}`, '-D', '-', gw.url('/chunked')], {
      maxBuffer: 10 * 1024 * 1024,
      encoding: 'utf8',
    });
    const split = stdout.indexOf('\r\n\r\n');
    expect(stdout.slice(0, split).toLowerCase()).toContain(`content-encoding: ${encoding}`);
    const expected = Array.from({ length: 50 }, (_, i) => `<p>${i} ${TEXT.slice(0, 2000)}</p>\n`).join('');
    expect(stdout.slice(split + 4)).toBe(expected);
  });

  test('curl --compressed with its own Accept-Encoding gets a compressed body it can read', async () => {
    const { stdout } = await run('curl', ['-sS', '--compressed', '-D', '-', gw.url('/text')], { encoding: 'utf8', maxBuffer: 1 << 22 });
    const [head, body] = [stdout.slice(0, stdout.indexOf('\r\n\r\n')), stdout.slice(stdout.indexOf('\r\n\r\n') + 4)];
    expect(head.toLowerCase()).toMatch(/content-encoding: (br|gzip|deflate)/);
    expect(body).toBe(TEXT);
  });

  test('a streamed (chunked) response is compressed too, and a structured +json type matches', async () => {
    const r = await fetchRaw(gw.url('/json'), { 'accept-encoding': 'gzip' });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers.vary).toBe('Origin, Accept-Encoding');
    expect(JSON.parse(zlib.gunzipSync(r.body).toString())).toEqual({ text: TEXT });
  });

  test.each([
    ['gzip;q=0.5, br;q=0.9', 'br'],
    ['gzip;q=1, br;q=0.1', 'gzip'],
    ['deflate;q=0.8, gzip;q=0.2', 'deflate'],
    ['gzip, br', 'br'],
    ['*;q=0.5', 'br'],
    ['*, br;q=0', 'gzip'],
    ['br;q=0, gzip;q=0, deflate;q=0', undefined],
    ['identity', undefined],
    ['compress', undefined],
  ])('Accept-Encoding %j → %s', async (accept, expected) => {
    const r = await fetchRaw(gw.url('/text'), { 'accept-encoding': accept });
    expect(r.headers['content-encoding']).toBe(expected);
    const body = expected === undefined ? r.body : decoders[expected]!(r.body);
    expect(body.toString()).toBe(TEXT);
  });

  test('no Accept-Encoding: identity, still Vary: Accept-Encoding', async () => {
    const r = await fetchRaw(gw.url('/text'));
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers['content-length']).toBe(String(TEXT.length));
    expect(r.headers.etag).toBe('"v1"');
  });

  test('never compressed: already encoded, HEAD, 204, 304, ranges, small, other types, no-transform', async () => {
    const ae = { 'accept-encoding': 'gzip, br' };
    const encoded = await fetchRaw(gw.url('/encoded'), ae);
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(encoded.body).toString()).toBe(TEXT); // not compressed twice
    const head = await fetchRaw(gw.url('/text'), ae, 'HEAD');
    expect(head.headers['content-encoding']).toBeUndefined();
    expect(head.headers['content-length']).toBe(String(TEXT.length));
    expect((await fetchRaw(gw.url('/204'), ae)).headers['content-encoding']).toBeUndefined();
    expect((await fetchRaw(gw.url('/304'), ae)).headers['content-encoding']).toBeUndefined();
    const range = await fetchRaw(gw.url('/range'), { ...ae, range: 'bytes=0-9' });
    expect(range.status).toBe(206);
    expect(range.headers['content-encoding']).toBeUndefined();
    expect(range.body.toString()).toBe(TEXT.slice(0, 10));
    expect((await fetchRaw(gw.url('/small'), ae)).headers['content-encoding']).toBeUndefined();
    const png = await fetchRaw(gw.url('/png'), ae);
    expect(png.headers['content-encoding']).toBeUndefined();
    expect(png.headers.vary).toBeUndefined();
    expect((await fetchRaw(gw.url('/no-transform'), ae)).headers['content-encoding']).toBeUndefined();
    expect((await fetchRaw(gw.url('/events'), ae)).headers['content-encoding']).toBeUndefined();
  });
});
