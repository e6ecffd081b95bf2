import { Transform, type TransformCallback } from 'node:stream';
import type { Readable } from 'node:stream';
import type { TokenBucket } from './bucket';

const MIN_WAIT_MS = 4;

function availableOf(buckets: ReadonlyArray<TokenBucket>, now: number): number {
  let n = Infinity;
  for (const b of buckets) n = Math.min(n, b.available(now));
  return n;
}

function waitOf(buckets: ReadonlyArray<TokenBucket>, want: number, now: number): number {
  let w = 0;
  for (const b of buckets) w = Math.max(w, b.waitFor(want, now));
  return Math.max(MIN_WAIT_MS, w);
}

/**
 * A response body throttle (a `respond` transform): passes bytes through no faster than
 * every bucket allows, slicing chunks as needed. Backpressure is the stream's own: it
 * takes the next chunk only once this one is out.
 */
export class ThrottleStream extends Transform {
  readonly #buckets: ReadonlyArray<TokenBucket>;
  #timer: NodeJS.Timeout | null = null;

  constructor(buckets: ReadonlyArray<TokenBucket>, onClose: () => void) {
    super();
    this.#buckets = buckets;
    this.once('close', onClose);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#send(chunk, cb);
  }

  #send(chunk: Buffer, cb: TransformCallback): void {
    this.#timer = null;
    if (this.destroyed) return;
    if (chunk.length === 0) return cb(); // empty writes happen (undici can deliver empty chunks)
    const now = performance.now();
    const n = Math.min(chunk.length, availableOf(this.#buckets, now));
    if (n > 0) {
      for (const b of this.#buckets) b.take(n);
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n === chunk.length) return cb();
      chunk = chunk.subarray(n);
    }
    const rest = chunk;
    this.#timer = setTimeout(() => this.#send(rest, cb), waitOf(this.#buckets, rest.length, performance.now()));
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    cb(err);
  }
}

/**
 * Paces a request body as the forwarder reads it. The forwarder streams `exchange.body`
 * itself (there is no request-body transform hook), so this meters each chunk as it
 * flows, then holds the stream paused until the buckets have paid for it; a `resume()`
 * from the consumer (on drain) is deferred while the pause is ours. The rate holds on
 * average, at chunk granularity (≤ 64 KiB bursts).
 */
export function paceRequestBody(req: Readable, buckets: ReadonlyArray<TokenBucket>, onEnd: () => void): void {
  const pause = req.pause;
  const resume = req.resume;
  let holding = false;
  let consumerPaused = false;
  let timer: NodeJS.Timeout | null = null;
  // Paused before the forwarder attaches its 'data' listener, so no chunk flows unseen.
  pause.call(req);
  req.pause = function pausePaced(this: Readable) {
    consumerPaused = true;
    return pause.call(this);
  };
  req.resume = function resumePaced(this: Readable) {
    consumerPaused = false;
    return holding ? this : resume.call(this);
  };
  req.on('data', (chunk: Buffer) => {
    const now = performance.now();
    for (const b of buckets) b.take(chunk.length);
    let wait = 0;
    for (const b of buckets) wait = Math.max(wait, b.waitFor(1, now));
    if (wait <= 0 || holding) return;
    holding = true;
    pause.call(req);
    timer = setTimeout(() => {
      timer = null;
      holding = false;
      if (!consumerPaused) resume.call(req);
    }, Math.max(MIN_WAIT_MS, wait));
  });
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    onEnd();
  };
  req.once('end', end);
  req.once('close', end);
}
