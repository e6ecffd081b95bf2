import type { BackendState, Logger, ServerState } from '@switchyard/sdk';
import type { AgentReport, CheckResult, CheckTarget, HealthControl, HealthProbe } from './types';

/** Timing and thresholds of one server's check, after merging backend and server options. */
export interface CheckTiming {
  inter: number;
  fastinter: number;
  downinter: number;
  rise: number;
  fall: number;
  timeout: number;
  /** ± percent of random spread on each interval. */
  jitter: number;
}

/** Formats "Server api/s2 is DOWN, reason: …, code: 500, check duration: 3ms. 2 active and 0 backup servers left." */
export function transitionLine(server: ServerState, backend: BackendState, up: boolean, result: CheckResult, duration: number | null): string {
  let active = 0;
  let backup = 0;
  for (const s of backend.servers) if (s.available) (s.backup ? backup++ : active++);
  let line = `Server ${server.id} is ${up ? 'UP' : 'DOWN'}, reason: ${result.reason}`;
  if (result.code !== undefined) line += `, code: ${result.code}`;
  if (result.info !== undefined) line += `, info: "${result.info}"`;
  if (duration !== null) line += `, check duration: ${duration}ms`;
  line += `. ${active} active and ${backup} backup servers ${up ? 'online' : 'left'}.`;
  return line;
}

/** Applies an agent's weight and admin directives to a server (health is the caller's). */
export function applyAgentReport(server: ServerState, report: AgentReport, owned: { admin: boolean }): void {
  if (report.weightPercent !== undefined) {
    server.setWeight(Math.round((server.config.weight * report.weightPercent) / 100), `agent: ${report.weightPercent}%`);
  }
  if (report.admin !== undefined) {
    // The agent only hands back 'ready' on a state it set itself, never over an operator's maint.
    if (report.admin !== 'ready' || owned.admin) {
      server.setAdmin(report.admin, `agent: ${report.admin}`);
      owned.admin = report.admin !== 'ready';
    }
  }
}

function agentReason(report: AgentReport): string {
  return `agent: ${report.health}${report.message ? ` (${report.message})` : ''}`;
}

/**
 * One server's active check: a self-rescheduling timer and HAProxy's rise/fall state
 * machine. UP with failures pending or DOWN with successes pending checks at fastinter;
 * steady DOWN at downinter; steady UP at inter. Like HAProxy, a server starts UP with one
 * failure to go: the first failed check marks it DOWN.
 */
export class ServerHealthCheck implements HealthControl {
  readonly server: ServerState;
  readonly #backend: BackendState;
  readonly #probe: HealthProbe;
  readonly #target: CheckTarget;
  readonly #timing: CheckTiming;
  readonly #logger: Logger;
  readonly #isAgent: boolean;
  readonly #agentOwned = { admin: false };
  #up: boolean;
  #agentDown = false;
  #fails: number;
  #oks = 0;
  #timer: NodeJS.Timeout | null = null;
  #dueAt = 0;
  #running = false;
  #stopped = false;
  #paused = false;
  /** Last result, for stats and the runtime API. */
  last: (CheckResult & { at: number; duration: number }) | null = null;

  constructor(server: ServerState, backend: BackendState, probe: HealthProbe, target: CheckTarget, timing: CheckTiming, logger: Logger, isAgent: boolean) {
    this.server = server;
    this.#backend = backend;
    this.#probe = probe;
    this.#target = target;
    this.#timing = timing;
    this.#logger = logger;
    this.#isAgent = isAgent;
    this.#up = server.health === 'up';
    this.#fails = this.#up ? timing.fall - 1 : 0;
  }

  start(initialDelay: number): void {
    this.#schedule(initialDelay);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Whether checks run (false after `setEnabled(false)` or stop). */
  get enabled(): boolean {
    return !this.#stopped && !this.#paused;
  }

  setEnabled(enabled: boolean): void {
    if (this.#stopped || enabled === !this.#paused) return;
    this.#paused = !enabled;
    if (!enabled) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      return;
    }
    // Resume from what the server shows now, with one failure to go (as at start-up), soon.
    this.#up = this.server.health === 'up';
    this.#fails = this.#up ? this.#timing.fall - 1 : 0;
    this.#oks = 0;
    if (!this.#running) this.#schedule(this.#timing.fastinter);
  }

  /** The interval to the next check, in the current state. */
  nextInterval(): number {
    const t = this.#timing;
    const base = this.#up ? (this.#fails > 0 ? t.fastinter : t.inter) : this.#oks > 0 ? t.fastinter : t.downinter;
    if (t.jitter <= 0) return base;
    return Math.max(1, Math.round(base * (1 + ((Math.random() * 2 - 1) * t.jitter) / 100)));
  }

  /**
   * An agent beside this check says the server is down (or no longer): the server is UP
   * only while both the check and the agent agree, as in HAProxy.
   */
  setAgentDown(down: boolean, reason: string): void {
    if (this.#agentDown === down) return;
    this.#agentDown = down;
    if (!this.#up) return;
    const result: CheckResult = { ok: !down, reason };
    this.#announce(!down, result, null);
  }

  expedite(): void {
    if (this.#stopped || this.#paused || this.#running) return;
    if (this.#dueAt - Date.now() > this.#timing.fastinter) this.#schedule(this.#timing.fastinter);
  }

  observeFailure(action: 'fail-check' | 'sudden-death' | 'mark-down', reason: string): void {
    if (this.#stopped || this.#paused) return;
    const result: CheckResult = { ok: false, reason };
    if (action === 'mark-down') {
      this.#fails = this.#timing.fall;
      this.#oks = 0;
      if (this.#up) this.#transition(false, result, null);
    } else if (action === 'sudden-death') {
      if (this.#up) this.#fails = Math.max(this.#fails, this.#timing.fall - 1);
      this.#oks = 0;
    } else {
      this.#account(result, null);
    }
    this.expedite();
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.#paused) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#dueAt = Date.now() + ms;
    this.#timer = setTimeout(() => void this.#run(), ms);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    this.#timer = null;
    if (this.#stopped) return;
    this.#running = true;
    const start = process.hrtime.bigint();
    let result: CheckResult;
    try {
      result = await this.#probe(this.#target);
    } catch (err) {
      result = { ok: false, reason: 'Layer4 internal error', info: err instanceof Error ? err.message : String(err) };
    }
    this.#running = false;
    if (this.#stopped || this.#paused) return;
    const duration = Math.round(Number(process.hrtime.bigint() - start) / 1e6);
    this.last = { ...result, at: Date.now(), duration };
    try {
      // As the main kind, the agent's up/down goes through rise/fall (result.ok); the rest applies now.
      if (this.#isAgent && result.agent) applyAgentReport(this.server, result.agent, this.#agentOwned);
      this.#account(result, duration);
    } catch (err) {
      // A server-change listener that throws must not stop the checks (nor the process).
      this.#logger.error({ err, server: this.server.id }, 'applying a health check result failed');
    }
    this.#schedule(this.nextInterval());
  }

  #account(result: CheckResult, duration: number | null): void {
    const t = this.#timing;
    if (result.ok) {
      this.#fails = 0;
      if (!this.#up && ++this.#oks >= t.rise) {
        this.#oks = 0;
        this.#transition(true, result, duration);
      }
    } else {
      this.#oks = 0;
      if (this.#up && ++this.#fails >= t.fall) this.#transition(false, result, duration);
    }
  }

  #transition(up: boolean, result: CheckResult, duration: number | null): void {
    this.#up = up;
    this.#fails = 0;
    if (up && this.#agentDown) {
      this.#logger.info({ server: this.server.id }, `${this.server.id}: check passed but the agent holds the server down`);
      return;
    }
    this.#announce(up, result, duration);
  }

  #announce(up: boolean, result: CheckResult, duration: number | null): void {
    let reason = result.reason;
    if (result.code !== undefined) reason += `, code: ${result.code}`;
    if (result.info !== undefined) reason += `, info: "${result.info}"`;
    this.server.setHealth(up ? 'up' : 'down', reason);
    const line = transitionLine(this.server, this.#backend, up, result, duration);
    const fields = { backend: this.server.backend, server: this.server.name, check: result.reason, code: result.code, duration };
    if (up) this.#logger.info(fields, line);
    else this.#logger.warn(fields, line);
    if (!up && !this.#backend.servers.some((s) => s.available)) {
      this.#logger.error({ backend: this.#backend.name }, `backend ${this.#backend.name} has no server available!`);
    }
  }
}

/**
 * An agent check running beside the main check (HAProxy's `agent-check`): applies the
 * agent's directives; an unreachable agent changes nothing.
 */
export class ServerAgentCheck {
  readonly server: ServerState;
  readonly #probe: HealthProbe;
  readonly #target: CheckTarget;
  readonly #inter: number;
  readonly #logger: Logger;
  readonly #owned = { admin: false };
  /** The main check of the same server, if any: health goes through it. */
  readonly #check: ServerHealthCheck | null;
  #heldDown = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(server: ServerState, probe: HealthProbe, target: CheckTarget, inter: number, logger: Logger, check: ServerHealthCheck | null) {
    this.server = server;
    this.#probe = probe;
    this.#target = target;
    this.#inter = inter;
    this.#logger = logger;
    this.#check = check;
  }

  #applyHealth(report: AgentReport): void {
    if (report.health === undefined) return;
    const down = report.health === 'down';
    if (this.#check !== null) {
      this.#check.setAgentDown(down, agentReason(report));
      return;
    }
    // Without a main check the agent decides alone, and only undoes a DOWN it caused.
    if (down && this.server.health === 'up') {
      this.#heldDown = true;
      this.server.setHealth('down', agentReason(report));
    } else if (!down && this.#heldDown) {
      this.#heldDown = false;
      this.server.setHealth('up', agentReason(report));
    }
  }

  start(initialDelay: number): void {
    this.#schedule(initialDelay);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), ms);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    let result: CheckResult;
    try {
      result = await this.#probe(this.#target);
    } catch (err) {
      result = { ok: false, reason: 'Layer4 internal error', info: err instanceof Error ? err.message : String(err) };
    }
    if (this.#stopped) return;
    if (result.agent) {
      try {
        applyAgentReport(this.server, result.agent, this.#owned);
        this.#applyHealth(result.agent);
      } catch (err) {
        this.#logger.error({ err, server: this.server.id }, 'applying an agent report failed');
      }
    } else this.#logger.debug({ server: this.server.id, reason: result.reason, info: result.info }, 'agent check failed; state unchanged');
    this.#schedule(this.#inter);
  }
}
