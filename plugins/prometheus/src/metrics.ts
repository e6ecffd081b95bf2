import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FAILED_ATTEMPTS, Stage, countRedispatches, type BackendState, type Exchange, type FrontendState, type GatewayApi, type ServerState } from '@switchyard/sdk';
import { FastHistogram, type HistogramChild } from './histogram';

const PLUGIN = '@switchyard/plugin-prometheus';

/** @deprecated the key's id; use FAILED_ATTEMPTS from @switchyard/sdk. */
export const FAILED_ATTEMPTS_VAR = FAILED_ATTEMPTS.id;
export { countRedispatches };

export const DURATION_BUCKETS: ReadonlyArray<number> = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const HOOK_BUCKETS: ReadonlyArray<number> = [0.000001, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

const CODES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

type Classes = [number, number, number, number, number, number];

/** connection.data key: this connection was already counted. */
const kCounted = Symbol('switchyard.prometheus.counted');

class FrontendRecord {
  requests = 0;
  connections = 0;
  errors = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly responses: Classes = [0, 0, 0, 0, 0, 0];
  constructor(readonly state: FrontendState, readonly duration: HistogramChild) {}
}

class BackendRecord {
  requests = 0;
  errors = 0;
  retries = 0;
  redispatches = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly responses: Classes = [0, 0, 0, 0, 0, 0];
  constructor(readonly state: BackendState, readonly duration: HistogramChild) {}
}

class ServerRecord {
  retries = 0;
  redispatches = 0;
  constructor(readonly state: ServerState, readonly duration: HistogramChild | null) {}
}

export interface MetricsOptions {
  prefix: string;
  /**
   * The per frontend / backend / server families under `prefix` (native naming). False with
   * `naming: haproxy`: HaproxyMetrics exposes HAProxy's instead, and only the histograms,
   * hook timing and process metrics stay here.
   */
  families?: boolean;
  serverHistograms: boolean;
  processMetrics: boolean;
}

function statusOf(s: ServerState): 'UP' | 'DOWN' | 'DRAIN' | 'MAINT' {
  if (s.admin === 'maint') return 'MAINT';
  if (s.health === 'down') return 'DOWN';
  if (s.admin === 'drain') return 'DRAIN';
  return 'UP';
}

/**
 * Every metric of a gateway in its own prom-client Registry. Gauges and totals the core
 * keeps (server counters, active, queue, connections) are read at scrape time; the `log`
 * tap only bumps plain counters and one bucket of pre-bound histograms.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly hookDuration: FastHistogram;
  readonly #gateway: GatewayApi;
  readonly #frontends = new Map<FrontendState, FrontendRecord>();
  readonly #backends = new Map<BackendState, BackendRecord>();
  readonly #servers = new Map<ServerState, ServerRecord>();
  readonly #serverDuration: FastHistogram | null;
  readonly #p: string;

  constructor(gateway: GatewayApi, options: MetricsOptions) {
    this.#gateway = gateway;
    const p = (this.#p = options.prefix);
    const fd = new FastHistogram(`${p}frontend_request_duration_seconds`, 'Time from the start of a request (or TCP session) to its end, by frontend.', ['frontend'], DURATION_BUCKETS);
    const bd = new FastHistogram(`${p}backend_request_duration_seconds`, 'Time from the start of a request (or TCP session) to its end, by backend (exchanges that reached a server).', ['backend'], DURATION_BUCKETS);
    this.#serverDuration = options.serverHistograms
      ? new FastHistogram(`${p}server_request_duration_seconds`, 'Time from the start of a request (or TCP session) to its end, by server.', ['backend', 'server'], DURATION_BUCKETS)
      : null;
    this.hookDuration = new FastHistogram(`${p}hook_duration_seconds`, 'Time each plugin spends in each lifecycle hook (async taps: until they settle).', ['hook', 'plugin'], HOOK_BUCKETS);
    for (const fe of gateway.frontends.values()) this.#frontends.set(fe, new FrontendRecord(fe, fd.child({ frontend: fe.name })));
    for (const be of gateway.backends.values()) {
      this.#backends.set(be, new BackendRecord(be, bd.child({ backend: be.name })));
      for (const s of be.servers) this.#serverRecord(s);
    }
    const reg = this.registry as unknown as { registerMetric(m: unknown): void };
    for (const h of [fd, bd, this.#serverDuration, this.hookDuration]) if (h) reg.registerMetric(h);
    if (options.families !== false) {
      this.#defineFrontendMetrics();
      this.#defineBackendMetrics();
      this.#defineServerMetrics();
    }
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  #serverRecord(s: ServerState): ServerRecord {
    let r = this.#servers.get(s);
    if (r === undefined) {
      r = new ServerRecord(s, this.#serverDuration?.child({ backend: s.backend, server: s.name }) ?? null);
      this.#servers.set(s, r);
    }
    return r;
  }

  tap(): void {
    this.#gateway.hooks.log.tap({ name: PLUGIN, stage: Stage.OBSERVE }, (ex: Exchange) => this.observe(ex));
  }

  observe(ex: Exchange): void {
    const sec = Number(process.hrtime.bigint() - ex.startHr) / 1e9;
    const cls = ex.kind === 'http' && ex.status > 0 ? (ex.status >= 100 && ex.status < 600 ? (ex.status / 100) | 0 : 0) : -1;
    // TCP: the log hook runs before the forwarder copies the socket counters (see docs).
    const bin = ex.kind === 'tcp' && ex.bytesIn === 0 ? ex.socket.bytesRead : ex.bytesIn;
    const bout = ex.kind === 'tcp' && ex.bytesOut === 0 ? ex.socket.bytesWritten : ex.bytesOut;
    const f = this.#frontends.get(ex.frontend);
    if (f !== undefined) {
      f.requests++;
      const cd = ex.connection.data;
      if (!cd.has(kCounted)) {
        cd.set(kCounted, true);
        f.connections++;
      }
      f.bytesIn += bin;
      f.bytesOut += bout;
      if (cls >= 0) f.responses[cls]++;
      if (ex.error !== null) f.errors++;
      f.duration.observe(sec);
    }
    const be = ex.backend;
    if (be === null) return;
    const b = this.#backends.get(be);
    if (b === undefined) return;
    b.requests++;
    b.bytesIn += bin;
    b.bytesOut += bout;
    if (cls >= 0) b.responses[cls]++;
    if (ex.error !== null) b.errors++;
    let redispatched = 0;
    if (ex.retries > 0) {
      b.retries += ex.retries;
      redispatched = countRedispatches(ex);
      b.redispatches += redispatched;
    }
    const s = ex.server;
    if (s === null) return;
    b.duration.observe(sec);
    const r = this.#serverRecord(s);
    r.duration?.observe(sec);
    if (ex.retries > 0) {
      r.retries += ex.retries;
      r.redispatches += redispatched;
    }
  }

  #gauge(name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): void {
    new Gauge({
      name: this.#p + name, help, labelNames, registers: [this.registry],
      collect() {
        this.reset();
        collect(this);
      },
    });
  }

  #counter(name: string, help: string, labelNames: string[], collect: (c: Counter) => void): void {
    new Counter({
      name: this.#p + name, help, labelNames, registers: [this.registry],
      collect() {
        this.reset();
        collect(this);
      },
    });
  }

  #defineFrontendMetrics(): void {
    const fes = (): IterableIterator<FrontendRecord> => this.#frontends.values();
    this.#gauge('frontend_current_connections', 'Client connections open now.', ['frontend'], (g) => {
      for (const f of fes()) g.set({ frontend: f.state.name }, f.state.connections);
    });
    this.#gauge('frontend_limit_connections', 'Configured maxconn (0 = unlimited).', ['frontend'], (g) => {
      for (const f of fes()) g.set({ frontend: f.state.name }, f.state.config.maxconn);
    });
    this.#counter('frontend_connections_total', 'Client connections that carried at least one request or session.', ['frontend'], (c) => {
      for (const f of fes()) c.inc({ frontend: f.state.name }, f.connections);
    });
    this.#counter('frontend_requests_total', 'HTTP requests or TCP sessions ended on this frontend.', ['frontend'], (c) => {
      for (const f of fes()) c.inc({ frontend: f.state.name }, f.requests);
    });
    this.#counter('frontend_http_responses_total', 'HTTP responses by status class (code="1xx".."5xx" or "other").', ['frontend', 'code'], (c) => {
      for (const f of fes()) for (let i = 0; i < 6; i++) c.inc({ frontend: f.state.name, code: CODES[i]! }, f.responses[i]!);
    });
    this.#counter('frontend_errors_total', 'Exchanges that ended with an error (no server, timeouts, resets...).', ['frontend'], (c) => {
      for (const f of fes()) c.inc({ frontend: f.state.name }, f.errors);
    });
    this.#counter('frontend_bytes_in_total', 'Request body bytes received from clients.', ['frontend'], (c) => {
      for (const f of fes()) c.inc({ frontend: f.state.name }, f.bytesIn);
    });
    this.#counter('frontend_bytes_out_total', 'Response body bytes sent to clients.', ['frontend'], (c) => {
      for (const f of fes()) c.inc({ frontend: f.state.name }, f.bytesOut);
    });
  }

  #defineBackendMetrics(): void {
    const bes = (): IterableIterator<BackendRecord> => this.#backends.values();
    this.#gauge('backend_up', '1 when at least one server is available.', ['backend'], (g) => {
      for (const b of bes()) g.set({ backend: b.state.name }, b.state.servers.some((s) => s.available) ? 1 : 0);
    });
    this.#gauge('backend_active_servers', 'Servers available now (up, ready, weight > 0).', ['backend'], (g) => {
      for (const b of bes()) g.set({ backend: b.state.name }, b.state.servers.filter((s) => s.available).length);
    });
    this.#gauge('backend_current_queue', 'Requests waiting for a server slot.', ['backend'], (g) => {
      for (const b of bes()) g.set({ backend: b.state.name }, b.state.queued);
    });
    this.#gauge('backend_limit_queue', 'Configured maxqueue (0 = unlimited).', ['backend'], (g) => {
      for (const b of bes()) g.set({ backend: b.state.name }, b.state.config.maxqueue);
    });
    this.#gauge('backend_current_sessions', 'Exchanges in flight on the backend\'s servers.', ['backend'], (g) => {
      for (const b of bes()) g.set({ backend: b.state.name }, b.state.servers.reduce((n, s) => n + s.active, 0));
    });
    this.#counter('backend_requests_total', 'Exchanges routed to this backend that ended.', ['backend'], (c) => {
      for (const b of bes()) c.inc({ backend: b.state.name }, b.requests);
    });
    this.#counter('backend_http_responses_total', 'HTTP responses by status class.', ['backend', 'code'], (c) => {
      for (const b of bes()) for (let i = 0; i < 6; i++) c.inc({ backend: b.state.name, code: CODES[i]! }, b.responses[i]!);
    });
    this.#counter('backend_errors_total', 'Exchanges routed here that ended with an error.', ['backend'], (c) => {
      for (const b of bes()) c.inc({ backend: b.state.name }, b.errors);
    });
    this.#counter('backend_retries_total', 'Retries (exchange.retries) summed over ended exchanges.', ['backend'], (c) => {
      for (const b of bes()) c.inc({ backend: b.state.name }, b.retries);
    });
    this.#counter('backend_redispatches_total', 'Retries that went to another server.', ['backend'], (c) => {
      for (const b of bes()) c.inc({ backend: b.state.name }, b.redispatches);
    });
    this.#counter('backend_bytes_in_total', 'Request body bytes sent through this backend.', ['backend'], (c) => {
      for (const b of bes()) c.inc({ backend: b.state.name }, b.bytesIn);
    });
    this.#counter('backend_bytes_out_total', 'Response body bytes received through this backend.', ['backend'], (c) => {
      for (const b of bes()) c.inc({ backend: b.state.name }, b.bytesOut);
    });
  }

  #allServers(): ServerState[] {
    const out: ServerState[] = [];
    for (const be of this.#gateway.backends.values()) for (const s of be.servers) out.push(s);
    return out;
  }

  #defineServerMetrics(): void {
    const l = (s: ServerState): { backend: string; server: string } => ({ backend: s.backend, server: s.name });
    this.#gauge('server_status', 'Server state: 1 for the current one of UP, DOWN, DRAIN, MAINT.', ['backend', 'server', 'state'], (g) => {
      for (const s of this.#allServers()) {
        const st = statusOf(s);
        for (const x of ['UP', 'DOWN', 'DRAIN', 'MAINT']) g.set({ ...l(s), state: x }, st === x ? 1 : 0);
      }
    });
    this.#gauge('server_up', '1 when the server is available (up, ready, weight > 0).', ['backend', 'server'], (g) => {
      for (const s of this.#allServers()) g.set(l(s), s.available ? 1 : 0);
    });
    this.#gauge('server_weight', 'Effective weight (0-256).', ['backend', 'server'], (g) => {
      for (const s of this.#allServers()) g.set(l(s), s.weight);
    });
    this.#gauge('server_current_sessions', 'Exchanges in flight on the server.', ['backend', 'server'], (g) => {
      for (const s of this.#allServers()) g.set(l(s), s.active);
    });
    this.#gauge('server_limit_sessions', 'Configured maxconn (0 = unlimited).', ['backend', 'server'], (g) => {
      for (const s of this.#allServers()) g.set(l(s), s.maxconn);
    });
    this.#gauge('server_last_change_timestamp_seconds', 'When the admin or health state last changed (Unix time).', ['backend', 'server'], (g) => {
      for (const s of this.#allServers()) g.set(l(s), s.lastChange / 1000);
    });
    this.#gauge('server_backup', '1 for a backup server.', ['backend', 'server'], (g) => {
      for (const s of this.#allServers()) g.set(l(s), s.backup ? 1 : 0);
    });
    this.#counter('server_sessions_total', 'HTTP requests or TCP sessions sent to the server.', ['backend', 'server'], (c) => {
      for (const s of this.#allServers()) c.inc(l(s), s.counters.sessions);
    });
    this.#counter('server_errors_total', 'Failed exchanges attributed to the server (connect errors, resets, timeouts).', ['backend', 'server'], (c) => {
      for (const s of this.#allServers()) c.inc(l(s), s.counters.errors);
    });
    this.#counter('server_http_responses_total', 'HTTP responses by status class.', ['backend', 'server', 'code'], (c) => {
      for (const s of this.#allServers()) for (let i = 0; i < 6; i++) c.inc({ ...l(s), code: CODES[i]! }, s.counters.responses[i]!);
    });
    this.#counter('server_bytes_in_total', 'Request body bytes sent to the server.', ['backend', 'server'], (c) => {
      for (const s of this.#allServers()) c.inc(l(s), s.counters.bytesIn);
    });
    this.#counter('server_bytes_out_total', 'Response body bytes received from the server.', ['backend', 'server'], (c) => {
      for (const s of this.#allServers()) c.inc(l(s), s.counters.bytesOut);
    });
    this.#counter('server_retries_total', 'Retries of exchanges that ended on this server.', ['backend', 'server'], (c) => {
      for (const s of this.#allServers()) c.inc(l(s), this.#serverRecord(s).retries);
    });
    this.#counter('server_redispatches_total', 'Redispatches of exchanges that ended on this server.', ['backend', 'server'], (c) => {
      for (const s of this.#allServers()) c.inc(l(s), this.#serverRecord(s).redispatches);
    });
  }
}
