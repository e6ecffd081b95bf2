import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes the body to the client unchanged and keeps a copy; `onEnd` gets the whole body
 * when the response completed, or null once it grew past `maxBytes` (the copy is dropped,
 * the client still gets everything) or the stream was destroyed (client gone, server error).
 */
export class TeeToStore extends Transform {
  readonly #maxBytes: number;
  readonly #onEnd: (body: Buffer | null) => Promise<void>;
  #chunks: Buffer[] | null = [];
  #size = 0;
  #ended = false;

  constructor(maxBytes: number, onEnd: (body: Buffer | null) => Promise<void>) {
    super();
    this.#maxBytes = maxBytes;
    this.#onEnd = onEnd;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#chunks !== null) {
      this.#size += chunk.length;
      if (this.#size > this.#maxBytes) {
        this.#chunks = null;
        this.#finish(null);
      } else {
        this.#chunks.push(chunk);
      }
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.#chunks === null) return cb();
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    this.#chunks = null;
    // The client's response ends once the object is in the store, so that coalesced
    // waiters released by the store find it there.
    this.#finish(body).then(() => cb(), () => cb());
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#chunks = null;
    this.#finish(null);
    cb(err);
  }

  #finish(body: Buffer | null): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    return this.#onEnd(body);
  }
}

/** Drops whatever the server sent and emits a stored body instead (304 → 200, stale-if-error). */
export class ReplaceBody extends Transform {
  readonly #body: Buffer | null;

  constructor(body: Buffer | null) {
    super();
    this.#body = body;
  }

  override _transform(_chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.#body !== null && this.#body.length > 0) this.push(this.#body);
    cb();
  }
}
