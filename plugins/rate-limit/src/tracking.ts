import type { Exchange, FetchDefinition, FrontendState, GatewayApi, Logger, RouteDecision } from '@switchyard/sdk';
import { RateLimitErrors } from './errors';
import { compileCondition } from './conditions';
import { compileKey, type KeyReader } from './keys';
import { secondsOf } from './limits';
import type { Limiter, RateLimitStore, TrackRule } from './types';
import { stickCounter } from './stick-counters';
import { DATA_TYPE_BY_NAME } from './stick-table';

/** Sticky counters per exchange: HAProxy's sc0..sc2. */
export const MAX_COUNTERS = 3;
const VAR = ['ratelimit.sc0', 'ratelimit.sc1', 'ratelimit.sc2'] as const;

/** What tracking an exchange recorded for one sticky counter. */
export interface TrackedEntry {
  readonly table: string;
  readonly key: string;
  /** HTTP requests from this key in the table's current period, this one included. */
  readonly httpReqRate: number;
  readonly periodMs: number;
}

interface CompiledTrack {
  readonly counter: number;
  readonly table: string;
  readonly key: KeyReader;
  readonly limiter: Limiter;
  readonly periodMs: number;
  readonly denyAbove: number | null;
  readonly condition: ((ex: Exchange) => boolean) | null;
  readonly windowSec: number;
}

/** Large enough never to deny: tracking only counts. */
const COUNT_ONLY = 2 ** 31 - 1;

/**
 * HAProxy-style stick tables: `track: [{counter: 0, key: src, period: 10s}]` on a frontend is
 * `http-request track-sc0 src` on a table with `http_req_rate(10s)`. The counts live in the
 * rate-limit store (so they are shared across workers or gateways with the cluster or redis
 * store) and are read by the fetches `sc_http_req_rate(0)` / `sc0_http_req_rate`.
 */
export class StickTracking {
  readonly #byFrontend = new Map<FrontendState, CompiledTrack[]>();
  readonly #logger: Logger;
  #storeFailing = false;

  constructor(gateway: GatewayApi, store: RateLimitStore, logger: Logger) {
    const slots = gateway.slots;
    this.#logger = logger;
    const limiters = new Map<string, Limiter>();
    for (const fe of gateway.frontends.values()) {
      const rules = (fe.config.track as TrackRule[] | undefined) ?? [];
      if (rules.length === 0) continue;
      const seen = new Set<number>();
      const compiled = rules.map((r, i): CompiledTrack => {
        if (seen.has(r.counter)) throw RateLimitErrors.DUPLICATE_COUNTER(fe.name, r.counter);
        seen.add(r.counter);
        const table = r.table ?? fe.name;
        const windowSec = secondsOf(r.period);
        // Frontends naming the same table (and period) share its counts.
        const id = `${table}:${windowSec}`;
        let limiter = limiters.get(id);
        if (limiter === undefined) {
          limiter = store.limiter({ keyPrefix: `st:${table}:${windowSec}`, points: COUNT_ONLY, durationSec: windowSec, blockDurationSec: 0 });
          limiters.set(id, limiter);
        }
        return {
          counter: r.counter,
          table,
          key: compileKey(`frontends.${fe.name}.track[${i}]`, r.key, slots),
          limiter,
          periodMs: windowSec * 1000,
          denyAbove: r.denyAbove ?? null,
          condition: compileCondition(gateway, fe.name, r, `frontends.${fe.name}.track[${i}]`),
          windowSec,
        };
      });
      this.#byFrontend.set(fe, compiled);
    }
  }

  get empty(): boolean {
    return this.#byFrontend.size === 0;
  }

  /** The route tap: counts the request for each tracked key and records it on the exchange. */
  async track(ex: Exchange): Promise<RouteDecision | undefined> {
    const tracks = this.#byFrontend.get(ex.frontend);
    if (tracks === undefined) return undefined;
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i]!;
      if (t.condition !== null && !t.condition(ex)) continue;
      const key = t.key(ex);
      if (key === undefined) continue;
      let rate: number;
      let msBeforeNext: number;
      try {
        const o = await t.limiter.consume(key, 1);
        rate = o.consumed;
        msBeforeNext = o.msBeforeNext;
        this.#storeFailing = false;
      } catch (err) {
        if (!this.#storeFailing) {
          this.#storeFailing = true;
          this.#logger.warn({ err, table: t.table }, 'stick-table store failed: requests are not tracked until it answers');
        }
        continue;
      }
      const entry: TrackedEntry = { table: t.table, key, httpReqRate: rate, periodMs: t.periodMs };
      ex.vars.set(VAR[t.counter]!, entry);
      if (t.denyAbove !== null && rate > t.denyAbove) {
        if (ex.kind === 'tcp') {
          ex.termination = 'local';
          ex.socket.destroy();
          return { handled: true };
        }
        const reset = secondsOf(msBeforeNext);
        ex.respond(429, 'Too Many Requests\n', {
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
          'retry-after': String(reset),
          'ratelimit-policy': `"${t.table}";q=${t.denyAbove};w=${t.windowSec}`,
          ratelimit: `"${t.table}";r=0;t=${reset}`,
        });
        return { handled: true };
      }
    }
    return undefined;
  }
}

/** The entry an exchange tracked in sticky counter `n`, if any. */
export function trackedEntry(ex: Exchange, n: number): TrackedEntry | undefined {
  return ex.vars.get(VAR[n]!) as TrackedEntry | undefined;
}

function counterArg(arg: string | undefined): number {
  const n = Number((arg ?? '').split(',')[0]!.trim());
  if (!Number.isInteger(n) || n < 0 || n >= MAX_COUNTERS) throw new Error(`sticky counter must be 0..${MAX_COUNTERS - 1}, got "${arg}"`);
  return n;
}

/** A stick-table counter (stickCounters rules) first, else a store-backed `track` rule's. */
const rateOf = (n: number) => (ex: Exchange) => {
  const c = stickCounter(ex, n);
  if (c) return (c.table.read(c.entry, HTTP_REQ_RATE) as number | undefined) ?? 0;
  return trackedEntry(ex, n)?.httpReqRate ?? 0;
};
const trackedOf = (n: number) => (ex: Exchange) => stickCounter(ex, n) !== undefined || trackedEntry(ex, n) !== undefined;
const keyOf = (n: number) => (ex: Exchange) => stickCounter(ex, n)?.entry.key ?? trackedEntry(ex, n)?.key;
const HTTP_REQ_RATE = DATA_TYPE_BY_NAME.get('http_req_rate')!.id;

/** The fetches this plugin registers in the `fetch` slot. */
export function stickFetches(): Array<[string, FetchDefinition]> {
  const out: Array<[string, FetchDefinition]> = [
    ['sc_http_req_rate', {
      description: 'HTTP requests of the key tracked in sticky counter N (track: counter N) over its period; 0 when not tracked.',
      arg: 'required', modes: ['http', 'tcp'], defaultMatch: 'int', compile: (arg) => rateOf(counterArg(arg)),
    }],
    ['sc_tracked', {
      description: 'True when the exchange is tracked in sticky counter N.',
      arg: 'required', modes: ['http', 'tcp'], defaultMatch: 'bool', compile: (arg) => trackedOf(counterArg(arg)),
    }],
    ['sc_key', {
      description: 'The key tracked in sticky counter N (the client address for `key: src`).',
      arg: 'required', modes: ['http', 'tcp'], compile: (arg) => keyOf(counterArg(arg)),
    }],
  ];
  for (let n = 0; n < MAX_COUNTERS; n++) {
    out.push([`sc${n}_http_req_rate`, {
      description: `Same as sc_http_req_rate(${n}).`, arg: 'optional', modes: ['http', 'tcp'], defaultMatch: 'int', compile: () => rateOf(n),
    }]);
  }
  return out;
}
