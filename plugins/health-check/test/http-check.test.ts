import { request } from 'undici';
import type { TestGateway } from '@switchyard/sdk/testing';
import { RUNTIME_COMMAND_SLOT } from '@switchyard/sdk';
import { flippableUpstream, waitForHealth, sleep, startGateway } from './helpers';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-health-check'];
const INTER = 200;
const FALL = 2;
const RISE = 2;

async function get(gw: TestGateway, path = '/'): Promise<{ status: number; upstream: string }> {
  const res = await request(gw.url(path));
  const body = await res.body.text();
  return { status: res.statusCode, upstream: res.statusCode === 200 ? body : '' };
}

describe('http health check: flip to 500 and back', () => {
  let s1: Awaited<ReturnType<typeof flippableUpstream>>;
  let s2: Awaited<ReturnType<typeof flippableUpstream>>;
  let s3: Awaited<ReturnType<typeof flippableUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    s1 = await flippableUpstream('s1');
    s2 = await flippableUpstream('s2');
    s3 = await flippableUpstream('s3');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          healthCheck: { type: 'http', inter: `${INTER}ms`, timeout: '3s', rise: RISE, fall: FALL, http: { path: '/health', host: 'health.local', headers: { 'x-check': 'yes' } } },
          servers: [
            { name: 's1', address: s1.address },
            { name: 's2', address: s2.address },
            { name: 's3', address: s3.address },
          ],
        },
      },
    });
    // Wait until every server has been checked at least once (checks spread over the first interval).
    const checked = (): boolean =>
      [s1, s2, s3].every((u) => u.requests.some((r) => r.url === '/health')) &&
      gw.gateway.backends.get('api')!.servers.every((sv) => (sv.data.get('switchyard.health.control') as { last: unknown }).last !== null);
    for (let i = 0; i < 100 && !checked(); i++) await sleep(50);
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([s1.close(), s2.close(), s3.close()]);
  });

  it('reports every server and its last check through the `health show` runtime command', async () => {
    const cmd = gw.gateway.slots.get(RUNTIME_COMMAND_SLOT, 'health show')!;
    const rows = (await cmd.run(gw.gateway, { backend: 'api' })) as Array<{ server: string; health: string; checked: boolean; last: { ok: boolean; reason: string; code?: number } | null }>;
    expect(rows.map((r) => r.server)).toEqual(['api/s1', 'api/s2', 'api/s3']);
    expect(rows.every((r) => r.checked && r.health === 'up' && r.last?.ok === true && r.last.reason === 'Layer7 check passed' && r.last.code === 200)).toBe(true);
  });

  it('sends the configured request (method, path, Host, headers)', () => {
    const check = s2.requests.find((r) => r.url === '/health');
    expect(check).toBeDefined();
    expect(check!.method).toBe('GET');
    expect(check!.headers.host).toBe('health.local');
    expect(check!.headers['x-check']).toBe('yes');
  });

  it('takes a server whose health endpoint answers 500 out within inter × fall + inter, and logs it like HAProxy', async () => {
    const flippedAt = Date.now();
    const down = waitForHealth(gw.gateway, 'api/s2', 'down', 5000);
    s2.state.health = 500;
    const downAt = await down;
    const detection = downAt - flippedAt;
    // eslint-disable-next-line no-console
    console.log(`[measure] http check inter=${INTER}ms fall=${FALL}: s2 DOWN ${detection} ms after its health endpoint turned 500 (bound ${INTER * FALL + INTER} ms)`);
    // The bound is inter × fall + one interval; slack for a loaded CI machine.
    expect(detection).toBeLessThan(INTER * FALL + INTER + 1500);

    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await get(gw)).upstream);
    expect(seen).toEqual(new Set(['s1', 's3']));

    const line = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Server api/s2 is DOWN'));
    expect(line?.msg).toMatch(/^Server api\/s2 is DOWN, reason: Layer7 wrong status, code: 500, info: "expected status 200-399", check duration: \d+ms\. 2 active and 0 backup servers left\.$/);
    expect(line?.level).toBe(40);
  });

  it('brings it back after rise successful checks', async () => {
    const fixedAt = Date.now();
    const up = waitForHealth(gw.gateway, 'api/s2', 'up', 5000);
    s2.state.health = 200;
    const upAt = await up;
    const recovery = upAt - fixedAt;
    // eslint-disable-next-line no-console
    console.log(`[measure] http check inter=${INTER}ms rise=${RISE}: s2 UP ${recovery} ms after its health endpoint recovered (bound ${INTER * RISE + INTER} ms)`);
    expect(recovery).toBeLessThan(INTER * RISE + INTER + 1500);
    // It needed rise checks: at least (rise - 1) intervals after the first success.
    expect(recovery).toBeGreaterThanOrEqual(INTER * (RISE - 1) - 50);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await get(gw)).upstream);
    expect(seen).toEqual(new Set(['s1', 's2', 's3']));
    expect(gw.logs.some((l) => typeof l.msg === 'string' && /^Server api\/s2 is UP, reason: Layer7 check passed, code: 200, check duration: \d+ms\. 3 active and 0 backup servers online\.$/.test(l.msg))).toBe(true);
  });

});

describe('http health check: body match, backups, all down', () => {
  let p1: Awaited<ReturnType<typeof flippableUpstream>>;
  let b1: Awaited<ReturnType<typeof flippableUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    p1 = await flippableUpstream('p1');
    b1 = await flippableUpstream('b1');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          healthCheck: { type: 'http', inter: '150ms', timeout: '3s', rise: 1, fall: 1, http: { path: '/health', expect: { status: [200], bodyRegex: '^OK( ready)?$' } } },
          servers: [
            { name: 'p1', address: p1.address },
            { name: 'b1', address: b1.address, backup: true },
          ],
        },
      },
    });
    const checked = (): boolean => [p1, b1].every((u) => u.requests.some((r) => r.url === '/health'));
    for (let i = 0; i < 100 && !checked(); i++) await sleep(50);
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([p1.close(), b1.close()]);
  });

  it('uses only the primary while it is up', async () => {
    for (let i = 0; i < 5; i++) expect((await get(gw)).upstream).toBe('p1');
  });

  it('hands over to the backup when the primary fails its body match, and back when it recovers', async () => {
    const down = waitForHealth(gw.gateway, 'api/p1', 'down', 5000);
    p1.state.body = 'DEGRADED';
    await down;
    for (let i = 0; i < 5; i++) expect((await get(gw)).upstream).toBe('b1');
    const line = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Server api/p1 is DOWN'));
    expect(line?.msg).toMatch(/reason: Layer7 wrong content, code: 200, .*0 active and 1 backup servers left\.$/);

    const up = waitForHealth(gw.gateway, 'api/p1', 'up', 5000);
    p1.state.body = 'OK ready';
    await up;
    for (let i = 0; i < 5; i++) expect((await get(gw)).upstream).toBe('p1');
  });

  it('answers 503 when every server is down, and logs that the backend has none left', async () => {
    const downs = [waitForHealth(gw.gateway, 'api/p1', 'down', 5000), waitForHealth(gw.gateway, 'api/b1', 'down', 5000)];
    p1.state.health = 500;
    b1.state.health = 503;
    await Promise.all(downs);
    const traffic = (): number => [...p1.requests, ...b1.requests].filter((r) => r.url !== '/health').length;
    const before = traffic();
    const res = await request(gw.url('/'));
    await res.body.text();
    expect(res.statusCode).toBe(503);
    // Only health checks reached the servers, not the client request.
    expect(traffic()).toBe(before);
    expect(gw.logs.some((l) => l.msg === 'backend api has no server available!')).toBe(true);
    p1.state.health = 200;
    await waitForHealth(gw.gateway, 'api/p1', 'up', 5000);
    expect((await get(gw)).upstream).toBe('p1');
  });
});

describe('config errors', () => {
  it('rejects an invalid body regex at load with a coded error', async () => {
    await expect(
      startGateway({
        plugins: PLUGINS,
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
        backends: { api: { healthCheck: { type: 'http', http: { expect: { bodyRegex: '([' } } }, servers: [{ address: '127.0.0.1:9' }] } },
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_HEALTH_BAD_OPTION' });
  });

  it('rejects an unknown check kind', async () => {
    await expect(
      startGateway({
        plugins: PLUGINS,
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
        backends: { api: { healthCheck: { type: 'smtp' }, servers: [{ address: '127.0.0.1:9' }] } },
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_HEALTH_UNKNOWN_KIND' });
  });
});

describe('a server-change listener that throws', () => {
  let s1: Awaited<ReturnType<typeof flippableUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    s1 = await flippableUpstream('s1');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: { api: { healthCheck: { type: 'http', inter: '100ms', timeout: '3s', rise: 1, fall: 1, http: { path: '/health' } }, servers: [{ name: 's1', address: s1.address }] } },
    });
    gw.gateway.events.on('server-change', () => {
      throw new Error('a broken subscriber');
    });
  });

  afterAll(async () => {
    await gw.stop();
    await s1.close();
  });

  it('neither stops the checks nor the process', async () => {
    const server = gw.gateway.backends.get('api')!.server('s1')!;
    s1.state.health = 500;
    for (let i = 0; i < 100 && server.health !== 'down'; i++) await sleep(30);
    expect(server.health).toBe('down');
    s1.state.health = 200;
    for (let i = 0; i < 100 && server.health !== 'up'; i++) await sleep(30);
    expect(server.health).toBe('up');
    // The core contains a throwing listener and logs it; the checker never sees the error.
    expect(gw.logs.some((l) => l.msg === 'a server-change listener failed')).toBe(true);
  });
});

describe('pausing and resuming checks (HealthControl.setEnabled)', () => {
  let s1: Awaited<ReturnType<typeof flippableUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    s1 = await flippableUpstream('s1');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: { api: { healthCheck: { type: 'http', inter: '100ms', timeout: '3s', rise: 1, fall: 2, http: { path: '/health' } }, servers: [{ name: 's1', address: s1.address }] } },
    });
    for (let i = 0; i < 100 && !s1.requests.some((r) => r.url === '/health'); i++) await sleep(30);
  });

  afterAll(async () => {
    await gw.stop();
    await s1.close();
  });

  it('sends no check while paused, and the first failing check after resuming marks the server DOWN', async () => {
    const server = gw.gateway.backends.get('api')!.server('s1')!;
    const control = server.data.get('switchyard.health.control') as { setEnabled(on: boolean): void; enabled: boolean };
    const checks = (): number => s1.requests.filter((r) => r.url === '/health').length;
    const before = checks();
    control.setEnabled(false);
    expect(control.enabled).toBe(false);
    s1.state.health = 500;
    // An absence needs a window: 5 check intervals (inter 100ms) in which a running checker
    // would send about 5 checks. A paused one sends none but the one that may have been in
    // flight when it paused (and a failure of that one alone cannot mark it down: fall 2).
    await sleep(500);
    expect(checks() - before).toBeLessThanOrEqual(1);
    expect(server.health).toBe('up');
    const paused = checks();
    const down = waitForHealth(gw.gateway, 'api/s1', 'down', 3000);
    control.setEnabled(true);
    await down;
    expect(checks()).toBeGreaterThan(paused);
  });
});
