/**
 * HAProxy's cache-use / cache-store in backends, through a gateway adapted from a real
 * haproxy.cfg and a real upstream: the lookup runs once the backend is chosen, so the
 * backend's http-response rules see hits (res.cache_hit, res.cache_name); a frontend
 * reaching an uncached backend does not cache it; a successful POST invalidates the entry.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

describe('cache in haproxy.cfg backends', () => {
  let up: Upstream;
  let gw: TestGateway;
  let port: number;
  let dir: string;
  const served: string[] = [];

  beforeAll(async () => {
    let n = 0;
    up = await startUpstream({
      handler: (req, res) => {
        req.resume();
        served.push(`${req.method} ${req.url}`);
        res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
        res.end(`body ${++n}`);
      },
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-cache-be-'));
    port = await freePort();
    const cfg =
      `defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n` +
      `frontend fe\n  bind 127.0.0.1:${port}\n  use_backend nocache if { path_beg /nocache }\n  default_backend cached\n` +
      `backend cached\n  http-request cache-use c1\n  server s ${up.address}\n  http-response cache-store c1\n` +
      `  http-response set-header x-hit %[res.cache_hit]\n  http-response set-header x-name %[res.cache_name]\n` +
      `backend nocache\n  server s ${up.address}\n  http-response set-header x-hit %[res.cache_hit]\n` +
      // the section after its users, as HAProxy allows
      `cache c1\n  total-max-size 4\n  max-object-size 10000\n`;
    fs.writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
    gw = await startTestGateway(cfg, { file: path.join(dir, 'haproxy.cfg') });
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function get(p: string, method = 'GET'): Promise<{ hit: unknown; name: unknown; body: string }> {
    const r = await request(`http://127.0.0.1:${port}${p}`, { method, body: method === 'POST' ? 'x' : undefined });
    return { hit: r.headers['x-hit'], name: r.headers['x-name'], body: await r.body.text() };
  }

  it('a hit is answered from the cache and the backend\'s response rules see it', async () => {
    expect(await get('/a')).toEqual({ hit: '0', name: '', body: 'body 1' });
    expect(await get('/a')).toEqual({ hit: '1', name: 'c1', body: 'body 1' });
    expect(served.filter((s) => s === 'GET /a')).toHaveLength(1);
  });

  it('requests routed to a backend without cache-use are not cached', async () => {
    const first = await get('/nocache/x');
    const second = await get('/nocache/x');
    expect(first.hit).toBe('0');
    expect(second.hit).toBe('0');
    expect(served.filter((s) => s === 'GET /nocache/x')).toHaveLength(2);
  });

  it('a successful POST to a cached URI invalidates it (RFC 9111 §4.4)', async () => {
    await get('/p');
    expect((await get('/p')).hit).toBe('1');
    expect((await get('/p', 'POST')).hit).toBe('0');
    const after = await get('/p');
    expect(after.hit).toBe('0');
    expect(served.filter((s) => s === 'GET /p')).toHaveLength(2);
  });
});
