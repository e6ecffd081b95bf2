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

describe('configuration errors', () => {
  it('fails with a coded error when a key names a fetch nobody provides', async () => {
    await expect(
      startTestGateway({
        plugins: PLUGINS,
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', rateLimits: [{ name: 'x', key: 'jwt_sub', points: 1, duration: '1s' }] } },
        backends: { app: { servers: [{ name: 'a', address: '127.0.0.1:9' }] } },
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_RATELIMIT_UNKNOWN_FETCH' });
  });

  it('fails with a coded error when a built-in key lacks its argument', async () => {
    await expect(
      startTestGateway({
        plugins: PLUGINS,
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', rateLimits: [{ name: 'x', key: 'hdr()', points: 1, duration: '1s' }] } },
        backends: { app: { servers: [{ name: 'a', address: '127.0.0.1:9' }] } },
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_RATELIMIT_BAD_KEY' });
  });

  it('fails with a coded error for if/unless without the ACL plugin, and for an unknown store', async () => {
    // The standard preset brings the ACL plugin: list the bare minimum without it.
    const withoutAcl = ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', '@switchyard/plugin-rate-limit'];
    await expect(
      startTestGateway({
        plugins: withoutAcl,
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', rateLimits: [{ name: 'x', points: 1, duration: '1s', if: 'METH_POST' }] } },
        backends: { app: { servers: [{ name: 'a', address: '127.0.0.1:9' }] } },
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_RATELIMIT_NO_ACL' });
    await expect(
      startTestGateway({
        plugins: PLUGINS,
        rateLimit: { store: 'etcd' },
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', rateLimits: [{ name: 'x', points: 1, duration: '1s' }] } },
        backends: { app: { servers: [{ name: 'a', address: '127.0.0.1:9' }] } },
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_RATELIMIT_UNKNOWN_STORE' });
  });

  it('uses a fetch from the fetch slot as a key', async () => {
    // sc_key(0) comes from the fetch slot (this plugin's own), as an ACL or JWT fetch would.
    const up = await startUpstream();
    const gw = await startTestGateway({
      plugins: PLUGINS,
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          track: [{ counter: 1, key: 'hdr(x-user)' }],
          rateLimits: [{ name: 'per-user', key: 'sc_key(1)', points: 1, duration: '60s' }],
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
    try {
      expect(await statuses(gw, 2, '/', { 'x-user': 'ann' })).toEqual([200, 429]);
      expect(await statuses(gw, 1, '/', { 'x-user': 'bob' })).toEqual([200]);
      expect(await statuses(gw, 2, '/')).toEqual([200, 200]);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

