/** What the stats page, `;json` and `;csv` show. Public: other tools may read the JSON. */

/** UP, DOWN (health), DRAIN / MAINT (admin); frontends are OPEN or STOP. */
export type Status = 'UP' | 'DOWN' | 'DRAIN' | 'MAINT' | 'OPEN' | 'STOP';

export interface Sessions {
  current: number;
  max: number;
  /** maxconn; 0 = unlimited. */
  limit: number;
  /** Requests (HTTP) or sessions (TCP) since start. */
  total: number;
}

export interface Rate {
  /** Per second, over the last second. */
  current: number;
  max: number;
}

export interface Latency {
  /** ms, over the last `latencyWindow` exchanges. */
  p50: number;
  p99: number;
}

/** How exchanges through a backend or server failed (HAProxy's econ, eresp, cli_abrt, srv_abrt, eint). */
export interface ProxyFailures {
  /** The server refused the connection. */
  connectionErrors: number;
  /** The server reset or timed out while answering. */
  responseErrors: number;
  clientAborts: number;
  /** The server reset the connection while answering. */
  serverAborts: number;
  internalErrors: number;
  /** Seconds since the last exchange started; -1 = never (HAProxy `lastsess`). */
  lastSessionAgo: number;
  /** UP → DOWN transitions: a server's health checks, a backend losing its last server (HAProxy `chkdown`). */
  downTransitions: number;
  /** Seconds spent DOWN since start (HAProxy `downtime`). */
  downtime: number;
}

/** Total time of the exchanges (ms): mean over the latency window, and the longest since start. */
export interface Times {
  avg: number;
  max: number;
}

export interface FrontendStats {
  name: string;
  mode: 'http' | 'tcp';
  status: Status;
  addresses: string[];
  sessions: Sessions;
  rate: Rate;
  /** Client connections that carried an exchange: total, per second now and at most. */
  connections: { total: number; rate: number; maxRate: number };
  /** Bytes from and to clients, heads included (as HAProxy counts). */
  bytes: { in: number; out: number };
  responses: Record<string, number>;
  errors: number;
  /** Answered by the gateway itself: rules, redirects, the stats page, errors (HAProxy `intercepted`). */
  intercepted: number;
  /** Refused with a 403 by the gateway (HAProxy `dreq`). */
  denied: number;
  /** Ended with an error before a backend was chosen (HAProxy `ereq`). */
  requestErrors: number;
  internalErrors: number;
  latency: Latency;
}

export interface ServerStats extends ProxyFailures {
  name: string;
  address: string;
  status: Status;
  admin: 'ready' | 'drain' | 'maint';
  health: 'up' | 'down';
  /** The health-check plugin's last result, when it leaves one in server.data. */
  check: Record<string, unknown> | null;
  /** ms since epoch of the last admin or health change. */
  lastChange: number;
  /** Seconds since then. */
  lastChangeAgo: number;
  weight: number;
  backup: boolean;
  sessions: Sessions;
  rate: Rate;
  bytes: { in: number; out: number };
  responses: Record<string, number>;
  errors: number;
  retries: number;
  redispatches: number;
  latency: Latency;
  time: Times;
}

export interface BackendStats extends ProxyFailures {
  name: string;
  mode: 'http' | 'tcp';
  balance: string;
  status: Status;
  lastChange: number;
  lastChangeAgo: number;
  /** Sum of the weights of available servers. */
  weight: number;
  serversUp: number;
  servers: number;
  backups: number;
  queue: { current: number; max: number; limit: number };
  sessions: Sessions;
  rate: Rate;
  bytes: { in: number; out: number };
  responses: Record<string, number>;
  errors: number;
  retries: number;
  redispatches: number;
  latency: Latency;
  time: Times;
  serverList: ServerStats[];
}

export interface HistorySeries {
  rate: number[];
  p50: number[];
  p99: number[];
}

export interface HistoryPoint {
  time: number;
  frontends: Record<string, { rate: number; p50: number; p99: number }>;
  backends: Record<string, { rate: number; p50: number; p99: number }>;
}

export interface StatsSnapshot {
  time: number;
  uptime: number;
  pid: number;
  frontends: FrontendStats[];
  backends: BackendStats[];
  /** Per-second samples, oldest first (with `?history`). */
  history?: { interval: number; frontends: Record<string, HistorySeries>; backends: Record<string, HistorySeries> };
}
