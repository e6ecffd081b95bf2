/**
 * Differential test of the Prometheus metrics: one haproxy.cfg with HAProxy's own exporter
 * (`http-request use-service prometheus-exporter if { path /metrics }`), run by real HAProxy
 * 2.6 and by Switchyard (the adapter maps it to @switchyard/plugin-prometheus with
 * `naming: haproxy`), the same requests to both. Every frontend / backend / server family
 * HAProxy exposes must be in Switchyard's with the same name, type, label names and label
 * values — or be listed below as not supported — and the counters must agree within the
 * traffic sent.
 */
import * as fs from 'node:fs';
import { freePort, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { PROMETHEUS_SERVICE, type PrometheusService } from '@switchyard/plugin-prometheus';
import { HAPROXY, fetchText, startHaproxy, startSwitchyard, traffic, until, type Haproxy } from './haproxy';

/** HAProxy families whose meaning Switchyard does not have (so it does not expose them). */
const NOT_SUPPORTED = new Set([
  // http-response deny, header rewrites, compression, denials at connection / session level, the cache's per-proxy counters
  'haproxy_frontend_responses_denied_total', 'haproxy_backend_responses_denied_total', 'haproxy_server_responses_denied_total',
  'haproxy_frontend_failed_header_rewriting_total', 'haproxy_backend_failed_header_rewriting_total', 'haproxy_server_failed_header_rewriting_total',
  'haproxy_frontend_http_comp_bytes_in_total', 'haproxy_frontend_http_comp_bytes_out_total', 'haproxy_frontend_http_comp_bytes_bypassed_total',
  'haproxy_frontend_http_comp_responses_total', 'haproxy_backend_http_comp_bytes_in_total', 'haproxy_backend_http_comp_bytes_out_total',
  'haproxy_backend_http_comp_bytes_bypassed_total', 'haproxy_backend_http_comp_responses_total',
  'haproxy_frontend_denied_connections_total', 'haproxy_frontend_denied_sessions_total',
  'haproxy_frontend_http_cache_lookups_total', 'haproxy_frontend_http_cache_hits_total', 'haproxy_backend_http_cache_lookups_total',
  'haproxy_backend_http_cache_hits_total',
  // a backend's fullconn, a backend-level denied counter, max queue of a backend
  'haproxy_backend_limit_sessions', 'haproxy_backend_requests_denied_total', 'haproxy_backend_max_queue',
  // timings split into queue / connect / response (Switchyard keeps the total time only)
  'haproxy_backend_queue_time_average_seconds', 'haproxy_backend_connect_time_average_seconds', 'haproxy_backend_response_time_average_seconds',
  'haproxy_backend_max_queue_time_seconds', 'haproxy_backend_max_connect_time_seconds', 'haproxy_backend_max_response_time_seconds',
  'haproxy_server_queue_time_average_seconds', 'haproxy_server_connect_time_average_seconds', 'haproxy_server_response_time_average_seconds',
  'haproxy_server_max_queue_time_seconds', 'haproxy_server_max_connect_time_seconds', 'haproxy_server_max_response_time_seconds',
  // connection pooling internals, check counters, downtime, throttle, queue limit per server
  'haproxy_backend_connection_attempts_total', 'haproxy_backend_connection_reuses_total', 'haproxy_server_connection_attempts_total',
  'haproxy_server_connection_reuses_total', 'haproxy_server_idle_connections_current', 'haproxy_server_idle_connections_limit',
  'haproxy_server_unsafe_idle_connections_current', 'haproxy_server_safe_idle_connections_current', 'haproxy_server_used_connections_current',
  'haproxy_server_need_connections_current', 
  'haproxy_server_check_failures_total', 
  'haproxy_server_queue_limit', 'haproxy_server_current_throttle',
  'haproxy_backend_agg_server_status', 'haproxy_backend_agg_server_check_status', 'haproxy_backend_agg_check_status',
]);

/** Same value per sample after the same traffic. */
const EXACT = new Set([
  'haproxy_frontend_current_sessions', 'haproxy_frontend_limit_sessions', 'haproxy_frontend_sessions_total', 'haproxy_frontend_connections_total',
  'haproxy_frontend_http_responses_total', 'haproxy_frontend_status', 'haproxy_frontend_requests_denied_total', 'haproxy_frontend_request_errors_total',
  'haproxy_frontend_limit_session_rate', 'haproxy_frontend_internal_errors_total',
  'haproxy_backend_current_queue', 'haproxy_backend_current_sessions', 'haproxy_backend_sessions_total', 'haproxy_backend_http_requests_total',
  'haproxy_backend_http_responses_total', 'haproxy_backend_status', 'haproxy_backend_weight', 'haproxy_backend_uweight', 'haproxy_backend_active_servers',
  'haproxy_backend_backup_servers', 'haproxy_backend_loadbalanced_total', 'haproxy_backend_connection_errors_total', 'haproxy_backend_response_errors_total',
  'haproxy_backend_retry_warnings_total', 'haproxy_backend_redispatch_warnings_total', 'haproxy_backend_client_aborts_total', 'haproxy_backend_server_aborts_total',
  'haproxy_backend_internal_errors_total',
  'haproxy_server_current_queue', 'haproxy_server_max_queue', 'haproxy_server_current_sessions', 'haproxy_server_limit_sessions', 'haproxy_server_sessions_total',
  'haproxy_server_http_responses_total', 'haproxy_server_status', 'haproxy_server_check_status',
 'haproxy_server_weight', 'haproxy_server_uweight', 'haproxy_server_loadbalanced_total',
  'haproxy_server_connection_errors_total', 'haproxy_server_response_errors_total', 'haproxy_server_retry_warnings_total',
  'haproxy_server_redispatch_warnings_total', 'haproxy_server_client_aborts_total', 'haproxy_server_server_aborts_total', 'haproxy_server_internal_errors_total',
]);

interface Family {
  type: string;
  samples: Map<string, number>;
  labelNames: string;
}

function parse(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      out.set(t[1]!, { type: t[2]!, samples: new Map(), labelNames: '' });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) continue;
    const fam = out.get(m[1]!);
    if (!fam) continue;
    const labels = [...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!] as const).sort(([a], [b]) => a.localeCompare(b));
    fam.labelNames = labels.map(([k]) => k).join(',');
    fam.samples.set(labels.map(([k, v]) => `${k}=${v}`).join(','), Number(m[3]));
  }
  return out;
}

const maybe = fs.existsSync(HAPROXY) ? describe : describe.skip;

maybe('prometheus: HAProxy exporter families from the same haproxy.cfg', () => {
  let ups: Upstream[] = [];
  let hap: Haproxy;
  let sy: { gw: TestGateway; dir: string };
  let hapPort = 0;
  const cfg = (port: number): string => `
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend web
  bind 127.0.0.1:${port}
  maxconn 50
  http-request use-service prometheus-exporter if { path /metrics }
  default_backend app
backend app
  balance roundrobin
  server s1 ${ups[0]!.address} weight 2 maxconn 20
  server s2 ${ups[1]!.address}
  server b1 ${ups[2]!.address} backup
# Health checks on a backend of their own (no traffic; see the CSV test for why).
backend checked
  option httpchk GET /health
  # A check slowed down by a busy machine must not flip a server (inter alone is also the timeout).
  timeout check 3s
  server c1 ${ups[0]!.address} check inter 250ms rise 1 fall 1
  server c2 ${ups[3]!.address} check inter 250ms rise 1 fall 1
`;

  beforeAll(async () => {
    const handler = (missing: boolean) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
      req.resume();
      if (req.url === '/health') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 }).end('ok\n');
      const body = missing ? 'not here\n' : 'hello from the server\n';
      res.writeHead(missing ? 404 : 200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    ups = await Promise.all(['s1', 's2', 'b1'].map((name) => startUpstream({ name, handler: handler(name === 's2') })));
    ups.push(await startUpstream({ name: 'sick', handler: (req, res) => void (req.resume(), res.writeHead(503, { 'content-length': 5 }).end('sick\n')) }));
    hapPort = await freePort();
    hap = await startHaproxy(cfg(hapPort));
    sy = await startSwitchyard(cfg(0));
  });
  afterAll(async () => {
    await hap?.stop();
    await sy?.gw.stop();
    if (sy) fs.rmSync(sy.dir, { recursive: true, force: true });
    await Promise.all(ups.map((u) => u.close()));
  });

  it('the adapter turns use-service prometheus-exporter into HAProxy naming on the frontend', () => {
    const cfgOf = sy.gw.gateway.config as unknown as { prometheus: Record<string, unknown>; frontends: Record<string, Record<string, unknown>> };
    expect(cfgOf.prometheus).toMatchObject({ naming: 'haproxy', enabled: false });
    expect(cfgOf.frontends.web!.prometheus).toEqual({ path: '/metrics' });
  });

  it('same families (name, type, labels) and counters after the same traffic', async () => {
    // Both have checked c1 (passes) and c2 (503) before anything is compared.
    const registry0 = sy.gw.gateway.container.resolve<PrometheusService>(PROMETHEUS_SERVICE).metrics.registry;
    const checked = (text: string): boolean =>
      /haproxy_server_check_status\{proxy="checked",server="c1",state="L7OK"\} 1/.test(text) && /haproxy_server_check_status\{proxy="checked",server="c2",state="L7STS"\} 1/.test(text)
      && /haproxy_server_status\{proxy="checked",server="c2",state="DOWN"\} 1/.test(text);
    await until('both to have checked c1 and c2', async () => {
      if (!(await hap.cli('show stat')).includes('checked,c2')) return false;
      const hs = await hap.cli('show stat');
      if (!/checked,c1,(?:[^,]*,){15}UP,/.test(hs) || !/checked,c2,(?:[^,]*,){15}DOWN,/.test(hs)) return false;
      return checked(await registry0.metrics());
    });
    const hapBase = `http://127.0.0.1:${hapPort}`;
    const syBase = sy.gw.url('');
    const paths = ['/a', '/b', '/c', '/d', '/e', '/f', '/g', '/h', '/i'];
    const sorted = (a: number[]): number[] => [...a].sort();
    expect(sorted(await traffic(hapBase, paths))).toEqual(sorted(await traffic(syBase, paths)));
    // The first scrape is traffic too (both count it once it ended); compare the second.
    await fetchText(`${hapBase}/metrics`);
    await fetchText(`${syBase}/metrics`);
    // Switchyard counts an exchange when it ends: wait (in process, not with another request)
    // until the first scrape is counted.
    const registry = sy.gw.gateway.container.resolve<PrometheusService>(PROMETHEUS_SERVICE).metrics.registry;
    await until('the first scrape to be counted', async () => {
      const text = (await registry.getSingleMetricAsString('haproxy_frontend_http_requests_total')) ?? '';
      return /proxy="web"} 10$/m.test(text);
    });
    const h = parse(await fetchText(`${hapBase}/metrics`));
    const sText = await fetchText(`${syBase}/metrics`);
    const s = parse(sText);

    const problems: string[] = [];
    // A family without series exposes nothing (HAProxy then prints no TYPE line either).
    const ours = [...s.keys()].filter((n) => n.startsWith('haproxy_') && s.get(n)!.samples.size > 0);
    for (const n of ours) if (!h.has(n)) problems.push(`${n}: not a HAProxy family`);
    for (const [name, hf] of h) {
      if (!/^haproxy_(frontend|backend|server)_/.test(name)) continue;
      const sf = s.get(name);
      if (NOT_SUPPORTED.has(name)) {
        if (sf) problems.push(`${name}: listed as not supported but exposed`);
        continue;
      }
      if (!sf) {
        problems.push(`${name}: missing`);
        continue;
      }
      if (sf.type !== hf.type) problems.push(`${name}: type ${sf.type}, HAProxy ${hf.type}`);
      if (sf.labelNames !== hf.labelNames) problems.push(`${name}: labels ${sf.labelNames}, HAProxy ${hf.labelNames}`);
      const hk = [...hf.samples.keys()].sort();
      const sk = [...sf.samples.keys()].sort();
      if (hk.join(' ') !== sk.join(' ')) problems.push(`${name}: series ${sk.join(' ')}, HAProxy ${hk.join(' ')}`);
      if (EXACT.has(name)) {
        for (const [k, v] of hf.samples) if (!Object.is(sf.samples.get(k), v)) problems.push(`${name}{${k}}: ${sf.samples.get(k)}, HAProxy ${v}`);
      }
    }
    expect(problems).toEqual([]);

    // Within the traffic sent: 9 requests on one connection (s1 6 × 200, s2 3 × 404), one
    // finished scrape, and the scrape in flight — which HAProxy counts as a request when it
    // starts and Switchyard when it ends.
    const req = (x: Map<string, Family>): number => x.get('haproxy_frontend_http_requests_total')!.samples.get('proxy=web')!;
    expect(req(h) - req(s)).toBe(1);
    expect(s.get('haproxy_frontend_http_responses_total')!.samples.get('code=2xx,proxy=web')).toBe(7);
    expect(s.get('haproxy_server_sessions_total')!.samples.get('proxy=app,server=s1')).toBe(6);
    expect(h.get('haproxy_server_check_status')!.samples.get('proxy=checked,server=c2,state=L7STS')).toBe(1);
    expect(s.get('haproxy_server_check_status')!.samples.get('proxy=checked,server=c2,state=L7STS')).toBe(1);
    // Up/down transitions: c2 went DOWN once in both (HAProxy starts it UP). A slow first check
    // on a busy machine can flip c1 once in HAProxy, so c1 is not compared.
    expect(s.get('haproxy_server_check_up_down_total')!.samples.get('proxy=checked,server=c2')).toBe(1);
    expect(h.get('haproxy_server_check_up_down_total')!.samples.get('proxy=checked,server=c2')).toBeGreaterThanOrEqual(1);
    expect(s.get('haproxy_backend_check_up_down_total')!.samples.get('proxy=checked')).toBe(0);
    // The last check's code: HAProxy shows 0 while a check is under way, so only ours is pinned.
    expect(s.get('haproxy_server_check_code')!.samples.get('proxy=checked,server=c2')).toBe(503);
    expect([0, 503]).toContain(h.get('haproxy_server_check_code')!.samples.get('proxy=checked,server=c2'));
    expect(s.get('haproxy_server_http_responses_total')!.samples.get('code=4xx,proxy=app,server=s2')).toBe(3);
    expect(s.get('haproxy_frontend_intercepted_requests_total')!.samples.get('proxy=web')).toBe(h.get('haproxy_frontend_intercepted_requests_total')!.samples.get('proxy=web')! - 1);
    for (const n of ['haproxy_frontend_bytes_in_total', 'haproxy_backend_bytes_in_total', 'haproxy_frontend_bytes_out_total', 'haproxy_backend_bytes_out_total']) {
      const key = n.startsWith('haproxy_frontend') ? 'proxy=web' : 'proxy=app';
      const hv = h.get(n)!.samples.get(key)!;
      const sv = s.get(n)!.samples.get(key)!;
      expect(sv).toBeGreaterThan(0);
      // HAProxy counts its internal form of heads (a few bytes shorter per header) and the
      // responses carry each proxy's own headers: within 30 %.
      expect(Math.abs(sv - hv)).toBeLessThanOrEqual(hv * 0.3);
    }
    // Switchyard-only metrics keep their own prefix.
    expect(sText).toContain('# TYPE switchyard_hook_duration_seconds histogram');
    expect(sText).not.toMatch(/^switchyard_frontend_requests_total/m);
  });
});
