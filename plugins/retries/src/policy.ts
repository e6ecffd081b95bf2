import type { BackendConfig } from '@switchyard/sdk';
import type { RetriesOptions } from './schema';

export const RETRY_CAUSES = ['conn-failure', 'empty-response', 'junk-response', 'response-timeout'] as const;
export type RetryCause = (typeof RETRY_CAUSES)[number];

export type { RetriesOptions };

/** One backend's retry rules, compiled at apply time. */
export interface RetryPolicy {
  readonly count: number;
  /** HAProxy's `option redispatch <interval>`: P > 0 every Pth retry, N < 0 the |N|th retry before the last, 0 never. */
  readonly redispatch: number;
  readonly causes: ReadonlySet<RetryCause>;
  /** Statuses that count as a failed attempt (idempotent requests only), or null. */
  readonly statuses: ReadonlySet<number> | null;
  readonly maxBodySize: number;
  readonly delay: number;
  readonly idempotent: ReadonlySet<string>;
}

export function compilePolicy(o: RetriesOptions): RetryPolicy {
  const causes = new Set<RetryCause>();
  const statuses = new Set<number>();
  for (const r of o.retryOn) {
    if (typeof r === 'number') statuses.add(r);
    else if (r === 'all-retryable-errors') {
      for (const c of RETRY_CAUSES) causes.add(c);
      for (const s of [500, 502, 503, 504]) statuses.add(s);
    } else causes.add(r);
  }
  return {
    count: o.count,
    redispatch: o.redispatch === true ? -1 : o.redispatch === false ? 0 : o.redispatch,
    causes,
    statuses: statuses.size > 0 ? statuses : null,
    maxBodySize: o.maxBodySize,
    delay: o.delay,
    idempotent: new Set(o.idempotentMethods.map((m) => m.toUpperCase())),
  };
}

/** Whether retry number `retry` (1-based) of `count` goes to another server. */
export function redispatchOn(policy: Pick<RetryPolicy, 'redispatch' | 'count'>, retry: number): boolean {
  const p = policy.redispatch;
  if (p > 0) return retry % p === 0;
  if (p < 0) return retry === policy.count + 1 + p;
  return false;
}

export function backendOptions(cfg: BackendConfig, defaults: RetriesOptions | undefined): RetriesOptions | undefined {
  return (cfg.retries as RetriesOptions | undefined) ?? defaults;
}
