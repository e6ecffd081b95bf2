/**
 * A fixed-bucket histogram whose `observe` allocates nothing: a Float64Array of bucket
 * counts per label set, bound once at start-up. It plugs into a prom-client Registry
 * (which formats it) through the registry's metric interface (`name`, `help`, `type`,
 * `get()`), so per-request paths avoid prom-client's per-call label hashing.
 */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    readonly bounds: ReadonlyArray<number>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Value in seconds. */
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #children = new Map<string, HistogramChild>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: ReadonlyArray<string>,
    readonly bounds: ReadonlyArray<number>,
  ) {}

  /** The child for a label set, created once (call at start-up, keep the result). */
  child(labels: Record<string, string>): HistogramChild {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let c = this.#children.get(key);
    if (!c) {
      c = new HistogramChild({ ...labels }, this.bounds);
      this.#children.set(key, c);
    }
    return c;
  }

  children(): IterableIterator<HistogramChild> {
    return this.#children.values();
  }

  reset(): void {
    this.#children.clear();
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const c of this.#children.values()) {
      let cum = 0;
      for (let i = 0; i < c.bounds.length; i++) {
        cum += c.counts[i]!;
        values.push({ labels: { ...c.labels, le: c.bounds[i]! }, value: cum, metricName: `${this.name}_bucket` });
      }
      cum += c.counts[c.bounds.length]!;
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: cum, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...c.labels }, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...c.labels }, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
