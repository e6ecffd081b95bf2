/**
 * A token bucket of bytes: `rate` bytes per second, holding at most `burst`. Tokens may go
 * negative (a chunk already delivered is paid for afterwards), which delays what follows.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  constructor(rate: number) {
    this.rate = rate;
    // An eighth of a second of traffic, at least 1 KiB (or the whole rate when it is lower).
    this.burst = Math.max(Math.min(1024, rate), Math.floor(rate / 8));
    this.#tokens = this.burst;
    this.#last = performance.now();
  }

  #refill(now: number): void {
    const t = this.#tokens + ((now - this.#last) * this.rate) / 1000;
    this.#tokens = t > this.burst ? this.burst : t;
    this.#last = now;
  }

  /** Bytes that may be sent now. */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens > 0 ? Math.floor(this.#tokens) : 0;
  }

  take(n: number): void {
    this.#tokens -= n;
  }

  /** Milliseconds until `n` bytes (at most one burst) are available. */
  waitFor(n: number, now: number): number {
    this.#refill(now);
    const need = Math.min(n, this.burst) - this.#tokens;
    return need <= 0 ? 0 : (need * 1000) / this.rate;
  }
}

/** Buckets shared by the streams of one client address, dropped when its last stream ends. */
export class ClientBuckets {
  readonly #rate: number;
  readonly #byAddress = new Map<string, { bucket: TokenBucket; refs: number }>();

  constructor(rate: number) {
    this.#rate = rate;
  }

  acquire(address: string): TokenBucket {
    let e = this.#byAddress.get(address);
    if (e === undefined) {
      e = { bucket: new TokenBucket(this.#rate), refs: 0 };
      this.#byAddress.set(address, e);
    }
    e.refs++;
    return e.bucket;
  }

  release(address: string): void {
    const e = this.#byAddress.get(address);
    if (e !== undefined && --e.refs <= 0) this.#byAddress.delete(address);
  }

  get size(): number {
    return this.#byAddress.size;
  }
}
