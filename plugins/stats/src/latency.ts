/**
 * Latency of the last `size` exchanges in a fixed ring (no allocation per sample).
 * Quantiles sort a copy into a scratch buffer allocated once; they are computed when
 * someone asks (the stats page, once a second), never per request.
 */
export class LatencyWindow {
  readonly size: number;
  readonly #ring: Float64Array;
  readonly #scratch: Float64Array;
  #count = 0;

  constructor(size: number) {
    this.size = Math.max(8, size | 0);
    this.#ring = new Float64Array(this.size);
    this.#scratch = new Float64Array(this.size);
  }

  /** Total samples ever added. */
  get count(): number {
    return this.#count;
  }

  /** Mean in ms over the window; 0 when empty. */
  mean(): number {
    const n = Math.min(this.#count, this.size);
    if (n === 0) return 0;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.#ring[i]!;
    return sum / n;
  }

  add(ms: number): void {
    this.#ring[this.#count % this.size] = ms;
    this.#count++;
  }

  /** [p50, p99] in ms over the window; [0, 0] when empty. */
  quantiles(): [number, number] {
    const n = Math.min(this.#count, this.size);
    if (n === 0) return [0, 0];
    const view = this.#scratch.subarray(0, n);
    view.set(this.#ring.subarray(0, n));
    view.sort();
    return [view[Math.min(n - 1, Math.floor(n * 0.5))]!, view[Math.min(n - 1, Math.ceil(n * 0.99) - 1)]!];
  }
}
