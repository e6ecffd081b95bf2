/**
 * `rules: haproxy` (what a haproxy.cfg with `compression algo/type` adapts to), through a real
 * gateway adapted from a haproxy.cfg and a real upstream: HAProxy 2.6's choices, as
 * flt_http_comp.c makes them — the algorithm from Accept-Encoding q-values in config order,
 * types as Content-Type prefixes, 200–203 only, no malformed or repeated ETag, no old
 * Mozilla/4 browsers, no HTTP/1.0 requests, Vary added only when compressing, no minimum size.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Agent, request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const BODY = 'x'.repeat(100);
const client = new Agent({ keepAliveTimeout: 1000 });

describe('compression rules: haproxy (from haproxy.cfg)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let port: number;
  let plainPort: number;
  let dir: string;

  beforeAll(async () => {
    up = await startUpstream({
      handler: (req, res) => {
        req.resume();
        const url = req.url ?? '/';
        const [kind, arg] = url.slice(1).split('/');
        const headers: Record<string, string | string[]> = { 'content-type': 'text/plain', 'content-length': String(BODY.length) };
        let status = 200;
        if (kind === 'type') headers['content-type'] = decodeURIComponent(arg!);
        if (kind === 'etag') headers.etag = decodeURIComponent(arg!);
        if (kind === 'etags') headers.etag = ['"one"', '"two"'];
        if (kind === 'status') status = Number(arg);
        if (kind === 'vary') headers.vary = 'Origin';
        res.writeHead(status, headers);
        res.end(BODY);
      },
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-comp-'));
    [port, plainPort] = [await freePort(), await freePort()];
    const cfg =
      `defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n` +
      `frontend fe\n  bind 127.0.0.1:${port}\n  default_backend be\n` +
      `frontend plain\n  bind 127.0.0.1:${plainPort}\n  default_backend none\n` +
      `backend be\n  compression algo deflate gzip\n  compression type text/plain text/html application/\n  server s ${up.address}\n` +
      `backend none\n  server s ${up.address}\n`;
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, cfg);
    gw = await startTestGateway(cfg, { file });
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    await client.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function get(p: string, headers: Record<string, string> = { 'accept-encoding': 'gzip' }, at = port): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const res = await request(`http://127.0.0.1:${at}${p}`, { headers, dispatcher: client });
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  }

  it('compresses a 100-byte body (no minimum size), adds Vary and drops Content-Length', async () => {
    const r = await get('/plain');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers['content-length']).toBeUndefined();
    expect(zlib.gunzipSync(r.body).toString()).toBe(BODY);
  });

  it('picks the algorithm by q-value, then the client\'s order; * takes the first configured', async () => {
    expect((await get('/plain', { 'accept-encoding': 'gzip;q=0.5, deflate;q=0.8' })).headers['content-encoding']).toBe('deflate');
    expect((await get('/plain', { 'accept-encoding': 'gzip, deflate' })).headers['content-encoding']).toBe('gzip');
    expect((await get('/plain', { 'accept-encoding': '*' })).headers['content-encoding']).toBe('deflate');
  });

  it('no usable algorithm, no Vary (HAProxy adds it only when it compresses)', async () => {
    const r = await get('/plain', { 'accept-encoding': 'invalid' });
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.headers.vary).toBeUndefined();
    expect(r.body.toString()).toBe(BODY);
    expect((await get('/plain', {})).headers.vary).toBeUndefined();
  });

  it('types are Content-Type prefixes; multipart and unlisted types stay as they are', async () => {
    expect((await get(`/type/${encodeURIComponent('application/json; charset=utf-8')}`)).headers['content-encoding']).toBe('gzip');
    expect((await get(`/type/${encodeURIComponent('text/plainish')}`)).headers['content-encoding']).toBe('gzip');
    expect((await get(`/type/${encodeURIComponent('image/png')}`)).headers['content-encoding']).toBeUndefined();
    expect((await get(`/type/${encodeURIComponent('text/css')}`)).headers.vary).toBeUndefined();
  });

  it('a strong ETag becomes weak; a malformed ETag or two ETags prevent compression', async () => {
    const strong = await get(`/etag/${encodeURIComponent('"123"')}`);
    expect(strong.headers['content-encoding']).toBe('gzip');
    expect(strong.headers.etag).toBe('W/"123"');
    const weak = await get(`/etag/${encodeURIComponent('W/"456"')}`);
    expect(weak.headers.etag).toBe('W/"456"');
    const bad = await get(`/etag/${encodeURIComponent('"invalid')}`);
    expect(bad.headers['content-encoding']).toBeUndefined();
    expect(bad.headers.etag).toBe('"invalid');
  });

  it('only 200–203 responses are compressed', async () => {
    expect((await get('/status/203')).headers['content-encoding']).toBe('gzip');
    expect((await get('/status/404')).headers['content-encoding']).toBeUndefined();
  });

  it('an old Mozilla/4 browser gets no compression, MSIE 7 does', async () => {
    expect((await get('/plain', { 'accept-encoding': 'gzip', 'user-agent': 'Mozilla/4' })).headers['content-encoding']).toBeUndefined();
    const msie7 = 'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)';
    expect((await get('/plain', { 'accept-encoding': 'gzip', 'user-agent': msie7 })).headers['content-encoding']).toBe('gzip');
  });

  it('an existing Vary keeps its value and gains Accept-Encoding', async () => {
    const r = await get('/vary');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(String(r.headers.vary)).toMatch(/^Origin,\s*Accept-Encoding$/);
  });

  it('a frontend whose backend has no compression line does not compress', async () => {
    const r = await get('/plain', { 'accept-encoding': 'gzip' }, plainPort);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.headers.vary).toBeUndefined();
  });
});
