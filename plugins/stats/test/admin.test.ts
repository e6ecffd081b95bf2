/**
 * Admin actions on the stats page served by a frontend, configured as in HAProxy
 * (`stats uri`, `stats auth`, `stats admin if <cond>` in a haproxy.cfg), posted as the page's
 * own HTML form does — no JavaScript involved.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const AUTH = 'Basic ' + Buffer.from('ops:pw').toString('base64');

describe('stats admin if <cond> (haproxy.cfg), through the page forms', () => {
  let up: Upstream;
  let gw: TestGateway;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-stats-admin-'));

  beforeAll(async () => {
    up = await startUpstream({ name: 's1' });
    const cfg = `
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend web
  bind 127.0.0.1:0
  stats uri /stats
  stats auth ops:pw
  stats admin if { src 127.0.0.1 } { hdr(x-admin) yes }
  default_backend app
backend app
  server s1 ${up.address}
  server s2 ${up.address}
`;
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, cfg);
    gw = await startTestGateway(cfg, { file, logLevel: 'warn' });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const page = async (headers: Record<string, string>): Promise<string> => {
    const r = await request(gw.url('/stats'), { headers: { authorization: AUTH, ...headers } });
    expect(r.statusCode).toBe(200);
    return r.body.text();
  };
  const post = async (form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; location?: string; body: string }> => {
    const r = await request(gw.url('/stats;admin'), {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded', 'x-admin': 'yes', ...headers },
      body: new URLSearchParams(form).toString(),
    });
    return { status: r.statusCode, location: r.headers.location as string | undefined, body: await r.body.text() };
  };

  it('shows the admin forms only where the condition holds', async () => {
    expect(await page({ 'x-admin': 'yes' })).toContain('<form class="adm" method="post" action="/stats;admin">');
    expect(await page({})).not.toContain('form class="adm"');
  });

  it('drain, maint, ready and weight change the server through the core; the page says so', async () => {
    const html = await page({ 'x-admin': 'yes' });
    const token = /name="token" value="([^"]+)"/.exec(html)![1]!;
    const s2 = gw.gateway.backends.get('app')!.server('s2')!;
    const r = await post({ token, server: 'app/s2', action: 'drain' }, { origin: `http://127.0.0.1:${gw.port()}` });
    expect(r).toMatchObject({ status: 303, location: '/stats?result=app%2Fs2%3A%20drain' });
    expect(s2.admin).toBe('drain');
    expect(await page({ 'x-admin': 'yes' })).toMatch(/data-server="app\/s2">.*?<td class="status"[^>]*>DRAIN<\/td>/);
    expect((await post({ token, server: 'app/s2', action: 'maint' })).status).toBe(303);
    expect(s2.admin).toBe('maint');
    expect((await post({ token, server: 'app/s2', action: 'weight', weight: '9' })).status).toBe(303);
    expect(s2.weight).toBe(9);
    expect((await post({ token, server: 'app/s2', action: 'ready' })).status).toBe(303);
    expect(s2.admin).toBe('ready');
    // Bad input: a clear refusal, nothing changed.
    expect(await post({ token, server: 'app/s2', action: 'weight', weight: '999' })).toMatchObject({ status: 400, body: 'weight must be a whole number from 0 to 256\n' });
    expect(await post({ token, server: 'app/nope', action: 'drain' })).toMatchObject({ status: 404 });
    expect(s2.weight).toBe(9);
  });

  it('refuses without the condition, without the token, from another origin, and without auth', async () => {
    const token = /name="token" value="([^"]+)"/.exec(await page({ 'x-admin': 'yes' }))![1]!;
    const s1 = gw.gateway.backends.get('app')!.server('s1')!;
    expect((await post({ token, server: 'app/s1', action: 'maint' }, { 'x-admin': 'no' })).status).toBe(403);
    expect((await post({ token: 'x', server: 'app/s1', action: 'maint' })).status).toBe(403);
    expect((await post({ token, server: 'app/s1', action: 'maint' }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ token, server: 'app/s1', action: 'maint' }, { authorization: 'Basic bm86bm8=' })).status).toBe(401);
    expect(s1.admin).toBe('ready');
  });
});
