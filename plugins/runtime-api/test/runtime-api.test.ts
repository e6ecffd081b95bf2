import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { RUNTIME_API_SERVICE, type RuntimeApiService } from '@switchyard/plugin-runtime-api';

const TOKEN = 'test-token-0123456789abcdef';

describe('runtime API', () => {
  let one: Upstream;
  let two: Upstream;
  let gw: TestGateway;
  let api: string;

  beforeAll(async () => {
    one = await startUpstream({ name: 'one' });
    two = await startUpstream({ name: 'two' });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-runtime-api', '@switchyard/plugin-access-log', '@switchyard/plugin-stats'],
      runtimeApi: { enabled: true, listen: '127.0.0.1:0', token: TOKEN },
      accessLog: { output: 'file', file: `/tmp/swy-runtime-api-${process.pid}.log` },
      stats: { listen: '127.0.0.1:0' },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: { api: { servers: [{ name: 's1', address: one.address }, { name: 's2', address: two.address }] } },
    });
    api = (await gw.gateway.container.resolve<RuntimeApiService>(RUNTIME_API_SERVICE).ready).url;
  });

  afterAll(async () => {
    await gw?.stop();
    await one?.close();
    await two?.close();
    require('node:fs').rmSync(`/tmp/swy-runtime-api-${process.pid}.log`, { force: true });
  });

  const run = async (command: string, args: Record<string, unknown> = {}, token = TOKEN) => {
    const res = await request(`${api}/v1/commands/${encodeURIComponent(command)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
    return { status: res.statusCode, body: (await res.body.json()) as { ok: boolean; result?: unknown; error?: { code: string; message: string } } };
  };

  /** Which upstream served each of n requests. */
  const spread = async (n: number): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await request(gw.url('/'));
      const who = String(r.headers['x-upstream'] ?? r.statusCode);
      await r.body.dump();
      out[who] = (out[who] ?? 0) + 1;
    }
    return out;
  };

  it('refuses requests without the right bearer token', async () => {
    const none = await request(`${api}/v1/commands`);
    expect(none.statusCode).toBe(401);
    expect(((await none.body.json()) as { error: { code: string } }).error.code).toBe('SWY_ERR_RUNTIME_UNAUTHORIZED');
    expect((await run('show servers', {}, 'wrong-token-0123456789')).status).toBe(401);
  });

  it('lists its commands and every command of the runtime.command slot', async () => {
    const res = await request(`${api}/v1/commands`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const names = ((await res.body.json()) as { result: Array<{ name: string }> }).result.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining([
      'show servers', 'show stats', 'set server state', 'set server weight', 'disable health', 'enable health', 'add server', 'del server', 'reload',
      'log reopen', // from @switchyard/plugin-access-log
    ]));
    const reopen = await run('log reopen');
    expect(reopen).toMatchObject({ status: 200, body: { ok: true, result: { reopened: true } } });
  });

  it('shows servers', async () => {
    const { body } = await run('show servers', { backend: 'api' });
    expect(body.result).toEqual([
      expect.objectContaining({ server: 'api/s1', status: 'UP', weight: 1, healthChecks: 'none' }),
      expect.objectContaining({ server: 'api/s2', status: 'UP', weight: 1 }),
    ]);
    const get = await request(`${api}/v1/servers`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await get.body.json()) as { result: unknown[] }).result).toHaveLength(2);
  });

  it('drains and puts a server in maintenance at once, and back to ready', async () => {
    expect(await spread(4)).toEqual({ one: 2, two: 2 });
    expect((await run('set server state', { server: 'api/s1', state: 'drain' })).body).toMatchObject({ ok: true, result: { from: 'ready', to: 'drain' } });
    expect(await spread(4)).toEqual({ two: 4 });
    // The stats page shows it.
    const stats = (await run('show stats')).body.result as { backends: Array<{ serverList: Array<{ name: string; status: string }> }> };
    expect(stats.backends[0]!.serverList.find((s) => s.name === 's1')!.status).toBe('DRAIN');
    await run('set server state', { server: 'api/s1', state: 'maint' });
    expect(await spread(4)).toEqual({ two: 4 });
    await run('set server state', { server: 'api/s2', state: 'maint' });
    expect(await spread(2)).toEqual({ 503: 2 });
    await run('set server state', { server: 'api/s1', state: 'ready' });
    await run('set server state', { server: 'api/s2', state: 'ready' });
    expect(await spread(4)).toEqual({ one: 2, two: 2 });
    const bad = await run('set server state', { server: 'api/s1', state: 'sleep' });
    expect(bad).toMatchObject({ status: 400, body: { ok: false, error: { code: 'SWY_ERR_RUNTIME_BAD_ARGUMENT' } } });
    const missing = await run('set server state', { server: 'api/nope', state: 'ready' });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'SWY_ERR_RUNTIME_NO_SERVER' } } });
  });

  it('changes weights at once (absolute and percentage)', async () => {
    expect((await run('set server weight', { server: 'api/s1', weight: 3 })).body).toMatchObject({ ok: true, result: { from: 1, to: 3 } });
    expect(await spread(8)).toEqual({ one: 6, two: 2 });
    await run('set server weight', { server: 'api/s1', weight: '0%' });
    expect(await spread(4)).toEqual({ two: 4 });
    await run('set server weight', { server: 'api/s1', weight: '100%' });
    expect(await spread(4)).toEqual({ one: 2, two: 2 });
    expect((await run('set server weight', { server: 'api/s1', weight: 300 })).status).toBe(400);
  });

  it('disables health checks (the server counts as UP again) and enables them', async () => {
    const s2 = gw.gateway.backends.get('api')!.server('s2')!;
    s2.setHealth('down', 'test');
    expect(await spread(4)).toEqual({ one: 4 });
    const off = await run('disable health', { server: 'api/s2' });
    expect(off.body).toMatchObject({ ok: true, result: { status: 'UP', healthChecks: 'disabled' } });
    expect(await spread(4)).toEqual({ one: 2, two: 2 });
    const on = await run('enable health', { server: 'api/s2' });
    expect(on.body).toMatchObject({ ok: true, result: { healthChecks: 'none' } });
  });

  it('adds a server that takes traffic at once, and removes it again', async () => {
    const added = await run('add server', { backend: 'api', name: 's9', address: one.address, weight: '2' });
    expect(added.body).toMatchObject({ ok: true, result: { server: 'api/s9' } });
    const be = gw.gateway.backends.get('api')!;
    expect(be.server('s9')?.weight).toBe(2);
    // With the configured servers in maintenance, only the new one can answer.
    be.server('s1')!.setAdmin('maint', 'test');
    be.server('s2')!.setAdmin('maint', 'test');
    expect(await spread(4)).toEqual({ one: 4 });
    be.server('s1')!.setAdmin('ready', 'test');
    be.server('s2')!.setAdmin('ready', 'test');
    const bad = await run('add server', { backend: 'api', name: 's9', address: two.address });
    expect(bad.status).toBe(400);
    const gone = await run('del server', { server: 'api/s9' });
    expect(gone.body).toMatchObject({ ok: true, result: { removed: 'api/s9' } });
    expect(be.server('s9')).toBeUndefined();
    be.server('s1')!.setAdmin('maint', 'test');
    expect(await spread(4)).toEqual({ two: 4 });
    be.server('s1')!.setAdmin('ready', 'test');
  });

  it('says clearly what is not available: reload in single-process mode, unknown commands', async () => {
    const r = await run('reload');
    expect(r).toMatchObject({ status: 501, body: { ok: false, error: { code: 'SWY_ERR_RUNTIME_NOT_AVAILABLE' } } });
    expect(await run('launch rockets')).toMatchObject({ status: 404, body: { error: { code: 'SWY_ERR_RUNTIME_UNKNOWN_COMMAND' } } });
  });
});

describe('runtime API off by default', () => {
  it('does not listen unless enabled', async () => {
    const up = await startUpstream();
    const gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-runtime-api'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: { api: { servers: [{ name: 's1', address: up.address }] } },
    });
    try {
      const svc = gw.gateway.container.resolve<RuntimeApiService>(RUNTIME_API_SERVICE);
      expect(svc.server).toBeNull();
      await expect(svc.ready).rejects.toThrow(/off/);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it('refuses to start enabled without a token', async () => {
    await expect(
      startTestGateway({
        plugins: ['@switchyard/preset-standard', '@switchyard/plugin-runtime-api'],
        runtimeApi: { enabled: true },
        frontends: {},
        backends: {},
      }),
    ).rejects.toMatchObject({ errors: [expect.objectContaining({ code: 'SWY_ERR_CONFIG_INVALID', message: 'missing required key "token"', location: expect.objectContaining({ path: 'runtimeApi' }) })] });
  });
});

