import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { STATS_SERVICE, type StatsService, type StatsSnapshot } from '@switchyard/plugin-stats';

describe('stats page data', () => {
  let up1: Upstream;
  let up2: Upstream;
  let gw: TestGateway;
  let base: string;
  const auth = 'Basic ' + Buffer.from('admin:s3cret').toString('base64');

  beforeAll(async () => {
    up1 = await startUpstream({ name: 'one' });
    up2 = await startUpstream({
      name: 'two',
      handler: (req, res) => {
        req.resume();
        res.writeHead(req.url === '/missing' ? 404 : 200).end('two');
      },
    });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stats'],
      stats: { listen: '127.0.0.1:0', path: '/haproxy', auth: { username: 'admin', password: 's3cret' } },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api', stats: { path: '/lb-stats' } } },
      backends: { api: { servers: [{ name: 's1', address: up1.address }, { name: 's2', address: up2.address }] } },
    });
    const svc = gw.gateway.container.resolve<StatsService>(STATS_SERVICE);
    base = (await svc.ready).url;
  });

  afterAll(async () => {
    await gw?.stop();
    await up1?.close();
    await up2?.close();
  });

  const get = async (url: string, headers: Record<string, string> = { authorization: auth }) => {
    const res = await request(url, { headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  it('asks for basic auth and refuses wrong credentials', async () => {
    const none = await get(base, {});
    expect(none.status).toBe(401);
    expect(String(none.headers['www-authenticate'])).toMatch(/^Basic realm=/);
    const wrong = await get(base, { authorization: 'Basic ' + Buffer.from('admin:nope').toString('base64') });
    expect(wrong.status).toBe(401);
    expect((await get(base)).status).toBe(200);
  });

  it('serves a self-contained page (no external script, style or font)', async () => {
    const page = await get(base);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<canvas id="chart-rate"');
    // Server-rendered: every proxy and server with its state is in the HTML itself (curl, grep, no JavaScript).
    expect(page.body).toMatch(/<tr class="server s-UP" data-server="api\/s1">/);
    expect(page.body).toMatch(/data-server="api\/s2">.*?<td class="status"[^>]*>UP<\/td>/);
    expect(page.body).toContain('<table class="px" data-frontend="web">');
    // No admin forms: stats.admin is off.
    expect(page.body).not.toContain('form class="adm"');
    expect(page.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(String(page.headers['content-security-policy'])).toContain("default-src 'none'");
  });

  it('counts known traffic per frontend, backend and server in ;json and ;csv', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await request(gw.url(i === 0 ? '/missing' : '/ok'));
      await res.body.text();
    }
    // 6 requests, round-robin over two servers: 3 each; /missing went to s1 (answers 200) or s2 (404).
    // The log hook runs when each response closes: give the last one a moment.
    let json = JSON.parse((await get(`${base};json`)).body) as StatsSnapshot;
    for (let i = 0; i < 40 && json.frontends[0]!.sessions.total < 6; i++) {
      await new Promise((r) => setTimeout(r, 25));
      json = JSON.parse((await get(`${base};json`)).body) as StatsSnapshot;
    }
    const fe = json.frontends.find((f) => f.name === 'web')!;
    expect(fe.sessions.total).toBe(6);
    // undici keeps one connection alive for the sequential requests.
    expect(fe.connections.total).toBeGreaterThanOrEqual(1);
    expect(fe.connections.total).toBeLessThanOrEqual(6);
    expect(fe.responses['2xx']! + fe.responses['4xx']!).toBe(6);
    const be = json.backends.find((b) => b.name === 'api')!;
    expect(be.sessions.total).toBe(6);
    expect(be.status).toBe('UP');
    expect(be.serverList.map((s) => [s.name, s.status, s.sessions.total])).toEqual([
      ['s1', 'UP', 3],
      ['s2', 'UP', 3],
    ]);
    expect(be.serverList[0]!.bytes.out).toBeGreaterThan(0);
    expect(be.latency.p99).toBeGreaterThan(0);
    expect(be.latency.p99).toBeGreaterThanOrEqual(be.latency.p50);

    const csv = (await get(`${base};csv`)).body.trim().split('\n');
    const cols = csv[0]!.replace(/^# /, '').split(',');
    const rows = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
    const s1 = rows.find((r) => r.pxname === 'api' && r.svname === 's1')!;
    expect(s1.stot).toBe('3');
    // HAProxy's word for an up server without health checks.
    expect(s1.status).toBe('no check');
    expect(Number(s1.bin)).toBeGreaterThan(0);
    expect(rows.find((r) => r.pxname === 'api' && r.svname === 'BACKEND')!.stot).toBe('6');
    expect(rows.find((r) => r.pxname === 'web' && r.svname === 'FRONTEND')!.type).toBe('0');
  });

  it('shows DOWN, DRAIN and MAINT as the server state changes', async () => {
    const s2 = gw.gateway.backends.get('api')!.server('s2')!;
    const status = async () => {
      const j = JSON.parse((await get(`${base};json`)).body) as StatsSnapshot;
      return j.backends[0]!.serverList[1]!.status;
    };
    s2.setHealth('down', 'test');
    expect(await status()).toBe('DOWN');
    s2.setHealth('up');
    s2.setAdmin('drain');
    expect(await status()).toBe('DRAIN');
    s2.setAdmin('maint');
    expect(await status()).toBe('MAINT');
    s2.setAdmin('ready');
    expect(await status()).toBe('UP');
  });

  it('streams snapshots as server-sent events, pushing a change at once', async () => {
    const ac = new AbortController();
    const res = await request(`${base};events`, { headers: { authorization: auth }, signal: ac.signal });
    expect(res.headers['content-type']).toBe('text/event-stream');
    let text = '';
    const s1 = gw.gateway.backends.get('api')!.server('s1')!;
    const seen = new Promise<void>((resolve, reject) => {
      res.body.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('"status":"MAINT"')) resolve();
      });
      res.body.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 50));
    s1.setAdmin('maint');
    await seen;
    s1.setAdmin('ready');
    expect(text).toMatch(/^retry: 2000\n\nevent: stats\ndata: \{/);
    ac.abort();
    res.body.destroy();
  });

  it('also serves the page on a frontend path (stats uri), with the same auth, proxying everything else', async () => {
    expect((await get(gw.url('/lb-stats'), {})).status).toBe(401);
    const page = await get(gw.url('/lb-stats'));
    expect(page.status).toBe(200);
    expect(page.body).toContain('"/lb-stats"');
    const csv = await get(gw.url('/lb-stats;csv'));
    expect(csv.body).toMatch(/^# pxname,svname,/);
    const json = JSON.parse((await get(gw.url('/lb-stats;json'))).body) as StatsSnapshot;
    expect(json.backends[0]!.name).toBe('api');
    // A longer path is not the page: it goes to the backend.
    const other = await request(gw.url('/lb-statsX'));
    await other.body.text();
    expect(other.statusCode).toBe(200);
    expect(up1.requests.concat(up2.requests).some((r) => r.url === '/lb-statsX')).toBe(true);
  });

  it('answers 404 outside its path and 405 to other methods', async () => {
    const u = new URL(base);
    expect((await get(`${u.origin}/elsewhere`)).status).toBe(404);
    const post = await request(base, { method: 'POST', headers: { authorization: auth } });
    await post.body.text();
    expect(post.statusCode).toBe(405);
  });
});
