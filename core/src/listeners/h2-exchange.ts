import { constants as h2c, type IncomingHttpHeaders as H2IncomingHeaders, type OutgoingHttpHeaders as H2OutgoingHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type * as net from 'node:net';
import { pipeline as pipeStreams, type Readable, type Writable } from 'node:stream';
import type { Connection, HttpExchange, ResponseHead, SwitchyardError } from '@switchyard/sdk';
import { SwitchyardError as CodedError } from '@switchyard/sdk';
import { CoreErrors } from '../errors';
import { ExchangeCore, checkHeaderValues, errorPageFor, listToObject, terminationOf, upstreamHead, type ExchangeHost } from '../exchange';

const VALID_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const INVALID_VALUE = /[\r\n\0]/;
/** Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2): dropped from answers. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

const kEx = Symbol('switchyard.h2.exchange');
type StreamWithEx = ServerHttp2Stream & { [kEx]?: H2Exchange };

/** Where a body goes that HTTP/2 must not carry (HEAD, 204, 304): nowhere. */
class DiscardSink {
  readonly #ex: H2Exchange;
  constructor(ex: H2Exchange) {
    this.#ex = ex;
  }
  write(): boolean {
    return true;
  }
  end(): this {
    this.#ex.finishNoBody();
    return this;
  }
  get writableLength(): number {
    return 0;
  }
  once(): this {
    return this;
  }
  destroy(): this {
    this.#ex.abort();
    return this;
  }
}

/**
 * One HTTP/2 stream as an exchange, on node:http2's stream API (no compatibility
 * request/response objects): pseudo-headers leave `rawHeaders` (they would be invalid names
 * upstream), `:authority` becomes `host`, split cookie fields are joined (RFC 9113 §8.2.3);
 * the request body is the stream itself; the answer goes out with `stream.respond`, the body
 * through the stream (backpressure), trailers on 'wantTrailers'.
 */
export class H2Exchange extends ExchangeCore implements HttpExchange {
  readonly kind = 'http' as const;
  readonly stream: ServerHttp2Stream;
  readonly socket: net.Socket;
  readonly method: string;
  readonly target: string;
  readonly url: string;
  readonly host: string;
  readonly rawHeaders: string[];
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion = '2.0';
  readonly upgrade = false;
  readonly head = null;
  readonly hasBody: boolean;
  status = 0;
  finished = false;
  #trailers: ReadonlyArray<string> | null = null;
  #upstream: ReturnType<typeof upstreamHead> | undefined;
  #path: string | undefined;
  #sink: Writable | DiscardSink | null = null;

  constructor(host: ExchangeHost, connection: Connection, stream: ServerHttp2Stream, headers: H2IncomingHeaders, rawHeaders: string[]) {
    super(host, connection);
    this.stream = stream;
    this.socket = connection.socket;
    const raw: string[] = [];
    let cookies: string[] | null = null;
    let hostHeader: string | undefined;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      if (name === 'cookie') {
        (cookies ??= []).push(rawHeaders[i + 1]!);
        continue;
      }
      if (name === 'host') hostHeader ??= rawHeaders[i + 1]!;
      raw.push(name, rawHeaders[i + 1]!);
    }
    const authority = headers[':authority'];
    if (hostHeader === undefined && typeof authority === 'string') {
      raw.unshift('host', authority);
      headers.host = authority;
      hostHeader = authority;
    }
    if (cookies !== null) raw.push('cookie', cookies.join('; '));
    const length = headers['content-length'];
    this.hasBody = length !== undefined ? length !== '0' : !stream.endAfterHeaders;
    // A body without a length streams chunked to an HTTP/1.1 server.
    if (this.hasBody && length === undefined) headers['transfer-encoding'] = 'chunked';
    this.rawHeaders = raw;
    this.headers = headers as IncomingHttpHeaders;
    this.method = String(headers[':method'] ?? 'GET');
    const target = String(headers[':path'] ?? '/');
    this.target = target;
    this.url = target;
    this.host = hostHeader ?? '';
    (stream as StreamWithEx)[kEx] = this;
    stream.once('close', onStreamClose);
  }

  get body(): Readable {
    return this.stream;
  }

  get path(): string {
    if (this.#path === undefined) {
      const q = this.url.indexOf('?');
      this.#path = q === -1 ? this.url : this.url.slice(0, q);
    }
    return this.#path;
  }

  get upstreamTouched(): boolean {
    return this.#upstream !== undefined;
  }

  get upstream(): ReturnType<typeof upstreamHead> {
    return (this.#upstream ??= upstreamHead(this));
  }

  get headSent(): boolean {
    return this.stream.headersSent;
  }

  get clientGone(): boolean {
    const s = this.stream;
    return (s.destroyed || s.closed) && !this.finished;
  }

  onClose(fn: () => void): void {
    const s = this.stream;
    if (s.closed || s.destroyed) process.nextTick(fn);
    else s.once('close', fn);
  }

  abort(): void {
    const s = this.stream;
    if (!s.closed && !s.destroyed) s.close(h2c.NGHTTP2_INTERNAL_ERROR);
  }

  /** Writes the head; throws BAD_HEADER naming a header with an invalid name or value. */
  #respondHead(status: number, headers: ReadonlyArray<string> | Record<string, unknown>, check: boolean, endStream: boolean): void {
    const out: H2OutgoingHeaders = { ':status': status };
    const put = (name: string, value: unknown): void => {
      const lower = name.toLowerCase();
      if (CONNECTION_SPECIFIC.has(lower)) return;
      if (check) {
        if (!VALID_NAME.test(name)) throw CoreErrors.BAD_HEADER(name);
        if (Array.isArray(value)) {
          for (const v of value) if (INVALID_VALUE.test(String(v))) throw CoreErrors.BAD_HEADER(name);
        } else if (INVALID_VALUE.test(String(value))) throw CoreErrors.BAD_HEADER(name);
      }
      out[lower] = value as string;
    };
    if (Array.isArray(headers)) {
      const obj = listToObject(headers as ReadonlyArray<string>);
      for (const name in obj) put(name, obj[name]);
    } else {
      const obj = headers as Record<string, unknown>;
      for (const name in obj) if (obj[name] !== undefined) put(name, obj[name]);
    }
    try {
      this.stream.respond(out, { endStream, waitForTrailers: !endStream });
    } catch (err) {
      throw CoreErrors.BAD_HEADER.with({ cause: err }, (err as Error).message);
    }
    if (!endStream) this.stream.once('wantTrailers', onWantTrailers);
    this.status = status;
  }

  #noBody(status: number): boolean {
    return this.method === 'HEAD' || status === 204 || status === 304;
  }

  sendHead(statusCode: number, statusMessage: string | undefined, headers: string[] | Record<string, string | string[]>): Writable | null {
    if (this.ended || this.error !== null || this.stream.closed || this.stream.destroyed) return null;
    if (this.stream.headersSent) {
      this.abort();
      return null;
    }
    const hook = this.gw.respond;
    let out: ReadonlyArray<string> | Record<string, unknown> = headers;
    let transforms: ResponseHead['transforms'] | null = null;
    if (hook !== null) {
      let rh: ResponseHead = { statusCode, statusMessage, headers: Array.isArray(headers) ? listToObject(headers) : headers, transforms: [] };
      try {
        rh = hook.call(rh, this);
      } catch (err) {
        this.fail(err instanceof CodedError ? err : CoreErrors.HOOK_FAILED.with({ cause: err }, 'a plugin', 'respond', String(err)));
        return null;
      }
      statusCode = rh.statusCode;
      out = rh.headers;
      if (rh.transforms.length > 0) transforms = rh.transforms;
    }
    const noBody = this.#noBody(statusCode);
    try {
      this.#respondHead(statusCode, out, hook !== null || !Array.isArray(headers), noBody);
    } catch (err) {
      for (const t of transforms ?? []) t.destroy();
      this.fail(err as SwitchyardError);
      return null;
    }
    if (noBody) {
      for (const t of transforms ?? []) t.destroy();
      this.finished = true;
      const sink = new DiscardSink(this);
      this.#sink = sink;
      return sink as unknown as Writable;
    }
    if (transforms !== null) {
      pipeStreams([...transforms, this.stream] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream], (err) => {
        if (err) this.abort();
      });
      this.#sink = transforms[0]!;
      return transforms[0]!;
    }
    this.#sink = this.stream;
    return this.stream;
  }

  /** Called back by DiscardSink.end: nothing to send. */
  finishNoBody(): void {
    this.finished = true;
  }

  endResponse(trailers?: ReadonlyArray<string> | null, chunk?: Buffer): void {
    const sink = this.#sink;
    if (sink === null) return;
    if (trailers && trailers.length > 0 && sink === this.stream) this.#trailers = trailers;
    this.finished = true;
    if (chunk !== undefined) sink.end(chunk);
    else sink.end();
  }

  /** The trailers to send when the stream asks (set by endResponse). */
  sendTrailers(): void {
    const list = this.#trailers;
    const out: H2OutgoingHeaders = {};
    if (list !== null) {
      for (let i = 0; i < list.length; i += 2) {
        const name = list[i]!.toLowerCase();
        const value = list[i + 1]!;
        if (VALID_NAME.test(name) && !INVALID_VALUE.test(value) && !CONNECTION_SPECIFIC.has(name)) out[name] = value;
      }
    }
    try {
      this.stream.sendTrailers(out);
    } catch {
      // The stream went away meanwhile.
    }
  }

  respond(status: number, body?: string | Buffer, headers?: OutgoingHttpHeaders): void {
    if (this.ended) return;
    if (this.termination === 'ok') this.termination = 'local';
    const payload = body === undefined ? '' : body;
    const out: OutgoingHttpHeaders = { ...(headers ?? {}) };
    checkHeaderValues(out);
    let hasLength = false;
    for (const k in out) if (k.toLowerCase() === 'content-length') hasLength = true;
    const size = Buffer.byteLength(payload);
    if (!hasLength) out['content-length'] = size;
    this.status = status;
    const s = this.stream;
    if (s.headersSent || s.closed || s.destroyed) {
      this.abort();
      return;
    }
    const noBody = this.#noBody(status) || size === 0;
    this.#respondHead(status, out as Record<string, unknown>, true, noBody);
    this.finished = true;
    if (!noBody) s.end(payload);
    this.bytesOut += size;
  }

  answer(status: number, headers?: OutgoingHttpHeaders): Writable | null {
    const s = this.stream;
    if (this.ended || s.headersSent || s.closed || s.destroyed) return null;
    if (this.termination === 'ok') this.termination = 'local';
    const out: OutgoingHttpHeaders = { ...(headers ?? {}) };
    checkHeaderValues(out);
    const noBody = this.#noBody(status);
    this.#respondHead(status, out as Record<string, unknown>, true, noBody);
    if (noBody) {
      this.finished = true;
      const sink = new DiscardSink(this);
      this.#sink = sink;
      return sink as unknown as Writable;
    }
    this.#sink = s;
    return s;
  }

  fail(error: SwitchyardError): void {
    if (this.error !== null || this.ended) return;
    this.error = error;
    this.termination = terminationOf(error);
    this.gw.report(this, error);
    const s = this.stream;
    if (s.headersSent || s.closed || s.destroyed) {
      this.abort();
      return;
    }
    const status = error.status >= 400 ? error.status : 500;
    const termination = this.termination;
    try {
      this.respond(status, errorPageFor(this, status), { 'content-type': 'text/html', 'cache-control': 'no-cache' });
    } catch {
      this.abort();
    }
    this.termination = termination;
  }

  /** For the end of the exchange: a response not sent whole is the client's abort. */
  settle(): void {
    if (this.termination !== 'ok') return;
    const s = this.stream;
    if (!this.finished || (s.rstCode !== undefined && s.rstCode !== h2c.NGHTTP2_NO_ERROR && !s.writableFinished && !this.#sinkIsDiscard())) {
      this.termination = 'client-abort';
    }
  }

  /** The stream closed (any outcome): the core ends the exchange. */
  streamClosed(): void {
    this.gw.end(this);
  }

  #sinkIsDiscard(): boolean {
    return this.#sink instanceof DiscardSink;
  }
}

function onStreamClose(this: StreamWithEx): void {
  const ex = this[kEx];
  ex?.streamClosed();
}

function onWantTrailers(this: StreamWithEx): void {
  this[kEx]?.sendTrailers();
}
