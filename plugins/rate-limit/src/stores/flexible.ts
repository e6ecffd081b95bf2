import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Limiter, LimitOutcome } from '../types';

/** Adapts a rate-limiter-flexible limiter to the store contract: a denial resolves, a store failure rejects. */
export class FlexibleLimiter implements Limiter {
  readonly #limiter: RateLimiterAbstract;
  readonly #points: number;

  constructor(limiter: RateLimiterAbstract, points: number) {
    this.#limiter = limiter;
    this.#points = points;
  }

  consume(key: string, points = 1): Promise<LimitOutcome> {
    return this.#limiter.consume(key, points).then(
      (res) => outcome(res, true, this.#points),
      (err: unknown) => {
        if (err instanceof RateLimiterRes) return outcome(err, false, this.#points);
        throw err;
      },
    );
  }
}

function outcome(res: RateLimiterRes, allowed: boolean, points: number): LimitOutcome {
  return {
    allowed,
    remaining: Math.max(0, Math.min(points, res.remainingPoints)),
    consumed: res.consumedPoints,
    msBeforeNext: Math.max(0, res.msBeforeNext),
  };
}
