import { Client, request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

let up: Upstream;

function config(frontend: Record<string, unknown>, plugins: string[] = ['@switchyard/plugin-acl']): Record<string, unknown> {
  return {
    // Without the ACL plugin: the standard preset would bring it, so list the minimum by hand.
    plugins: plugins.length === 0 ? ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', '@switchyard/plugin-monitor'] : ['@switchyard/preset-standard', ...plugins, '@switchyard/plugin-monitor'],
    frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', timeouts: { keepAlive: '20s' }, ...frontend } },
    backends: { app: { balance: 'roundrobin', servers: [{ name: 's1', address: up.address }] } },
  };
}

async function codeOf(cfg: Record<string, unknown>): Promise<string> {
  try {
    const gw = await startTestGateway(cfg);
    await gw.stop();
    return 'started';
  } catch (err) {
    const e = err as { code?: string; errors?: Array<{ code: string }> };
    return e.code ?? e.errors?.map((x) => x.code).join(',') ?? String(err);
  }
}

beforeAll(async () => {
  up = await startUpstream({
    name: 'app',
    handler: (req, res) => {
      req.resume();
      const delay = req.url === '/slow' ? 1500 : 0;
      setTimeout(() => res.end(`app ${req.url}\n`), delay);
    },
  });
});

afterAll(async () => {
  await up.close();
});

describe('monitor: HAProxy monitor-uri', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw?.stop();
  });

  it('answers 200 "ready" itself, before any backend; other paths pass through', async () => {
    gw = await startTestGateway(config({ monitorUri: '/healthz' }));
    const hits = up.hits;
    for (const path of ['/healthz', '/healthz?probe=1']) {
      const res = await request(gw.url(path));
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(await res.body.text()).toBe('ready\n');
    }
    expect(up.hits).toBe(hits);
    const other = await request(gw.url('/healthz/deeper'));
    expect(await other.body.text()).toBe('app /healthz/deeper\n');
    expect(up.hits).toBe(hits + 1);
  });

  it('answers 503 "draining" once a graceful stop has begun, on a connection opened before, while a slow request finishes', async () => {
    gw = await startTestGateway(config({ monitorUri: '/healthz' }));
    const probe = new Client(`http://127.0.0.1:${gw.port()}`, { pipelining: 1, keepAliveTimeout: 20_000 });
    try {
      const before = await probe.request({ method: 'GET', path: '/healthz' });
      expect(before.statusCode).toBe(200);
      expect(await before.body.text()).toBe('ready\n');

      const slow = request(gw.url('/slow'));
      for (const deadline = Date.now() + 5_000; !up.requests.some((r) => r.url === '/slow') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
      expect(up.requests.some((r) => r.url === '/slow')).toBe(true);
      const stopped = gw.stop(6000);

      // Same keep-alive connection, opened before the stop began.
      const during = await probe.request({ method: 'GET', path: '/healthz' });
      expect(during.statusCode).toBe(503);
      expect(during.headers.connection).toBe('close');
      expect(await during.body.text()).toBe('draining\n');

      const slowRes = await slow;
      expect(slowRes.statusCode).toBe(200);
      expect(await slowRes.body.text()).toBe('app /slow\n');
      await stopped;
    } finally {
      await probe.close().catch(() => undefined);
    }
  });

  it('monitorFail: 503 "failing" while the ACL condition holds (nbsrv of a backend)', async () => {
    gw = await startTestGateway(config({ monitorUri: '/healthz', monitorFail: 'nbsrv(app) lt 1' }));
    const s1 = gw.gateway.backends.get('app')!.server('s1')!;
    expect((await request(gw.url('/healthz'))).statusCode).toBe(200);
    s1.setAdmin('maint', 'test');
    const failing = await request(gw.url('/healthz'));
    expect(failing.statusCode).toBe(503);
    expect(await failing.body.text()).toBe('failing\n');
    s1.setAdmin('ready', 'test');
    expect((await request(gw.url('/healthz'))).statusCode).toBe(200);
  });

  it('config errors are coded', async () => {
    expect(await codeOf(config({ monitorUri: '/healthz', monitorFail: 'nbsrv(app) -m int lt 1' }, []))).toBe('SWY_ERR_MONITOR_NO_ACL');
    expect(await codeOf(config({ monitorUri: '/healthz', monitorFail: 'nosuchfetch -m found' }))).toBe('SWY_ERR_MONITOR_CONFIG');
    expect(await codeOf(config({ monitorUri: 'healthz' }))).toBe('SWY_ERR_CONFIG_INVALID');
    expect(await codeOf({ ...config({}), frontends: { t: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'tb', monitorUri: '/h' } }, backends: { tb: { mode: 'tcp', servers: [{ name: 'x', address: up.address }] } } })).toBe('SWY_ERR_MONITOR_CONFIG');
  });
});
