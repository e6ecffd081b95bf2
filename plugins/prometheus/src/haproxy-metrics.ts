import { Counter, Gauge, type Registry } from 'prom-client';
import {
  Stage, countTermination, createWireCounter,
  type BackendState, type Connection, type Exchange, type FrontendState, type GatewayApi, type ServerState, type WireBytes,
} from '@switchyard/sdk';
import { countRedispatches } from './metrics';

const PLUGIN = '@switchyard/plugin-prometheus';
const CODES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** HAProxy 2.6's server states, in its order (`haproxy_server_status{state=…}`). */
const SERVER_STATES = ['DOWN', 'UP', 'MAINT', 'DRAIN', 'NOLB'] as const;
/** HAProxy 2.6's check results (`haproxy_server_check_status{state=…}`), in its order. */
const CHECK_STATES = ['HANA', 'SOCKERR', 'L4OK', 'L4TOUT', 'L4CON', 'L6OK', 'L6TOUT', 'L6RSP', 'L7TOUT', 'L7RSP', 'L7OK', 'L7OKC', 'L7STS', 'PROCERR', 'PROCTOUT', 'PROCOK'] as const;
/** The health-check plugin's HAProxy-worded reasons → HAProxy's check codes. */
const CHECK_CODES: Record<string, string> = {
  'Layer4 check passed': 'L4OK', 'Layer4 timeout': 'L4TOUT', 'Layer4 connection problem': 'L4CON', 'Layer4 internal error': 'SOCKERR',
  'Layer6 check passed': 'L6OK', 'Layer6 timeout': 'L6TOUT', 'Layer6 invalid response': 'L6RSP',
  'Layer7 check passed': 'L7OK', 'Layer7 timeout': 'L7TOUT', 'Layer7 invalid response': 'L7RSP', 'Layer7 wrong status': 'L7STS',
  'Layer7 wrong content': 'L7RSP', 'Layer7 agent reports down': 'L7STS',
};
/**
 * @switchyard/plugin-health-check's keys, from its contract entry (no plugin code). It is an
 * optional peer: without it no server is checked, and a private symbol stands in for the keys.
 */
const health = ((): typeof import('@switchyard/plugin-health-check/contract') | undefined => {
  try {
    return require('@switchyard/plugin-health-check/contract') as typeof import('@switchyard/plugin-health-check/contract');
  } catch {
    return undefined;
  }
})();
/** server.data key where @switchyard/plugin-health-check leaves its control, with `last` = the last result. */
const HEALTH_CONTROL_KEY: string | symbol = health?.HEALTH_CONTROL.id ?? Symbol('no plugin-health-check');

type Classes = [number, number, number, number, number, number];

/** What HAProxy counts per backend and per server and the core does not keep. */
class ProxyRecord {
  bytesIn = 0;
  bytesOut = 0;
  requests = 0;
  connectionErrors = 0;
  responseErrors = 0;
  clientAborts = 0;
  serverAborts = 0;
  internalErrors = 0;
  retries = 0;
  redispatches = 0;
  maxActive = 0;
  /** UP → DOWN transitions (a server's health; a backend: its last available server went). */
  upDown = 0;
  /** Since when it is DOWN (ms since epoch), 0 while up; and the DOWN time before that. */
  downSince = 0;
  downtime = 0;
  /** A backend's last status change (ms since epoch). */
  lastChange = Date.now();
  /** Highest exchanges started in one second (sampled each second). */
  maxRate = 0;
  lastRequests = 0;
  /** ms since epoch; 0 = never. */
  lastSession = 0;
  timeSum = 0;
  timeCount = 0;
  maxTime = 0;
  readonly responses: Classes = [0, 0, 0, 0, 0, 0];

  count(ex: Exchange, wire: WireBytes, sec: number, cls: number): void {
    this.requests++;
    this.bytesIn += wire.in;
    this.bytesOut += wire.out;
    if (cls >= 0) this.responses[cls]++;
    countTermination(this, ex.termination);
    if (ex.startTime > this.lastSession) this.lastSession = ex.startTime;
    this.timeSum += sec;
    this.timeCount++;
    if (sec > this.maxTime) this.maxTime = sec;
  }
}

class FrontendRecord {
  sessions = 0;
  maxSessions = 0;
  requests = 0;
  bytesIn = 0;
  bytesOut = 0;
  intercepted = 0;
  denied = 0;
  requestErrors = 0;
  internalErrors = 0;
  readonly responses: Classes = [0, 0, 0, 0, 0, 0];
  /** Highest sessions (connections) and requests per second, sampled each second. */
  maxSessionRate = 0;
  maxRequestRate = 0;
  lastSessions = 0;
  lastRequests = 0;
  constructor(readonly state: FrontendState) {}
}

function serverState(s: ServerState): (typeof SERVER_STATES)[number] {
  if (s.admin === 'maint') return 'MAINT';
  if (s.health === 'down') return 'DOWN';
  if (s.admin === 'drain') return 'DRAIN';
  return 'UP';
}

interface LastCheck {
  reason?: string;
  code?: unknown;
  duration?: number;
}

/** The health-check plugin's last result for a checked server (undefined: no checks, or none yet). */
function lastCheck(s: ServerState): LastCheck | undefined {
  const ctl = s.data.get(HEALTH_CONTROL_KEY) as { last?: LastCheck | null } | undefined;
  return ctl?.last ?? undefined;
}

function checkCode(s: ServerState): string | null {
  const reason = lastCheck(s)?.reason;
  return reason === undefined ? null : CHECK_CODES[reason] ?? null;
}

/**
 * The families of HAProxy's own Prometheus exporter (`http-request use-service
 * prometheus-exporter`, HAProxy 2.6) for frontends, backends and servers: the same names,
 * label names (`proxy`, `server`, `state`, `code`) and types, so HAProxy dashboards and
 * alerts keep working. Only families whose meaning Switchyard has are exposed; docs/monitoring.md
 * lists them. Counting happens in an `accept` tap (sessions) and the `log` tap; gauges and
 * what the core keeps are read at scrape time.
 */
export class HaproxyMetrics {
  readonly #gateway: GatewayApi;
  readonly #registry: Registry;
  readonly #p: string;
  readonly #frontends = new Map<FrontendState, FrontendRecord>();
  readonly #backends = new Map<BackendState, ProxyRecord>();
  readonly #servers = new Map<ServerState, ProxyRecord>();
  readonly #countWire = createWireCounter(`${PLUGIN}.haproxy`);
  readonly #wire: WireBytes = { in: 0, out: 0 };
  #timer: NodeJS.Timeout | null = null;
  #lastTick = 0;

  constructor(gateway: GatewayApi, registry: Registry, prefix: string) {
    this.#gateway = gateway;
    this.#registry = registry;
    this.#p = prefix;
    for (const fe of gateway.frontends.values()) this.#frontends.set(fe, new FrontendRecord(fe));
    for (const be of gateway.backends.values()) this.#backends.set(be, new ProxyRecord());
    this.#defineFrontend();
    this.#defineBackend();
    this.#defineServer();
    gateway.events.on('server-change', (change) => {
      if (change.what !== 'health' && change.what !== 'admin' && change.what !== 'weight') return;
      const now = Date.now();
      const s = change.server;
      if (change.what === 'health') {
        const r = this.#server(s);
        if (change.to === 'down' && r.downSince === 0) {
          r.upDown++;
          r.downSince = now;
        } else if (change.to === 'up' && r.downSince !== 0) {
          r.downtime += now - r.downSince;
          r.downSince = 0;
        }
      }
      const be = gateway.backends.get(s.backend);
      const b = be ? this.#backends.get(be) : undefined;
      if (!be || !b) return;
      const up = be.servers.some((x) => x.available);
      if (!up && b.downSince === 0) {
        b.upDown++;
        b.downSince = now;
        b.lastChange = now;
      } else if (up && b.downSince !== 0) {
        b.downtime += now - b.downSince;
        b.downSince = 0;
        b.lastChange = now;
      }
    });
  }

  tap(): void {
    this.#gateway.hooks.accept.tap({ name: PLUGIN, stage: Stage.OBSERVE }, (conn: Connection): undefined => {
      const f = this.#frontends.get(conn.frontend);
      if (f !== undefined) {
        f.sessions++;
        if (conn.frontend.connections > f.maxSessions) f.maxSessions = conn.frontend.connections;
      }
      return undefined;
    });
    this.#gateway.hooks.log.tap({ name: PLUGIN, stage: Stage.OBSERVE }, (ex: Exchange) => this.observe(ex));
  }

  /** Samples the per-second maxima once a second (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.#timer) return;
    this.#lastTick = Date.now();
    this.#timer = setInterval(() => this.sample(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  sample(): void {
    const now = Date.now();
    const secs = Math.max(0.001, (now - this.#lastTick) / 1000);
    this.#lastTick = now;
    const rate = (n: number, last: number): number => Math.round((n - last) / secs);
    for (const f of this.#frontends.values()) {
      f.maxSessionRate = Math.max(f.maxSessionRate, rate(f.sessions, f.lastSessions));
      f.maxRequestRate = Math.max(f.maxRequestRate, rate(f.requests, f.lastRequests));
      f.lastSessions = f.sessions;
      f.lastRequests = f.requests;
    }
    for (const r of [...this.#backends.values(), ...this.#servers.values()]) {
      r.maxRate = Math.max(r.maxRate, rate(r.requests, r.lastRequests));
      r.lastRequests = r.requests;
    }
  }

  #server(s: ServerState): ProxyRecord {
    let r = this.#servers.get(s);
    if (r === undefined) {
      r = new ProxyRecord();
      this.#servers.set(s, r);
    }
    return r;
  }

  observe(ex: Exchange): void {
    const sec = Number(process.hrtime.bigint() - ex.startHr) / 1e9;
    const cls = ex.kind === 'http' && ex.status > 0 ? (ex.status >= 100 && ex.status < 600 ? (ex.status / 100) | 0 : 0) : -1;
    const wire = this.#wire;
    this.#countWire(ex, wire);
    const f = this.#frontends.get(ex.frontend);
    if (f !== undefined) {
      f.requests++;
      f.bytesIn += wire.in;
      f.bytesOut += wire.out;
      if (cls >= 0) f.responses[cls]++;
      if (ex.error !== null && ex.backend === null) f.requestErrors++;
      if (ex.termination === 'local') {
        f.intercepted++;
        if (ex.kind === 'http' && ex.status === 403) f.denied++;
      } else if (ex.termination === 'internal-error') f.internalErrors++;
    }
    const be = ex.backend;
    if (be === null) return;
    const b = this.#backends.get(be);
    if (b === undefined) return;
    b.count(ex, wire, sec, cls);
    let redispatched = 0;
    if (ex.retries > 0) {
      b.retries += ex.retries;
      redispatched = countRedispatches(ex);
      b.redispatches += redispatched;
    }
    let active = 0;
    for (const s of be.servers) active += s.active;
    if (active + 1 > b.maxActive) b.maxActive = active + 1;
    const s = ex.server;
    if (s === null) return;
    const r = this.#server(s);
    r.count(ex, wire, sec, cls);
    if (ex.retries > 0) {
      r.retries += ex.retries;
      r.redispatches += redispatched;
    }
    // The slot was given back just before the log hook: active + 1 was the load a moment ago.
    if (s.active + 1 > r.maxActive) r.maxActive = s.active + 1;
  }

  #metric(kind: 'gauge' | 'counter', name: string, help: string, labelNames: string[], collect: (set: (labels: Record<string, string>, v: number) => void) => void): void {
    const registers = [this.#registry];
    if (kind === 'gauge') {
      new Gauge({
        name: this.#p + name, help, labelNames, registers,
        collect() {
          this.reset();
          collect((l, v) => this.set(l, v));
        },
      });
    } else {
      new Counter({
        name: this.#p + name, help, labelNames, registers,
        collect() {
          this.reset();
          collect((l, v) => this.inc(l, v));
        },
      });
    }
  }

  #defineFrontend(): void {
    const each = (fn: (f: FrontendRecord, l: { proxy: string }) => void) => (): void => {
      for (const f of this.#frontends.values()) fn(f, { proxy: f.state.name });
    };
    const g = (name: string, help: string, v: (f: FrontendRecord) => number): void =>
      this.#metric('gauge', `frontend_${name}`, help, ['proxy'], (set) => each((f, l) => set(l, v(f)))());
    const c = (name: string, help: string, v: (f: FrontendRecord) => number): void =>
      this.#metric('counter', `frontend_${name}`, help, ['proxy'], (set) => each((f, l) => set(l, v(f)))());
    g('current_sessions', 'Number of current sessions on the frontend.', (f) => f.state.connections);
    g('max_sessions', 'Highest value of current sessions encountered since process started.', (f) => Math.max(f.maxSessions, f.state.connections));
    this.#metric('gauge', 'frontend_limit_sessions', 'Frontend/listener/server\'s maxconn setting (NaN = none).', ['proxy'], (set) => {
      for (const f of this.#frontends.values()) set({ proxy: f.state.name }, f.state.config.maxconn > 0 ? f.state.config.maxconn : NaN);
    });
    c('sessions_total', 'Total number of sessions since process started.', (f) => f.sessions);
    c('bytes_in_total', 'Total number of request bytes since process started.', (f) => f.bytesIn);
    c('bytes_out_total', 'Total number of response bytes since process started.', (f) => f.bytesOut);
    c('requests_denied_total', 'Total number of denied requests since process started.', (f) => f.denied);
    c('request_errors_total', 'Total number of invalid requests since process started.', (f) => f.requestErrors);
    this.#metric('gauge', 'frontend_status', 'Current status of the service, per state label value.', ['proxy', 'state'], (set) => {
      const up = this.#gateway.stopping ? 0 : 1;
      for (const f of this.#frontends.values()) {
        set({ proxy: f.state.name, state: 'DOWN' }, 1 - up);
        set({ proxy: f.state.name, state: 'UP' }, up);
      }
    });
    g('limit_session_rate', 'Limit on the number of sessions accepted in a second (0 = unlimited).', () => 0);
    g('max_session_rate', 'Highest value of sessions per second observed since the worker process started.', (f) => f.maxSessionRate);
    g('connections_rate_max', 'Highest value of connections per second observed since the worker process started.', (f) => f.maxSessionRate);
    this.#metric('gauge', 'frontend_http_requests_rate_max', 'Highest value of http requests observed since the worker process started', ['proxy'], (set) => {
      for (const f of this.#frontends.values()) if (f.state.mode === 'http') set({ proxy: f.state.name }, f.maxRequestRate);
    });
    this.#metric('counter', 'frontend_http_responses_total', 'Total number of HTTP responses with status 100-199 returned by this object since the worker process started.', ['proxy', 'code'], (set) => {
      for (const f of this.#frontends.values()) {
        if (f.state.mode !== 'http') continue;
        for (let i = 1; i <= 5; i++) set({ proxy: f.state.name, code: CODES[i]! }, f.responses[i]!);
        set({ proxy: f.state.name, code: 'other' }, f.responses[0]);
      }
    });
    this.#metric('counter', 'frontend_http_requests_total', 'Total number of HTTP requests processed by this object since the worker process started.', ['proxy'], (set) => {
      for (const f of this.#frontends.values()) if (f.state.mode === 'http') set({ proxy: f.state.name }, f.requests);
    });
    c('connections_total', 'Total number of new connections accepted on this frontend since the worker process started.', (f) => f.sessions);
    this.#metric('counter', 'frontend_intercepted_requests_total', 'Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started.', ['proxy'], (set) => {
      for (const f of this.#frontends.values()) if (f.state.mode === 'http') set({ proxy: f.state.name }, f.intercepted);
    });
    c('internal_errors_total', 'Total number of internal errors since process started.', (f) => f.internalErrors);
  }

  #defineBackend(): void {
    const each = (fn: (be: BackendState, r: ProxyRecord) => void) => (): void => {
      for (const [be, r] of this.#backends) fn(be, r);
    };
    const g = (name: string, help: string, v: (be: BackendState, r: ProxyRecord) => number): void =>
      this.#metric('gauge', `backend_${name}`, help, ['proxy'], (set) => each((be, r) => set({ proxy: be.name }, v(be, r)))());
    const c = (name: string, help: string, v: (be: BackendState, r: ProxyRecord) => number): void =>
      this.#metric('counter', `backend_${name}`, help, ['proxy'], (set) => each((be, r) => set({ proxy: be.name }, v(be, r)))());
    const active = (be: BackendState): number => be.servers.reduce((n, s) => n + s.active, 0);
    const weight = (be: BackendState): number => {
      let act = 0;
      let bck = 0;
      for (const s of be.servers) {
        if (!s.available) continue;
        if (s.backup) bck += s.weight;
        else act += s.weight;
      }
      return act > 0 ? act : bck;
    };
    g('current_queue', 'Number of current queued connections.', (be) => be.queued);
    g('current_sessions', 'Number of current sessions on the frontend, backend or server.', (be) => active(be));
    g('max_sessions', 'Highest value of current sessions encountered since process started.', (be, r) => Math.max(r.maxActive, active(be)));
    c('sessions_total', 'Total number of sessions since process started.', (_be, r) => r.requests);
    c('bytes_in_total', 'Total number of request bytes since process started.', (_be, r) => r.bytesIn);
    c('bytes_out_total', 'Total number of response bytes since process started.', (_be, r) => r.bytesOut);
    c('connection_errors_total', 'Total number of failed connections to server since the worker process started.', (_be, r) => r.connectionErrors);
    c('response_errors_total', 'Total number of invalid responses since the worker process started.', (_be, r) => r.responseErrors);
    c('retry_warnings_total', 'Total number of server connection retries since the worker process started.', (_be, r) => r.retries);
    c('redispatch_warnings_total', 'Total number of server redispatches due to connection failures since the worker process started.', (_be, r) => r.redispatches);
    this.#metric('gauge', 'backend_status', 'Current status of the service, per state label value.', ['proxy', 'state'], (set) => {
      for (const be of this.#backends.keys()) {
        const up = be.servers.some((s) => s.available) ? 1 : 0;
        set({ proxy: be.name, state: 'DOWN' }, 1 - up);
        set({ proxy: be.name, state: 'UP' }, up);
      }
    });
    g('weight', 'Server\'s effective weight, or sum of active servers\' effective weights for a backend.', (be) => weight(be));
    g('active_servers', 'Total number of active UP servers with a non-zero weight.', (be) => be.servers.filter((s) => !s.backup && s.available).length);
    g('backup_servers', 'Total number of backup UP servers with a non-zero weight.', (be) => be.servers.filter((s) => s.backup && s.available).length);
    c('loadbalanced_total', 'Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness).', (_be, r) => r.requests);
    g('max_session_rate', 'Highest value of sessions per second observed since the worker process started.', (_be, r) => r.maxRate);
    c('check_up_down_total', 'Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started', (_be, r) => r.upDown);
    g('check_last_change_seconds', 'How long ago the last server state changed, in seconds', (_be, r) => Math.max(0, Math.round((Date.now() - r.lastChange) / 1000)));
    c('downtime_seconds_total', 'Total downtime (in seconds) for the service', (_be, r) => Math.round((r.downtime + (r.downSince ? Date.now() - r.downSince : 0)) / 1000));
    this.#metric('counter', 'backend_http_responses_total', 'Total number of HTTP responses with status 100-199 returned by this object since the worker process started.', ['proxy', 'code'], (set) => {
      for (const [be, r] of this.#backends) {
        if (be.mode !== 'http') continue;
        for (let i = 1; i <= 5; i++) set({ proxy: be.name, code: CODES[i]! }, r.responses[i]!);
        set({ proxy: be.name, code: 'other' }, r.responses[0]);
      }
    });
    this.#metric('counter', 'backend_http_requests_total', 'Total number of HTTP requests processed by this object since the worker process started.', ['proxy'], (set) => {
      for (const [be, r] of this.#backends) if (be.mode === 'http') set({ proxy: be.name }, r.requests);
    });
    c('client_aborts_total', 'Total number of requests or connections aborted by the client since the worker process started.', (_be, r) => r.clientAborts);
    c('server_aborts_total', 'Total number of requests or connections aborted by the server since the worker process started.', (_be, r) => r.serverAborts);
    g('last_session_seconds', 'How long ago some traffic was seen on this object on this worker process, in seconds.', (_be, r) => (r.lastSession === 0 ? -1 : Math.round((Date.now() - r.lastSession) / 1000)));
    g('total_time_average_seconds', 'Avg. total time for last 1024 successful connections.', (_be, r) => (r.timeCount === 0 ? 0 : r.timeSum / r.timeCount));
    g('max_total_time_seconds', 'Maximum observed total request+response time (request+queue+connect+response+processing)', (_be, r) => r.maxTime);
    c('internal_errors_total', 'Total number of internal errors since process started.', (_be, r) => r.internalErrors);
    g('uweight', 'Server\'s user weight, or sum of active servers\' user weights for a backend', (be) => weight(be));
  }

  #allServers(): ServerState[] {
    const out: ServerState[] = [];
    for (const be of this.#gateway.backends.values()) for (const s of be.servers) out.push(s);
    return out;
  }

  #defineServer(): void {
    const l = (s: ServerState): { proxy: string; server: string } => ({ proxy: s.backend, server: s.name });
    const g = (name: string, help: string, v: (s: ServerState, r: ProxyRecord) => number): void =>
      this.#metric('gauge', `server_${name}`, help, ['proxy', 'server'], (set) => {
        for (const s of this.#allServers()) set(l(s), v(s, this.#server(s)));
      });
    const c = (name: string, help: string, v: (s: ServerState, r: ProxyRecord) => number): void =>
      this.#metric('counter', `server_${name}`, help, ['proxy', 'server'], (set) => {
        for (const s of this.#allServers()) set(l(s), v(s, this.#server(s)));
      });
    g('current_queue', 'Number of current queued connections.', () => 0);
    g('max_queue', 'Highest value of queued connections encountered since process started.', () => 0);
    g('current_sessions', 'Number of current sessions on the frontend, backend or server.', (s) => s.active);
    g('max_sessions', 'Highest value of current sessions encountered since process started.', (s, r) => Math.max(r.maxActive, s.active));
    // HAProxy says NaN for a server without maxconn.
    this.#metric('gauge', 'server_limit_sessions', 'Frontend/listener/server\'s maxconn setting (NaN = none).', ['proxy', 'server'], (set) => {
      for (const s of this.#allServers()) set(l(s), s.maxconn > 0 ? s.maxconn : NaN);
    });
    c('sessions_total', 'Total number of sessions since process started.', (s) => s.counters.sessions);
    c('bytes_in_total', 'Total number of request bytes since process started.', (_s, r) => r.bytesIn);
    c('bytes_out_total', 'Total number of response bytes since process started.', (_s, r) => r.bytesOut);
    c('connection_errors_total', 'Total number of failed connections to server since the worker process started.', (_s, r) => r.connectionErrors);
    c('response_errors_total', 'Total number of invalid responses since the worker process started.', (_s, r) => r.responseErrors);
    c('retry_warnings_total', 'Total number of server connection retries since the worker process started.', (_s, r) => r.retries);
    c('redispatch_warnings_total', 'Total number of server redispatches due to connection failures since the worker process started.', (_s, r) => r.redispatches);
    this.#metric('gauge', 'server_status', 'Current status of the service, per state label value.', ['proxy', 'server', 'state'], (set) => {
      for (const s of this.#allServers()) {
        const st = serverState(s);
        for (const x of SERVER_STATES) set({ ...l(s), state: x }, st === x ? 1 : 0);
      }
    });
    g('weight', 'Server\'s effective weight, or sum of active servers\' effective weights for a backend.', (s) => s.weight);
    this.#metric('gauge', 'server_check_status', 'Status of last health check, per state label value.', ['proxy', 'server', 'state'], (set) => {
      for (const s of this.#allServers()) {
        const code = checkCode(s);
        if (code === null) continue;
        for (const x of CHECK_STATES) set({ ...l(s), state: x }, code === x ? 1 : 0);
      }
    });
    this.#metric('gauge', 'server_check_code', 'layer5-7 code, if available of the last health check.', ['proxy', 'server'], (set) => {
      for (const s of this.#allServers()) {
        const last = lastCheck(s);
        if (last === undefined) continue;
        const code = Number(last.code);
        set(l(s), Number.isInteger(code) && code > 0 ? code : 0);
      }
    });
    this.#metric('gauge', 'server_check_duration_seconds', 'Total duration of the latest server health check, in seconds.', ['proxy', 'server'], (set) => {
      for (const s of this.#allServers()) {
        const last = lastCheck(s);
        if (last !== undefined && typeof last.duration === 'number') set(l(s), last.duration / 1000);
      }
    });
    g('check_last_change_seconds', 'How long ago the last server state changed, in seconds.', (s) => Math.max(0, Math.round((Date.now() - s.lastChange) / 1000)));
    c('loadbalanced_total', 'Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness).', (s) => s.counters.sessions);
    g('max_session_rate', 'Highest value of sessions per second observed since the worker process started.', (_s, r) => r.maxRate);
    // HAProxy says NaN for a server without health checks.
    c('check_up_down_total', 'Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started', (s, r) => (s.data.has(HEALTH_CONTROL_KEY) ? r.upDown : NaN));
    c('downtime_seconds_total', 'Total downtime (in seconds) for the service', (_s, r) => Math.round((r.downtime + (r.downSince ? Date.now() - r.downSince : 0)) / 1000));
    this.#metric('counter', 'server_http_responses_total', 'Total number of HTTP responses with status 100-199 returned by this object since the worker process started.', ['proxy', 'server', 'code'], (set) => {
      for (const s of this.#allServers()) {
        if (this.#gateway.backends.get(s.backend)?.mode !== 'http') continue;
        const r = this.#server(s);
        for (let i = 1; i <= 5; i++) set({ ...l(s), code: CODES[i]! }, r.responses[i]!);
        set({ ...l(s), code: 'other' }, r.responses[0]);
      }
    });
    c('client_aborts_total', 'Total number of requests or connections aborted by the client since the worker process started.', (_s, r) => r.clientAborts);
    c('server_aborts_total', 'Total number of requests or connections aborted by the server since the worker process started.', (_s, r) => r.serverAborts);
    g('last_session_seconds', 'How long ago some traffic was seen on this object on this worker process, in seconds.', (_s, r) => (r.lastSession === 0 ? -1 : Math.round((Date.now() - r.lastSession) / 1000)));
    g('total_time_average_seconds', 'Avg. total time for last 1024 successful connections.', (_s, r) => (r.timeCount === 0 ? 0 : r.timeSum / r.timeCount));
    g('max_total_time_seconds', 'Maximum observed total request+response time (request+queue+connect+response+processing)', (_s, r) => r.maxTime);
    c('internal_errors_total', 'Total number of internal errors since process started.', (_s, r) => r.internalErrors);
    g('uweight', 'Server\'s user weight, or sum of active servers\' user weights for a backend', (s) => s.weight);
  }
}
