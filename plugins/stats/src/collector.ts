import type {
  BackendState, Connection, Exchange, FrontendState, GatewayApi, ServerState,
} from '@switchyard/sdk';
import { FAILED_ATTEMPTS, Stage, countRedispatches, countTermination, createWireCounter, type WireBytes } from '@switchyard/sdk';
import { LatencyWindow } from './latency';
import type {
  BackendStats, FrontendStats, HistoryPoint, HistorySeries, ProxyFailures, ServerStats, StatsSnapshot, Status,
} from './types';

const PLUGIN = '@switchyard/plugin-stats';

/** @deprecated the key's id; use FAILED_ATTEMPTS from @switchyard/sdk. */
export const FAILED_ATTEMPTS_VAR = FAILED_ATTEMPTS.id;
export { countRedispatches };
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
/** @deprecated HEALTH_CONTROL's id; import HEALTH_CONTROL from @switchyard/plugin-health-check/contract. */
export const HEALTH_CONTROL_KEY: string | symbol = health?.HEALTH_CONTROL.id ?? Symbol('no plugin-health-check');
/** @deprecated HEALTH_DISABLED's id; import HEALTH_DISABLED from @switchyard/plugin-health-check/contract. */
export const HEALTH_DISABLED_KEY: string | symbol = health?.HEALTH_DISABLED.id ?? Symbol('no plugin-health-check');

/** The last check's result in the page's words, or null when the server has no checks. */
function lastCheck(s: ServerState): Record<string, unknown> | null {
  if (s.data.get(HEALTH_DISABLED_KEY) === true) return { status: 'disabled', detail: 'checks disabled' };
  const ctl = s.data.get(HEALTH_CONTROL_KEY) as { last?: { ok?: boolean; reason?: string; code?: unknown; info?: string; at?: number; duration?: number } | null } | undefined;
  const last = ctl?.last;
  if (!last) return ctl ? { status: 'pending' } : null;
  return {
    ok: last.ok === true,
    status: last.reason ?? (last.ok ? 'passed' : 'failed'),
    detail: [last.code, last.info].filter((x) => x !== undefined && x !== '').join(' ') || undefined,
    code: last.code,
    info: last.info,
    at: last.at,
    duration: last.duration,
  };
}


const CLASS_NAMES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** A ring of the last N per-second samples. */
class Series {
  readonly rate: Float64Array;
  readonly p50: Float64Array;
  readonly p99: Float64Array;
  n = 0;
  constructor(readonly size: number) {
    this.rate = new Float64Array(size);
    this.p50 = new Float64Array(size);
    this.p99 = new Float64Array(size);
  }
  push(rate: number, p50: number, p99: number): void {
    const i = this.n % this.size;
    this.rate[i] = rate;
    this.p50[i] = p50;
    this.p99[i] = p99;
    this.n++;
  }
  toJSON(): HistorySeries {
    const count = Math.min(this.n, this.size);
    const out: HistorySeries = { rate: [], p50: [], p99: [] };
    for (let k = this.n - count; k < this.n; k++) {
      const i = k % this.size;
      out.rate.push(round(this.rate[i]!));
      out.p50.push(round(this.p50[i]!));
      out.p99.push(round(this.p99[i]!));
    }
    return out;
  }
}

/** Counters the gateway does not keep, per frontend. */
class FrontendRecord {
  requests = 0;
  /** Client connections accepted (HAProxy's frontend sessions: counted at accept, not at the end). */
  connectionsTotal = 0;
  lastConnections = 0;
  connRate = 0;
  maxConnRate = 0;
  errors = 0;
  /** Answered by the gateway itself (HAProxy `intercepted`). */
  intercepted = 0;
  /** Refused by a rule with a 403 (HAProxy `dreq`). */
  denied = 0;
  /** Ended with an error before reaching a backend (HAProxy `ereq`). */
  requestErrors = 0;
  internalErrors = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly responses: [number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0];
  readonly latency: LatencyWindow;
  maxConnections = 0;
  rate = 0;
  maxRate = 0;
  lastRequests = 0;
  readonly history: Series;
  constructor(readonly state: FrontendState, window: number, historySize: number) {
    this.latency = new LatencyWindow(window);
    this.history = new Series(historySize);
  }
}

/** Counters a backend and a server both keep (HAProxy's per-proxy and per-server fields). */
class ProxyCounters {
  bytesIn = 0;
  bytesOut = 0;
  /** HAProxy `econ`, `eresp`, `cli_abrt`, `srv_abrt`, `eint`. */
  connectionErrors = 0;
  responseErrors = 0;
  clientAborts = 0;
  serverAborts = 0;
  internalErrors = 0;
  /** ms since epoch of the last exchange's start; 0 = never. */
  lastSession = 0;
  /** Longest total time, ms. */
  maxTime = 0;
  /** UP → DOWN transitions (a server's health; a backend: no server left), and DOWN time (ms). */
  upDown = 0;
  downSince = 0;
  downtime = 0;

  /** Follows the DOWN state: `down` now or not. */
  track(down: boolean, now: number): void {
    if (down && this.downSince === 0) {
      this.upDown++;
      this.downSince = now;
    } else if (!down && this.downSince !== 0) {
      this.downtime += now - this.downSince;
      this.downSince = 0;
    }
  }

  downtimeSeconds(now: number): number {
    return Math.round((this.downtime + (this.downSince === 0 ? 0 : now - this.downSince)) / 1000);
  }

  count(ex: Exchange, wire: WireBytes, ms: number): void {
    this.bytesIn += wire.in;
    this.bytesOut += wire.out;
    countTermination(this, ex.termination);
    if (ex.startTime > this.lastSession) this.lastSession = ex.startTime;
    if (ms > this.maxTime) this.maxTime = ms;
  }
}

class BackendRecord extends ProxyCounters {
  requests = 0;
  errors = 0;
  retries = 0;
  redispatches = 0;
  readonly responses: [number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0];
  readonly latency: LatencyWindow;
  maxActive = 0;
  maxQueued = 0;
  rate = 0;
  maxRate = 0;
  lastRequests = 0;
  lastChange = Date.now();
  lastStatus: Status;
  readonly history: Series;
  constructor(readonly state: BackendState, window: number, historySize: number) {
    super();
    this.latency = new LatencyWindow(window);
    this.history = new Series(historySize);
    this.lastStatus = backendStatus(state);
  }
}

class ServerRecord extends ProxyCounters {
  retries = 0;
  redispatches = 0;
  readonly latency: LatencyWindow;
  maxActive = 0;
  rate = 0;
  maxRate = 0;
  lastSessions = 0;
  constructor(readonly state: ServerState, window: number) {
    super();
    this.latency = new LatencyWindow(window);
    this.lastSessions = state.counters.sessions;
  }
}

export interface CollectorOptions {
  /** Requests kept per latency window (p50/p99 are over the last N). */
  latencyWindow: number;
  /** Seconds of per-second history kept for the charts. */
  historySeconds: number;
}

export function serverStatus(s: ServerState): Status {
  if (s.admin === 'maint') return 'MAINT';
  if (s.health === 'down') return 'DOWN';
  if (s.admin === 'drain') return 'DRAIN';
  return 'UP';
}

function backendStatus(b: BackendState): Status {
  for (const s of b.servers) if (s.available) return 'UP';
  return 'DOWN';
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function failures(c: ProxyCounters, now: number): ProxyFailures {
  return {
    connectionErrors: c.connectionErrors,
    responseErrors: c.responseErrors,
    clientAborts: c.clientAborts,
    serverAborts: c.serverAborts,
    internalErrors: c.internalErrors,
    lastSessionAgo: c.lastSession === 0 ? -1 : Math.max(0, Math.round((now - c.lastSession) / 1000)),
    downTransitions: c.upDown,
    downtime: c.downtimeSeconds(now),
  };
}

function responses(r: ReadonlyArray<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 1; i <= 5; i++) out[CLASS_NAMES[i]!] = r[i]!;
  out.other = r[0]!;
  return out;
}

/**
 * Keeps the numbers the stats page shows: reads the gateway's state (server counters,
 * active, queue, frontend connections) and adds what the `log` hook sees (status,
 * latency, errors, retries). The log tap only bumps counters and writes one slot of a
 * fixed latency ring; rates, maxima and history are sampled once a second.
 */
export class StatsCollector {
  readonly #gateway: GatewayApi;
  readonly #frontends = new Map<FrontendState, FrontendRecord>();
  readonly #backends = new Map<BackendState, BackendRecord>();
  readonly #servers = new Map<ServerState, ServerRecord>();
  readonly #started = Date.now();
  readonly #window: number;
  #timer: NodeJS.Timeout | null = null;
  #lastTick = Date.now();
  #ticks = 0;
  readonly #tickListeners = new Set<() => void>();
  readonly #countWire = createWireCounter(PLUGIN);
  /** Reused for every exchange (the log tap allocates nothing). */
  readonly #wire: WireBytes = { in: 0, out: 0 };

  constructor(gateway: GatewayApi, options: CollectorOptions) {
    this.#gateway = gateway;
    this.#window = options.latencyWindow;
    for (const fe of gateway.frontends.values()) this.#frontends.set(fe, new FrontendRecord(fe, options.latencyWindow, options.historySeconds));
    for (const be of gateway.backends.values()) {
      this.#backends.set(be, new BackendRecord(be, options.latencyWindow, options.historySeconds));
      for (const s of be.servers) this.#servers.set(s, new ServerRecord(s, options.latencyWindow));
    }
    gateway.events.on('server-change', (change) => {
      const now = Date.now();
      if (change.what === 'health') this.#serverRecord(change.server).track(change.to === 'down', now);
      const rec = this.#backendRecordByName(change.server.backend);
      if (!rec) return;
      const st = backendStatus(rec.state);
      if (st !== rec.lastStatus) {
        rec.lastStatus = st;
        rec.lastChange = now;
      }
      rec.track(st === 'DOWN', now);
    });
  }

  #backendRecordByName(name: string): BackendRecord | undefined {
    const be = this.#gateway.backends.get(name);
    return be ? this.#backends.get(be) : undefined;
  }

  #serverRecord(s: ServerState): ServerRecord {
    let r = this.#servers.get(s);
    if (r === undefined) {
      // A server added at run time.
      r = new ServerRecord(s, this.#window);
      this.#servers.set(s, r);
    }
    return r;
  }

  /**
   * Taps `accept` last (a connection a filter refused is not a session, as in HAProxy) to
   * count connections when they arrive, and `log` as an observer (after everything else).
   */
  tap(): void {
    this.#gateway.hooks.accept.tap({ name: PLUGIN, stage: Stage.OBSERVE }, (conn: Connection): undefined => {
      const f = this.#frontends.get(conn.frontend);
      if (f !== undefined) f.connectionsTotal++;
      return undefined;
    });
    this.#gateway.hooks.log.tap({ name: PLUGIN, stage: Stage.OBSERVE }, (ex: Exchange) => this.observe(ex));
  }

  observe(ex: Exchange): void {
    const ms = Number(process.hrtime.bigint() - ex.startHr) / 1e6;
    const cls = ex.kind === 'http' && ex.status > 0 ? (ex.status >= 100 && ex.status < 600 ? (ex.status / 100) | 0 : 0) : -1;
    // As HAProxy counts: every byte from and to the client, heads included.
    const wire = this.#wire;
    this.#countWire(ex, wire);
    const bin = wire.in;
    const bout = wire.out;
    const f = this.#frontends.get(ex.frontend);
    if (f !== undefined) {
      f.requests++;
      f.bytesIn += bin;
      f.bytesOut += bout;
      if (cls >= 0) f.responses[cls]++;
      if (ex.error !== null) {
        f.errors++;
        if (ex.backend === null) f.requestErrors++;
      }
      if (ex.termination === 'local') {
        f.intercepted++;
        if (ex.kind === 'http' && ex.status === 403) f.denied++;
      } else if (ex.termination === 'internal-error') f.internalErrors++;
      f.latency.add(ms);
      const c = ex.frontend.connections;
      if (c > f.maxConnections) f.maxConnections = c;
    }
    const be = ex.backend;
    if (be === null) return;
    const b = this.#backends.get(be);
    if (b === undefined) return;
    b.requests++;
    b.count(ex, wire, ms);
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
    b.latency.add(ms);
    const r = this.#serverRecord(s);
    r.count(ex, wire, ms);
    r.latency.add(ms);
    if (ex.retries > 0) {
      r.retries += ex.retries;
      r.redispatches += redispatched;
    }
    // The slot was given back just before the log hook: active + 1 was the load a moment ago.
    const a = s.active + 1;
    if (a > r.maxActive) r.maxActive = a;
  }

  /** Samples rates, maxima and history every second (unref'd timer). */
  start(): void {
    if (this.#timer) return;
    this.#lastTick = Date.now();
    this.#timer = setInterval(() => this.tick(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#tickListeners.clear();
  }

  /** Called after each one-second sample (the SSE stream pushes then). */
  onTick(fn: () => void): () => void {
    this.#tickListeners.add(fn);
    return () => this.#tickListeners.delete(fn);
  }

  tick(): void {
    const now = Date.now();
    const secs = Math.max(0.001, (now - this.#lastTick) / 1000);
    this.#lastTick = now;
    this.#ticks++;
    for (const f of this.#frontends.values()) {
      f.rate = (f.requests - f.lastRequests) / secs;
      f.lastRequests = f.requests;
      if (f.rate > f.maxRate) f.maxRate = f.rate;
      f.connRate = (f.connectionsTotal - f.lastConnections) / secs;
      f.lastConnections = f.connectionsTotal;
      if (f.connRate > f.maxConnRate) f.maxConnRate = f.connRate;
      if (f.state.connections > f.maxConnections) f.maxConnections = f.state.connections;
      const [p50, p99] = f.latency.quantiles();
      f.history.push(f.rate, p50, p99);
    }
    for (const b of this.#backends.values()) {
      b.rate = (b.requests - b.lastRequests) / secs;
      b.lastRequests = b.requests;
      if (b.rate > b.maxRate) b.maxRate = b.rate;
      if (b.state.queued > b.maxQueued) b.maxQueued = b.state.queued;
      let active = 0;
      for (const s of b.state.servers) {
        active += s.active;
        const r = this.#serverRecord(s);
        r.rate = (s.counters.sessions - r.lastSessions) / secs;
        r.lastSessions = s.counters.sessions;
        if (r.rate > r.maxRate) r.maxRate = r.rate;
        if (s.active > r.maxActive) r.maxActive = s.active;
      }
      if (active > b.maxActive) b.maxActive = active;
      const [p50, p99] = b.latency.quantiles();
      b.history.push(b.rate, p50, p99);
    }
    for (const fn of this.#tickListeners) {
      try {
        fn();
      } catch {
        // A listener (an SSE client) failing must not stop sampling.
      }
    }
  }

  /** The latest history point of every frontend and backend (what the page appends each second). */
  point(): HistoryPoint {
    const out: HistoryPoint = { time: this.#lastTick, frontends: {}, backends: {} };
    for (const f of this.#frontends.values()) {
      const [p50, p99] = f.latency.quantiles();
      out.frontends[f.state.name] = { rate: round(f.rate), p50: round(p50), p99: round(p99) };
    }
    for (const b of this.#backends.values()) {
      const [p50, p99] = b.latency.quantiles();
      out.backends[b.state.name] = { rate: round(b.rate), p50: round(p50), p99: round(p99) };
    }
    return out;
  }

  snapshot(withHistory = false): StatsSnapshot {
    const now = Date.now();
    const frontends: FrontendStats[] = [];
    for (const f of this.#frontends.values()) {
      const fe = f.state;
      const [p50, p99] = f.latency.quantiles();
      frontends.push({
        name: fe.name,
        mode: fe.mode,
        status: this.#gateway.stopping ? 'STOP' : 'OPEN',
        addresses: fe.addresses.map((a) => `${a.host}:${a.port}${a.tls ? ' (tls)' : ''}`),
        sessions: { current: fe.connections, max: Math.max(f.maxConnections, fe.connections), limit: fe.config.maxconn, total: f.requests },
        rate: { current: round(f.rate), max: round(f.maxRate) },
        connections: { total: f.connectionsTotal, rate: round(f.connRate), maxRate: round(f.maxConnRate) },
        bytes: { in: f.bytesIn, out: f.bytesOut },
        responses: responses(f.responses),
        errors: f.errors,
        intercepted: f.intercepted,
        denied: f.denied,
        requestErrors: f.requestErrors,
        internalErrors: f.internalErrors,
        latency: { p50: round(p50), p99: round(p99) },
      });
    }
    const backends: BackendStats[] = [];
    for (const b of this.#backends.values()) {
      const be = b.state;
      const [p50, p99] = b.latency.quantiles();
      const servers: ServerStats[] = [];
      let active = 0;
      let weight = 0;
      let up = 0;
      let backups = 0;
      for (const s of be.servers) {
        const r = this.#serverRecord(s);
        const [sp50, sp99] = r.latency.quantiles();
        active += s.active;
        if (s.available) {
          up++;
          weight += s.weight;
        }
        if (s.backup) backups++;
        servers.push({
          name: s.name,
          address: `${s.host}:${s.port}`,
          status: serverStatus(s),
          admin: s.admin,
          health: s.health,
          check: lastCheck(s),
          lastChange: s.lastChange,
          lastChangeAgo: Math.max(0, Math.round((now - s.lastChange) / 1000)),
          weight: s.weight,
          backup: s.backup,
          sessions: { current: s.active, max: Math.max(r.maxActive, s.active), limit: s.maxconn, total: s.counters.sessions },
          rate: { current: round(r.rate), max: round(r.maxRate) },
          bytes: { in: r.bytesIn, out: r.bytesOut },
          responses: responses(s.counters.responses),
          errors: s.counters.errors,
          ...failures(r, now),
          retries: r.retries,
          redispatches: r.redispatches,
          latency: { p50: round(sp50), p99: round(sp99) },
          time: { avg: round(r.latency.mean()), max: round(r.maxTime) },
        });
      }
      backends.push({
        name: be.name,
        mode: be.mode,
        balance: be.config.balance,
        status: backendStatus(be),
        lastChange: b.lastChange,
        lastChangeAgo: Math.max(0, Math.round((now - b.lastChange) / 1000)),
        weight,
        serversUp: up,
        servers: servers.length,
        backups,
        queue: { current: be.queued, max: Math.max(b.maxQueued, be.queued), limit: be.config.maxqueue },
        sessions: { current: active, max: Math.max(b.maxActive, active), limit: 0, total: b.requests },
        rate: { current: round(b.rate), max: round(b.maxRate) },
        bytes: { in: b.bytesIn, out: b.bytesOut },
        responses: responses(b.responses),
        errors: b.errors,
        ...failures(b, now),
        retries: b.retries,
        redispatches: b.redispatches,
        latency: { p50: round(p50), p99: round(p99) },
        time: { avg: round(b.latency.mean()), max: round(b.maxTime) },
        serverList: servers,
      });
    }
    const snap: StatsSnapshot = {
      time: now,
      uptime: Math.round((now - this.#started) / 1000),
      pid: process.pid,
      frontends,
      backends,
    };
    if (withHistory) {
      snap.history = { interval: 1000, frontends: {}, backends: {} };
      for (const f of this.#frontends.values()) snap.history.frontends[f.state.name] = f.history.toJSON();
      for (const b of this.#backends.values()) snap.history.backends[b.state.name] = b.history.toJSON();
    }
    return snap;
  }
}
