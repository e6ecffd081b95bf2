import { request } from 'undici';
import { startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { startGateway as startTestGateway } from './fixtures/gateway';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-rate-limit'];

async function get(gw: TestGateway, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(gw.url(p), { method, headers });
  await res.body.text();
  return { status: res.statusCode, headers: res.headers };
}

async function statuses(gw: TestGateway, n: number, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(gw, p, headers, method)).status);
  return out;
}

describe('rate limits (memory store)', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startTestGateway({
      plugins: PLUGINS,
      frontends: {
        bysrc: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          rateLimits: [{ name: 'per-ip', key: 'src', points: 3, duration: '60s', headers: true }],
        },
        byheader: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          rateLimits: [{ name: 'per-key', key: 'hdr(x-api-key)', points: 2, duration: '60s' }],
        },
        bycookie: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          rateLimits: [{ name: 'per-session', key: 'cookie(sid)', points: 2, duration: '60s', onMissingKey: 'shared' }],
        },
        bypath: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          rateLimits: [
            { name: 'per-path', key: 'path', points: 2, duration: '60s', pathPrefix: '/api/' },
            { name: 'posts', key: 'src', points: 1, duration: '60s', methods: ['POST'], blockDuration: '120s', status: 503 },
          ],
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
  });

  it('limits per client address and answers 429 with Retry-After and the IETF RateLimit headers', async () => {
    const hitsBefore = up.hits;
    const first = await get(gw, '/', {});
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"per-ip";q=3;w=60');
    expect(first.headers['ratelimit']).toMatch(/^"per-ip";r=2;t=\d+$/);
    expect(await statuses(gw, 2, '/')).toEqual([200, 200]);
    const denied = await get(gw, '/');
    expect(denied.status).toBe(429);
    expect(Number(denied.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(denied.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(denied.headers['ratelimit-policy']).toBe('"per-ip";q=3;w=60');
    expect(denied.headers['ratelimit']).toMatch(/^"per-ip";r=0;t=\d+$/);
    expect(up.hits - hitsBefore).toBe(3);
  });

  it('keys on a header: each API key has its own budget; requests without the header are not limited', async () => {
    const url = (p: string): string => gw.url(p, 'byheader');
    const one = async (h: Record<string, string>): Promise<number> => {
      const r = await request(url('/'), { headers: h });
      await r.body.text();
      return r.statusCode;
    };
    expect([await one({ 'x-api-key': 'a' }), await one({ 'x-api-key': 'a' }), await one({ 'x-api-key': 'a' })]).toEqual([200, 200, 429]);
    expect(await one({ 'x-api-key': 'b' })).toBe(200);
    expect([await one({}), await one({}), await one({})]).toEqual([200, 200, 200]);
  });

  it('keys on a cookie; onMissingKey: shared counts cookieless requests together', async () => {
    const one = async (h: Record<string, string>): Promise<number> => {
      const r = await request(gw.url('/', 'bycookie'), { headers: h });
      await r.body.text();
      return r.statusCode;
    };
    const s1 = { cookie: 'theme=dark; sid=s1' };
    expect([await one(s1), await one(s1), await one(s1)]).toEqual([200, 200, 429]);
    expect(await one({ cookie: 'sid=s2' })).toBe(200);
    expect([await one({}), await one({}), await one({})]).toEqual([200, 200, 429]);
  });

  it('keys on the path, only under pathPrefix; methods filter; blockDuration and a custom status', async () => {
    const one = async (p: string, method = 'GET'): Promise<number> => {
      const r = await request(gw.url(p, 'bypath'), { method });
      await r.body.text();
      return r.statusCode;
    };
    expect([await one('/api/a'), await one('/api/a'), await one('/api/a')]).toEqual([200, 200, 429]);
    expect(await one('/api/b')).toBe(200);
    expect([await one('/other'), await one('/other'), await one('/other')]).toEqual([200, 200, 200]);
    // One POST per minute per client, then blocked for 120 s with a 503.
    expect(await one('/x', 'POST')).toBe(200);
    const r = await request(gw.url('/x', 'bypath'), { method: 'POST' });
    await r.body.text();
    expect(r.statusCode).toBe(503);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(60);
    expect(await one('/x', 'GET')).toBe(200);
  });
});

describe('rate-limit windows end', () => {
  it('lets the key through again once the window is over', async () => {
    const up = await startUpstream();
    const gw = await startTestGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', rateLimits: [{ name: 'short', points: 2, duration: '1s' }] } },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
    try {
      expect(await statuses(gw, 3, '/')).toEqual([200, 200, 429]);
      let ok = false;
      for (let i = 0; i < 40 && !ok; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ok = (await get(gw, '/')).status === 200;
      }
      expect(ok).toBe(true);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

describe('stick-table tracking (track-sc0 src)', () => {
  let up: Upstream;
  let gw: TestGateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startTestGateway(
      {
        plugins: [...PLUGINS, './fixtures/sc-echo-plugin.js'],
        frontends: {
          web: { bind: '127.0.0.1:0', defaultBackend: 'app', track: [{ counter: 0, key: 'src', period: '30s', denyAbove: 4 }] },
          other: { bind: '127.0.0.1:0', defaultBackend: 'app' },
        },
        backends: { app: { servers: [{ name: 'a', address: up.address }] } },
      },
      { baseDir: __dirname },
    );
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
  });

  it('exposes sc_http_req_rate(0) to fetches and denies above the threshold', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await get(gw, '/');
      expect(r.status).toBe(200);
      expect(r.headers['x-sc0-key']).toBe('127.0.0.1');
      expect(r.headers['x-sc0-rate-alias']).toBe(r.headers['x-sc0-rate']);
      seen.push(String(r.headers['x-sc0-rate']));
    }
    expect(seen).toEqual(['1', '2', '3', '4']);
    expect((await get(gw, '/')).status).toBe(429);
  });

  it('reads 0 on an exchange that is not tracked', async () => {
    const r = await request(gw.url('/', 'other'));
    await r.body.text();
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-sc0-rate']).toBe('0');
    expect(r.headers['x-sc0-key']).toBe('undefined');
  });
});

describe('rate limits on a TCP frontend', () => {
  it('closes sessions over the limit without forwarding them', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const net = require('node:net') as typeof import('node:net');
    let sessions = 0;
    const echo = net.createServer((s) => {
      sessions++;
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const port = (echo.address() as import('node:net').AddressInfo).port;
    const gw = await startTestGateway({
      plugins: PLUGINS,
      frontends: { tcp: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'echo', rateLimits: [{ name: 'conns', points: 2, duration: '60s' }] } },
      backends: { echo: { mode: 'tcp', servers: [{ name: 'e', address: `127.0.0.1:${port}` }] } },
    });
    const session = (): Promise<string | null> =>
      new Promise((resolve) => {
        const s = net.connect(gw.port(), '127.0.0.1', () => s.write('ping'));
        s.on('error', () => {});
        s.once('data', (d: Buffer) => {
          resolve(d.toString());
          s.destroy();
        });
        s.once('close', () => resolve(null));
      });
    try {
      expect([await session(), await session(), await session()]).toEqual(['ping', 'ping', null]);
      expect(sessions).toBe(2);
    } finally {
      await gw.stop();
      await new Promise<void>((r) => echo.close(() => r()));
    }
  });
});
