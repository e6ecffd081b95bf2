import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { PROMETHEUS_SERVICE, type PrometheusService } from '@switchyard/plugin-prometheus';

/** Parses the text exposition format into `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('prometheus metrics', () => {
  let up1: Upstream;
  let up2: Upstream;
  let gw: TestGateway;
  let metricsUrl: string;

  beforeAll(async () => {
    up1 = await startUpstream({ name: 'one' });
    up2 = await startUpstream({
      name: 'two',
      handler: (req, res) => {
        req.resume();
        res.writeHead(req.url === '/missing' ? 404 : 200).end('0123456789');
      },
    });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-prometheus'],
      prometheus: { listen: '127.0.0.1:0', processMetrics: true },
      frontends: {
        web: { bind: '127.0.0.1:0', defaultBackend: 'api' },
        dead: { bind: '127.0.0.1:0', defaultBackend: 'nothing' },
      },
      backends: {
        api: { servers: [{ name: 's1', address: up1.address }, { name: 's2', address: up2.address, weight: 1 }] },
        nothing: { servers: [{ name: 'gone', address: up1.address }] },
      },
    });
    metricsUrl = (await gw.gateway.container.resolve<PrometheusService>(PROMETHEUS_SERVICE).ready).url;
  });

  afterAll(async () => {
    await gw?.stop();
    await up1?.close();
    await up2?.close();
  });

  const scrape = async (): Promise<{ text: string; m: Map<string, number>; type: string }> => {
    const res = await request(metricsUrl);
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    return { text, m: parse(text), type: String(res.headers['content-type']) };
  };

  it('reports stable names and the values of known traffic', async () => {
    // Round-robin over s1, s2: s1 gets /a and /c (200), s2 gets /missing (404) and /d (200).
    for (const p of ['/a', '/missing', '/c', '/d']) await (await request(gw.url(p))).body.text();
    gw.gateway.backends.get('nothing')!.server('gone')!.setAdmin('maint');
    const failed = await request(gw.url('/', 'dead'));
    await failed.body.text();
    expect(failed.statusCode).toBe(503);

    let got = await scrape();
    for (let i = 0; i < 20 && got.m.get('switchyard_frontend_requests_total{frontend="dead"}') !== 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
      got = await scrape();
    }
    const { m, type, text } = got;
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.get('switchyard_frontend_requests_total{frontend="web"}')).toBe(4);
    expect(m.get('switchyard_frontend_connections_total{frontend="dead"}')).toBe(1);
    expect(m.get('switchyard_frontend_http_responses_total{frontend="web",code="2xx"}')).toBe(3);
    expect(m.get('switchyard_frontend_http_responses_total{frontend="web",code="4xx"}')).toBe(1);
    expect(m.get('switchyard_frontend_http_responses_total{frontend="dead",code="5xx"}')).toBe(1);
    expect(m.get('switchyard_frontend_errors_total{frontend="dead"}')).toBe(1);
    expect(m.get('switchyard_frontend_errors_total{frontend="web"}')).toBe(0);
    expect(m.get('switchyard_backend_requests_total{backend="api"}')).toBe(4);
    expect(m.get('switchyard_backend_up{backend="api"}')).toBe(1);
    expect(m.get('switchyard_backend_up{backend="nothing"}')).toBe(0);
    expect(m.get('switchyard_backend_active_servers{backend="api"}')).toBe(2);
    expect(m.get('switchyard_server_sessions_total{backend="api",server="s1"}')).toBe(2);
    expect(m.get('switchyard_server_sessions_total{backend="api",server="s2"}')).toBe(2);
    expect(m.get('switchyard_server_http_responses_total{backend="api",server="s2",code="4xx"}')).toBe(1);
    expect(m.get('switchyard_server_bytes_out_total{backend="api",server="s2"}')).toBe(20);
    expect(m.get('switchyard_server_status{backend="nothing",server="gone",state="MAINT"}')).toBe(1);
    expect(m.get('switchyard_server_status{backend="nothing",server="gone",state="UP"}')).toBe(0);
    expect(m.get('switchyard_server_weight{backend="api",server="s1"}')).toBe(1);
    expect(m.get('switchyard_backend_request_duration_seconds_count{backend="api"}')).toBe(4);
    expect(m.get('switchyard_backend_request_duration_seconds_bucket{backend="api",le="+Inf"}')).toBe(4);
    expect(m.get('switchyard_server_request_duration_seconds_count{backend="api",server="s1"}')).toBe(2);
    expect(m.get('switchyard_backend_request_duration_seconds_sum{backend="api"}')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE switchyard_frontend_requests_total counter');
    expect(text).toContain('# TYPE switchyard_backend_request_duration_seconds histogram');
    expect(text).toContain('# TYPE switchyard_server_current_sessions gauge');
    expect(m.has('switchyard_process_resident_memory_bytes')).toBe(true);
    gw.gateway.backends.get('nothing')!.server('gone')!.setAdmin('ready');
  });

  it('times each plugin in each hook it taps', async () => {
    await (await request(gw.url('/'))).body.text();
    const { m, text } = await scrape();
    expect(text).toContain('# TYPE switchyard_hook_duration_seconds histogram');
    const fwd = m.get('switchyard_hook_duration_seconds_count{hook="forward",plugin="@switchyard/plugin-http-forwarder"}');
    expect(fwd).toBeGreaterThanOrEqual(5);
    // The log hook is timed too, our own tap included (wrapped after every plugin tapped).
    expect(m.get('switchyard_hook_duration_seconds_count{hook="log",plugin="@switchyard/plugin-prometheus"}')).toBeGreaterThanOrEqual(5);
    // Buckets are cumulative and end at the count.
    const inf = m.get('switchyard_hook_duration_seconds_bucket{hook="forward",plugin="@switchyard/plugin-http-forwarder",le="+Inf"}');
    expect(inf).toBe(fwd);
  });

  it('keeps routing correct through the timing wrappers', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await request(gw.url('/x'));
      const body = await r.body.text();
      seen.add(body.includes('"upstream":"one"') ? 'one' : body === '0123456789' ? 'two' : body);
    }
    expect([...seen].sort()).toEqual(['one', 'two']);
  });

  it('answers 404 elsewhere', async () => {
    const r = await request(metricsUrl.replace('/metrics', '/other'));
    await r.body.text();
    expect(r.statusCode).toBe(404);
  });
});
