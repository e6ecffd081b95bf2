import { defineKey, type ServerState } from '@switchyard/sdk';
import type { TcpCheckRuleConfig } from './tcpcheck/rules';

export type { TcpCheckRuleConfig, TcpCheckConnectConfig, TcpCheckExpectConfig } from './tcpcheck/rules';

/** What an agent (HAProxy agent-check protocol) asked for: any subset of the directives. */
export interface AgentReport {
  /** `up` / `down` (also `fail`, `stopped`): the operational state. */
  health?: 'up' | 'down';
  /** `ready` / `drain` / `maint`: the administrative state. */
  admin?: 'ready' | 'drain' | 'maint';
  /** `75%`: the server's weight as a percentage of its configured weight. */
  weightPercent?: number;
  /** Free text after `#` in the reply, for logs. */
  message?: string;
}

/** The outcome of one probe, in the words HAProxy logs use. */
export interface CheckResult {
  readonly ok: boolean;
  /** `Layer4 connection problem`, `Layer7 wrong status`, `Layer7 check passed`… */
  readonly reason: string;
  /** Status code or error code, when there is one. */
  readonly code?: number | string;
  /** Extra detail (`Connection refused`, the unmatched body…), kept short. */
  readonly info?: string;
  /** Set by agent probes. */
  readonly agent?: AgentReport;
  /** HAProxy's short check status (`L7OK`, `L7RSP`, `L4CON`…), set by tcp-check and protocol kinds. */
  readonly status?: string;
  /** The tcp-check step the check ended on (0 = the implicit first connect). */
  readonly step?: number;
}

/** Where and how long to probe: the server's address unless `port`/`address` override it. */
export interface CheckTarget {
  readonly server: ServerState;
  readonly host: string;
  readonly port: number;
  /** Whole probe budget in ms (connect + exchange). */
  readonly timeout: number;
}

/** One compiled probe: never rejects, resolves a CheckResult (timeouts included). */
export type HealthProbe = (target: CheckTarget) => Promise<CheckResult>;

/**
 * A health-check kind in the `health.check` slot (`tcp`, `http`, `agent`, or a third
 * party's). `compile` runs once per backend at apply time with that backend's
 * `healthCheck` options; it validates them (throw a coded error) and compiles regexes.
 */
export interface HealthCheckKind {
  readonly description: string;
  compile(options: HealthCheckOptions, where: string): HealthProbe;
}

export const HEALTH_CHECK_SLOT = 'health.check';

export interface HttpCheckOptions {
  method: string;
  path: string;
  host?: string;
  headers: Record<string, string>;
  expect: {
    status?: number | number[];
    statusRange?: string;
    body?: string;
    bodyRegex?: string;
    rstatus?: string;
    negate?: boolean;
    okStatus?: string;
    errorStatus?: string;
    toutStatus?: string;
    onSuccess?: string;
    onError?: string;
    statusCode?: string;
    comment?: string;
    header?: { name: string; nameMatch?: 'str' | 'beg' | 'end' | 'sub' | 'reg'; value?: string; valueMatch?: 'str' | 'beg' | 'end' | 'sub' | 'reg' };
  };
  /** Most of the body read for a body match (bytes). */
  maxBody: number;
}

export interface CheckTlsOptions {
  enabled: boolean;
  /** Server name sent in SNI (and verified when `verify` is on). */
  sni?: string;
  verify: boolean;
  /** PEM CA file to verify the server with (relative to the working directory). */
  ca?: string;
}

export interface AgentOptions {
  /** Line sent to the agent before reading its reply (HAProxy's agent-send). */
  send?: string;
}

/** `backends.<b>.healthCheck` after validation (durations in ms). */
export interface HealthCheckOptions {
  type: string;
  inter: number;
  fastinter?: number;
  downinter?: number;
  rise: number;
  fall: number;
  timeout?: number;
  port?: number;
  address?: string;
  /** Random ± percentage applied to every interval (HAProxy's spread-checks), 0–50. */
  jitter: number;
  http: HttpCheckOptions;
  tls: CheckTlsOptions;
  agent: AgentOptions;
  /** Rules of the `tcp-check` kind, in order (HAProxy's `tcp-check` lines). */
  tcpCheck?: TcpCheckRuleConfig[];
  /** Options of the `mysql-check` kind. */
  mysql?: { user?: string; variant?: 'post-41' | 'pre-41' };
  /** Options of the `pgsql-check` kind. */
  pgsql?: { user: string };
  /** Options of the `smtpchk` kind. */
  smtp?: { hello?: 'EHLO' | 'HELO'; domain?: string };
}

/** `backends.<b>.servers[i].check` when it is an object: per-server overrides. */
export interface ServerCheckOptions {
  enabled?: boolean;
  inter?: number;
  fastinter?: number;
  downinter?: number;
  rise?: number;
  fall?: number;
  timeout?: number;
  port?: number;
  address?: string;
}

/** `backends.<b>.agentCheck` and `servers[i].agentCheck`. */
export interface AgentCheckOptions {
  enabled?: boolean;
  port?: number;
  address?: string;
  inter?: number;
  timeout?: number;
  send?: string;
}

/**
 * What the health-check plugin leaves on `server.data` under HEALTH_CONTROL_KEY, for
 * other plugins (passive health, runtime API) to act through the active check.
 */
export interface HealthControl {
  /** Run the next check at fastinter if it is due later. */
  expedite(): void;
  /**
   * Feed an observed failure into the check state: `fail-check` counts as one failed check,
   * `sudden-death` leaves one failure before DOWN, `mark-down` marks DOWN now. Each forces fastinter.
   */
  observeFailure(action: 'fail-check' | 'sudden-death' | 'mark-down', reason: string): void;
  /** Pause (false) or resume (true) the checks, e.g. for the runtime API's `disable health` / `enable health`. */
  setEnabled(enabled: boolean): void;
  readonly enabled: boolean;
  /** The last check's result (null before the first). */
  readonly last: (CheckResult & { at: number; duration: number }) | null;
}

/** The typed key of a server's HealthControl (`HEALTH_CONTROL.get(server)`): what other plugins import. */
export const HEALTH_CONTROL = defineKey<HealthControl>('switchyard.health.control');
/** @deprecated HEALTH_CONTROL's id: use the typed key. */
export const HEALTH_CONTROL_KEY = HEALTH_CONTROL.id;
/**
 * `server.data` flag: true while an operator disabled the server's health checks (the
 * runtime API's `disable health`); stats and `show servers state` report it.
 */
export const HEALTH_DISABLED = defineKey<boolean>('switchyard.health.disabled');
