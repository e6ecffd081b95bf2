import { STATUS_CODES } from 'node:http';
import type { Exchange, FrontendState, GatewayApi, HttpExchange, Logger, RouteDecision } from '@switchyard/sdk';
import { compileCondition } from './conditions';
import { RateLimitErrors } from './errors';
import { compileKey, type KeyReader } from './keys';
import type { Limiter, LimitOutcome, RateLimitConfig, RateLimitRule, RateLimitStore } from './types';

/** Exchange var holding the outcomes of the limits that asked for headers on every response. */
export const OUTCOMES_VAR = 'ratelimit.outcomes';

interface CompiledLimit {
  readonly name: string;
  readonly key: KeyReader;
  readonly limiter: Limiter;
  readonly points: number;
  readonly windowSec: number;
  readonly cost: number;
  readonly methods: ReadonlySet<string> | null;
  readonly pathPrefix: string | null;
  readonly condition: ((ex: Exchange) => boolean) | null;
  readonly missingShared: boolean;
  readonly status: number;
  readonly headers: boolean;
  /** `"name";q=100;w=60`, built once. */
  readonly policy: string;
}

export const secondsOf = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * The `rateLimits` of every frontend, compiled at apply time. Per request: a Map lookup by
 * frontend, the filters, the key read and one store call per matching limit.
 */
export class RateLimits {
  readonly #byFrontend = new Map<FrontendState, CompiledLimit[]>();
  readonly #logger: Logger;
  readonly #failOpen: boolean;
  readonly #storeName: string;
  /** True when some limit sends RateLimit headers on every response (the respond tap is needed). */
  readonly wantsHeaders: boolean;
  /** Frontends with a `headers: true` limit: the respond tap skips the others without touching the exchange. */
  readonly #headerFrontends = new Set<FrontendState>();
  #storeFailing = false;

  constructor(gateway: GatewayApi, store: RateLimitStore, config: RateLimitConfig, logger: Logger) {
    const slots = gateway.slots;
    this.#logger = logger;
    this.#failOpen = config.failOpen;
    this.#storeName = store.name;
    let wantsHeaders = false;
    for (const fe of gateway.frontends.values()) {
      const rules = (fe.config.rateLimits as RateLimitRule[] | undefined) ?? [];
      if (rules.length === 0) continue;
      const compiled = rules.map((r, i): CompiledLimit => {
        const where = `frontends.${fe.name}.rateLimits[${i}]`;
        const windowSec = secondsOf(r.duration);
        if (r.headers) {
          wantsHeaders = true;
          this.#headerFrontends.add(fe);
        }
        return {
          name: r.name,
          key: compileKey(where, r.key, slots),
          limiter: store.limiter({
            keyPrefix: `rl:${fe.name}:${r.name}`,
            points: r.points,
            durationSec: windowSec,
            blockDurationSec: r.blockDuration > 0 ? secondsOf(r.blockDuration) : 0,
          }),
          points: r.points,
          windowSec,
          cost: r.cost,
          methods: r.methods && r.methods.length > 0 ? new Set(r.methods.map((m) => m.toUpperCase())) : null,
          pathPrefix: r.pathPrefix ?? null,
          condition: compileCondition(gateway, fe.name, r, where),
          missingShared: r.onMissingKey === 'shared',
          status: r.status,
          headers: r.headers,
          policy: `"${r.name}";q=${r.points};w=${windowSec}`,
        };
      });
      this.#byFrontend.set(fe, compiled);
    }
    this.wantsHeaders = wantsHeaders;
  }

  get empty(): boolean {
    return this.#byFrontend.size === 0;
  }

  /** The route tap: answers 429 (or closes a TCP session) when a limit is exceeded. */
  async check(ex: Exchange): Promise<RouteDecision | undefined> {
    const limits = this.#byFrontend.get(ex.frontend);
    if (limits === undefined) return undefined;
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i]!;
      if (l.methods !== null && (ex.kind !== 'http' || !l.methods.has(ex.method))) continue;
      if (l.pathPrefix !== null && (ex.kind !== 'http' || !ex.path.startsWith(l.pathPrefix))) continue;
      if (l.condition !== null && !l.condition(ex)) continue;
      let key = l.key(ex);
      if (key === undefined) {
        if (!l.missingShared) continue;
        key = '';
      }
      let outcome: LimitOutcome;
      try {
        outcome = await l.limiter.consume(key, l.cost);
        if (this.#storeFailing) {
          this.#storeFailing = false;
          this.#logger.info({ limit: l.name }, 'rate-limit store answers again');
        }
      } catch (err) {
        const coded = RateLimitErrors.STORE_FAILED.with({ cause: err }, this.#storeName, err instanceof Error ? err.message : String(err));
        if (!this.#storeFailing) {
          this.#storeFailing = true;
          this.#logger.warn(
            { err: coded, code: coded.code, limit: l.name, frontend: ex.frontend.name },
            this.#failOpen ? 'rate-limit store failed: requests pass unlimited until it answers (failOpen)' : 'rate-limit store failed: requests get 503 until it answers (failOpen: false)',
          );
        }
        if (this.#failOpen) continue;
        ex.fail(coded);
        return { handled: true };
      }
      if (!outcome.allowed) return this.#deny(ex, l, outcome, l.status);
      if (l.headers) {
        const list = (ex.vars.get(OUTCOMES_VAR) as Array<[CompiledLimit, LimitOutcome]> | undefined) ?? [];
        if (list.length === 0) ex.vars.set(OUTCOMES_VAR, list);
        list.push([l, outcome]);
      }
    }
    return undefined;
  }

  #deny(ex: Exchange, l: CompiledLimit, outcome: LimitOutcome, status: number): RouteDecision {
    if (ex.kind === 'tcp') {
      ex.termination = 'local';
      ex.socket.destroy();
      return { handled: true };
    }
    const reset = secondsOf(outcome.msBeforeNext);
    ex.respond(status, `${STATUS_CODES[status] ?? 'Too Many Requests'}\n`, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'retry-after': String(reset),
      'ratelimit-policy': l.policy,
      ratelimit: `"${l.name}";r=${outcome.remaining};t=${reset}`,
    });
    return { handled: true };
  }

  /** The respond tap: RateLimit / RateLimit-Policy for the limits that asked for them. */
  addHeaders(headers: Record<string, string | string[]>, ex: HttpExchange): void {
    if (!this.#headerFrontends.has(ex.frontend)) return;
    const list = ex.vars.get(OUTCOMES_VAR) as Array<[CompiledLimit, LimitOutcome]> | undefined;
    if (list === undefined) return;
    const policies: string[] = [];
    const states: string[] = [];
    for (const [l, o] of list) {
      policies.push(l.policy);
      states.push(`"${l.name}";r=${o.remaining};t=${secondsOf(o.msBeforeNext)}`);
    }
    headers['ratelimit-policy'] = policies.join(', ');
    headers.ratelimit = states.join(', ');
  }
}
