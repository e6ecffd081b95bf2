import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type * as net from 'node:net';
import { pipeline as pipeStreams, Readable, Writable } from 'node:stream';
import type { Connection, HttpExchange, ResponseHead, SwitchyardError } from '@switchyard/sdk';
import { SwitchyardError as CodedError } from '@switchyard/sdk';
import type { ConnectionImpl } from '../connection';
import { CoreErrors } from '../errors';
import { ExchangeCore, checkHeaderValues, errorPageFor, listToObject, terminationOf, upstreamHead, type ExchangeHost } from '../exchange';

// Node's own llhttp binding, as node:http uses it (strict: no lenient flags).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HTTPParser, methods } = require('_http_common') as { HTTPParser: HTTPParserClass; methods: string[] };

interface HTTPParserClass {
  new (): HTTPParserInstance;
  readonly REQUEST: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}
interface HTTPParserInstance {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string; reason?: string });
  finish(): undefined | Error;
  free(): void;
  remove?(): void;
  [key: number]: unknown;
  h1: H1Connection | null;
}

const kOnHeaders = HTTPParser.kOnHeaders;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete;
const kOnBody = HTTPParser.kOnBody;
const kOnMessageComplete = HTTPParser.kOnMessageComplete;
const kOnExecute = HTTPParser.kOnExecute;
const CRLF = '\r\n';
const CRLF_BUF = Buffer.from(CRLF);
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const VALID_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const INVALID_VALUE = /[\r\n\0]/;

/** What a connection needs from its gateway: the pipeline (an exchange host that starts exchanges). */
export interface H1Host extends ExchangeHost {
  /** Runs a parsed request through the stages; `refusal` (a framing problem) fails it at once. */
  startH1(ex: H1Exchange, refusal: SwitchyardError | null): void;
  readonly logDebug: (obj: object, msg: string) => void;
}

export interface H1Timeouts {
  /** Whole request head (HAProxy timeout http-request): 408 past it. */
  readonly httpRequest: number;
  /** Idle time between requests (HAProxy timeout http-keep-alive). */
  readonly keepAlive: number;
  /** Client inactivity (HAProxy timeout client). */
  readonly client: number;
}

// ---------------------------------------------------------------------- dates

let dateCache = '';
let dateSecond = 0;
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateCache = new Date(sec * 1000).toUTCString();
  }
  return dateCache;
}

// ---------------------------------------------------------------------- request headers view

/** Headers whose duplicates node:http drops (the first wins), as IncomingMessage does. */
const FIRST_WINS = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since',
  'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires',
]);

/** The lower-case header object plugins read, built from the raw list with node:http's rules for duplicates. */
export function headersView(raw: ReadonlyArray<string>): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) {
      out[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      (prev as string[]).push(value);
    } else if (FIRST_WINS.has(name)) {
      continue;
    } else {
      out[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return out as IncomingHttpHeaders;
}

// ---------------------------------------------------------------------- request body

/** The request body as it streams from the client; the client socket pauses while nobody reads. */
class H1Body extends Readable {
  readonly #ex: H1Exchange;
  constructor(ex: H1Exchange) {
    super();
    this.#ex = ex;
  }
  override _read(): void {
    this.#ex.bodyWanted();
  }
}

// ---------------------------------------------------------------------- the response sink

/**
 * Where a response body goes on an HTTP/1.1 connection: writes framed for the client
 * (chunked or not), backpressure from the client socket. Not a stream object per response:
 * the few Writable members producers use (write, end, writableLength, once('drain'), destroy).
 * A real Writable is made only when respond taps add transforms to pipe through.
 */
class H1Sink {
  readonly #ex: H1Exchange;
  constructor(ex: H1Exchange) {
    this.#ex = ex;
  }
  write(chunk: Buffer | string): boolean {
    return this.#ex.writeBody(chunk);
  }
  end(chunk?: Buffer | string): this {
    if (chunk !== undefined && chunk !== null) this.#ex.writeBody(chunk);
    this.#ex.endBody(null);
    return this;
  }
  get writableLength(): number {
    return this.#ex.socket.writableLength;
  }
  get destroyed(): boolean {
    return this.#ex.socket.destroyed;
  }
  get writableFinished(): boolean {
    return this.#ex.finished;
  }
  once(event: string, fn: () => void): this {
    if (event === 'drain') this.#ex.socket.once('drain', fn);
    else if (event === 'close' || event === 'finish') this.#ex.onClose(fn);
    return this;
  }
  on(event: string, fn: () => void): this {
    return this.once(event, fn);
  }
  off(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
  destroy(): this {
    this.#ex.abort();
    return this;
  }
}

/** A real Writable over an exchange's response (the end of a respond-transform pipeline). */
function writableOf(ex: H1Exchange): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ex.writeBody(chunk) || ex.socket.destroyed) cb();
      else ex.socket.once('drain', () => cb());
    },
    final(cb) {
      ex.endBody(null);
      cb();
    },
    destroy(err, cb) {
      if (!ex.finished) ex.abort();
      cb(err);
    },
  });
}

// ---------------------------------------------------------------------- the exchange

/**
 * One HTTP/1.x request and its response on a client connection of the core's own front end
 * (net/tls sockets, Node's llhttp binding): raw headers with a lazy object view, the body as
 * a stream only when there is one, the response head serialised once and written with the
 * first body bytes (one write for a small response).
 */
export class H1Exchange extends ExchangeCore implements HttpExchange {
  readonly kind = 'http' as const;
  readonly c: H1Connection;
  readonly socket: net.Socket;
  readonly method: string;
  readonly target: string;
  readonly url: string;
  readonly host: string;
  readonly rawHeaders: string[];
  readonly httpVersion: string;
  readonly httpVersionMinor: number;
  readonly upgrade: boolean;
  head: Buffer | null = null;
  readonly hasBody: boolean;
  readonly expectContinue: boolean;
  status = 0;
  headSent = false;
  finished = false;
  /** The request was read whole (its body too). */
  requestDone: boolean;
  /** The connection closes once this response is out. */
  closeAfter: boolean;
  /** The client side is over: the response was sent whole, or the client went away. */
  closed = false;
  clientGone = false;
  #headers: IncomingHttpHeaders | undefined;
  #body: H1Body | null = null;
  #upstream: ReturnType<typeof upstreamHead> | undefined;
  #path: string | undefined;
  #chunked = false;
  #noBody = false;
  #continueSent = false;
  #closeFns: Array<() => void> | null = null;
  #sink: H1Sink | Writable | null = null;

  constructor(
    host: ExchangeHost, c: H1Connection, connection: Connection, method: string, target: string, raw: string[], minor: number,
    hostHeader: string, hasBody: boolean, expectContinue: boolean, keepAlive: boolean, upgrade: boolean,
  ) {
    super(host, connection);
    this.c = c;
    this.socket = c.socket;
    this.method = method;
    this.target = target;
    this.rawHeaders = raw;
    this.httpVersionMinor = minor;
    this.httpVersion = minor === 0 ? '1.0' : '1.1';
    this.hasBody = hasBody;
    this.requestDone = !hasBody;
    this.expectContinue = expectContinue;
    this.closeAfter = !keepAlive;
    this.upgrade = upgrade;
    if (target.charCodeAt(0) === 47 /* '/' */ || target === '*') {
      this.url = target;
      this.host = hostHeader;
    } else {
      // Absolute form: the target's authority replaces Host (RFC 9112 §3.2.2).
      let parsed: URL | undefined;
      try {
        parsed = new URL(target);
      } catch {
        parsed = undefined;
      }
      this.url = parsed ? parsed.pathname + parsed.search : target;
      this.host = parsed ? parsed.host : hostHeader;
    }
  }

  get headers(): IncomingHttpHeaders {
    return (this.#headers ??= headersView(this.rawHeaders));
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

  get body(): Readable {
    if (this.#body === null) {
      this.#body = new H1Body(this);
      if (this.requestDone) this.#body.push(null);
    }
    return this.#body;
  }

  // --- request body, fed by the connection's parser

  pushBody(chunk: Buffer): boolean {
    this.bytesIn += chunk.length;
    return (this.#body ?? this.body).push(chunk);
  }

  bodyDone(): void {
    this.requestDone = true;
    this.#body?.push(null);
  }

  bodyBroken(err: Error): void {
    const body = this.#body;
    if (body === null || body.readableEnded || body.destroyed) return;
    body.emit('aborted');
    // Nobody reading it (a refused request): no 'error' to throw at no one.
    body.destroy(body.listenerCount('error') > 0 ? err : undefined);
  }

  /** A reader wants the body: send 100 Continue if the client waits for it; let the socket flow. */
  bodyWanted(): void {
    if (this.expectContinue && !this.#continueSent && !this.headSent && !this.socket.destroyed) {
      this.#continueSent = true;
      this.socket.write(CONTINUE, 'latin1');
    }
    this.c.bodyWanted(this);
  }

  // --- close

  onClose(fn: () => void): void {
    if (this.closed) process.nextTick(fn);
    else (this.#closeFns ??= []).push(fn);
  }

  /** The client side is over: the core ends the exchange, then listeners hear of it. */
  closeNow(gone: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (gone && !this.finished) {
      this.clientGone = true;
      if (!this.requestDone) this.bodyBroken(new Error('aborted'));
    }
    this.gw.end(this);
    const fns = this.#closeFns;
    if (fns !== null) {
      this.#closeFns = null;
      for (let i = 0; i < fns.length; i++) fns[i]!();
    }
  }

  abort(): void {
    if (this.finished && this.closed) return;
    this.socket.destroy();
  }

  // --- the response

  /**
   * Serialises the head once. `list` is a flat [name, value, …] list (hop-by-hop headers
   * already dropped) or an object; `check` validates names and values (plugin-made headers).
   * Throws BAD_HEADER naming a header with CR/LF/NUL.
   */
  #head(status: number, message: string | undefined, headers: ReadonlyArray<string> | Record<string, unknown>, check: boolean): string {
    const f = headFields;
    f.head = `HTTP/1.1 ${status} ${message ?? STATUS_CODES[status] ?? 'unknown'}\r\n`;
    f.hasLength = false;
    f.hasDate = false;
    f.closeAsked = false;
    if (Array.isArray(headers)) {
      const list = headers as ReadonlyArray<string>;
      for (let i = 0; i < list.length; i += 2) addField(f, list[i]!, list[i + 1]!, check);
    } else {
      const obj = headers as Record<string, unknown>;
      for (const name in obj) {
        const v = obj[name];
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) addField(f, name, String(x), check);
        else addField(f, name, String(v), check);
      }
    }
    let head = f.head;
    f.head = '';
    this.#noBody = this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    if (!this.#noBody && !f.hasLength) {
      if (this.httpVersionMinor >= 1) {
        this.#chunked = true;
        head += 'transfer-encoding: chunked\r\n';
      } else {
        this.closeAfter = true; // an HTTP/1.0 body without a length ends with the connection
      }
    }
    if (!f.hasDate) head += 'date: ' + httpDate() + CRLF;
    // A request whose body was not read whole cannot leave the connection usable.
    if (f.closeAsked || this.gw.stopping || !this.requestDone) this.closeAfter = true;
    if (this.closeAfter) head += 'connection: close\r\n';
    else {
      if (this.httpVersionMinor === 0) head += 'connection: keep-alive\r\n';
      head += this.c.keepAliveHint;
    }
    return head + CRLF;
  }

  #writeHead(head: string): void {
    this.headSent = true;
    const socket = this.socket;
    // Everything written in this tick (the head, a small body, its end) leaves in one write.
    if (!this.c.corked) {
      this.c.corked = true;
      socket.cork();
      process.nextTick(uncork, this.c);
    }
    socket.write(head, 'latin1');
  }

  sendHead(statusCode: number, statusMessage: string | undefined, headers: string[] | Record<string, string | string[]>): Writable | null {
    if (this.ended || this.error !== null || this.closed || this.upgrade) return null;
    if (this.headSent) {
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
      statusMessage = rh.statusMessage;
      out = rh.headers;
      if (rh.transforms.length > 0) transforms = rh.transforms;
    }
    let head: string;
    try {
      head = this.#head(statusCode, statusMessage, out, hook !== null || !Array.isArray(headers));
    } catch (err) {
      for (const t of transforms ?? []) t.destroy();
      this.fail(err as SwitchyardError);
      return null;
    }
    this.status = statusCode;
    this.#writeHead(head);
    if (transforms !== null) {
      const end = writableOf(this);
      pipeStreams([...transforms, end] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream], (err) => {
        if (err && !this.finished) this.abort();
      });
      this.#sink = transforms[0]!;
      return transforms[0]!;
    }
    const sink = new H1Sink(this);
    this.#sink = sink;
    return sink as unknown as Writable;
  }

  /** Writes body bytes framed for the client; false when the client socket is full. */
  writeBody(chunk: Buffer | string): boolean {
    if (this.finished) return true;
    const socket = this.socket;
    if (this.#noBody || socket.destroyed) return true;
    if (!this.#chunked) return socket.write(chunk);
    const length = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (length === 0) return true;
    const corked = this.c.corked;
    if (!corked) socket.cork();
    socket.write(length.toString(16) + CRLF, 'latin1');
    socket.write(chunk);
    const ok = socket.write(CRLF_BUF);
    if (!corked) socket.uncork();
    return ok;
  }

  /** Ends the body (the last chunk and trailers when chunked), then the exchange's client side. */
  endBody(trailers: ReadonlyArray<string> | null): void {
    if (this.finished) return;
    this.finished = true;
    const socket = this.socket;
    if (this.#chunked && !socket.destroyed) {
      let last = '0\r\n';
      if (trailers !== null) {
        for (let i = 0; i < trailers.length; i += 2) {
          const name = trailers[i]!;
          const value = trailers[i + 1]!;
          if (VALID_NAME.test(name) && !INVALID_VALUE.test(value)) last += name + ': ' + value + CRLF;
        }
      }
      socket.write(last + CRLF, 'latin1');
    }
    this.c.responseDone(this);
  }

  endResponse(trailers?: ReadonlyArray<string> | null, chunk?: Buffer): void {
    const sink = this.#sink;
    if (sink === null) return;
    if (sink instanceof H1Sink) {
      if (chunk !== undefined) this.writeBody(chunk);
      this.endBody(trailers ?? null);
      return;
    }
    if (chunk !== undefined) sink.end(chunk);
    else sink.end();
  }

  /** A whole answer from the gateway, in one write. */
  respond(status: number, body?: string | Buffer, headers?: OutgoingHttpHeaders): void {
    if (this.ended || this.closed) return;
    if (this.termination === 'ok') this.termination = 'local';
    const payload = body === undefined ? '' : body;
    const out: OutgoingHttpHeaders = { ...(headers ?? {}) };
    checkHeaderValues(out);
    let hasLength = false;
    for (const k in out) if (k.length === 14 && k.toLowerCase() === 'content-length') hasLength = true;
    if (!hasLength) out['content-length'] = Buffer.byteLength(payload);
    this.status = status;
    if (this.headSent || this.socket.destroyed) {
      this.abort();
      return;
    }
    if (this.upgrade) {
      // An upgrade request: answer on the socket and close it.
      this.closeAfter = true;
    }
    const head = this.#head(status, undefined, out as Record<string, unknown>, true);
    this.headSent = true;
    const socket = this.socket;
    const corked = this.c.corked;
    if (!corked) socket.cork();
    socket.write(head, 'latin1');
    if (!this.#noBody && Buffer.byteLength(payload) > 0) socket.write(payload);
    // Flushed now, not at the end of the tick: a failure path may cut the socket right after.
    if (!corked) socket.uncork();
    this.bytesOut += Buffer.byteLength(payload);
    this.finished = true;
    this.c.responseDone(this);
  }

  answer(status: number, headers?: OutgoingHttpHeaders): Writable | null {
    if (this.ended || this.closed || this.headSent || this.upgrade) return null;
    if (this.termination === 'ok') this.termination = 'local';
    const out: OutgoingHttpHeaders = { ...(headers ?? {}) };
    checkHeaderValues(out);
    const head = this.#head(status, undefined, out as Record<string, unknown>, true);
    this.status = status;
    this.#writeHead(head);
    const sink = new H1Sink(this);
    this.#sink = sink;
    return sink as unknown as Writable;
  }

  fail(error: SwitchyardError): void {
    if (this.error !== null || this.ended) return;
    this.error = error;
    this.termination = terminationOf(error);
    this.gw.report(this, error);
    if (this.headSent || this.socket.destroyed || this.closed) {
      // Too late for a status: cut the connection so the client sees a truncated response.
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
    if (!this.upgrade && !this.finished && this.termination === 'ok') this.termination = 'client-abort';
  }
}

/** Scratch state of the head being serialised (one at a time: no object per response). */
const headFields = { head: '', hasLength: false, hasDate: false, closeAsked: false };

function addField(f: typeof headFields, name: string, value: string, check: boolean): void {
  if (check && (!VALID_NAME.test(name) || INVALID_VALUE.test(value))) throw CoreErrors.BAD_HEADER(name);
  const n = name.length;
  if (n === 14 || n === 4 || n === 10 || n === 17) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') f.hasLength = true;
    else if (lower === 'date') f.hasDate = true;
    else if (lower === 'connection' || lower === 'keep-alive') {
      if (lower === 'connection' && /\bclose\b/i.test(value)) f.closeAsked = true;
      return;
    } else if (lower === 'transfer-encoding') return; // the core frames the body itself
  }
  f.head += name + ': ' + value + CRLF;
}

function uncork(c: H1Connection): void {
  c.corked = false;
  c.socket.uncork();
}

// ---------------------------------------------------------------------- the connection

/** Which response-status a head-level refusal gets. */
function refusalStatus(code: string | undefined): number {
  return code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
}

const ST_HEAD = 1; // waiting for (the rest of) a request head
const ST_IDLE = 2; // keep-alive, between requests
const ST_BUSY = 3; // a request is being answered

/**
 * One client connection of an HTTP frontend: llhttp in REQUEST mode (strict) over a `net` or
 * TLS socket, requests answered one at a time in order (a pipelined request waits, parsed,
 * with the socket paused), timeouts checked by the owner's sweep (no timer per request).
 */
export class H1Connection {
  readonly socket: net.Socket;
  readonly conn: ConnectionImpl;
  readonly host: H1Host;
  readonly timeouts: H1Timeouts;
  readonly parser: HTTPParserInstance;
  /** The exchange being answered, then the ones parsed behind it (pipelining). */
  readonly queue: H1Exchange[] = [];
  /** The exchange whose request is being parsed (its body). */
  parsing: H1Exchange | null = null;
  corked = false;
  /** No further request is read (Connection: close, a refusal, an upgrade). */
  ignore = false;
  state = ST_HEAD;
  /** When the current state began (ms): the head or keep-alive deadline counts from it. */
  since: number;
  #pairs: string[] = [];
  #url = '';
  #bodyPaused = false;
  #queuePaused = false;
  /** A refusal to answer once the responses before it are out (a bad pipelined head). */
  #refusal = 0;
  #upgradeEx: H1Exchange | null = null;
  /**
   * "keep-alive: timeout=N" on every keep-alive response, as node:http sends it: a client
   * (undici, browsers) then stops reusing a connection before this side's keep-alive timeout
   * closes it, instead of sending a request into a socket that is being closed.
   */
  readonly keepAliveHint: string;

  constructor(socket: net.Socket, conn: ConnectionImpl, host: H1Host, timeouts: H1Timeouts) {
    this.socket = socket;
    this.conn = conn;
    this.host = host;
    this.timeouts = timeouts;
    this.since = Date.now();
    this.keepAliveHint = 'keep-alive: timeout=' + Math.floor(timeouts.keepAlive / 1000) + CRLF;
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
    parser.h1 = this;
    parser[kOnHeaders] = onParserHeaders;
    parser[kOnHeadersComplete] = onParserHeadersComplete;
    parser[kOnBody] = onParserBody;
    parser[kOnMessageComplete] = onParserMessageComplete;
    parser[kOnExecute] = null;
    this.parser = parser;
    (socket as SocketWithH1)[kH1] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    if (timeouts.client > 0) socket.setTimeout(timeouts.client, onSocketTimeout);
  }

  get closing(): boolean {
    return this.conn.closing;
  }

  data(chunk: Buffer): void {
    // After the connection's last request only its own body is still read.
    if (this.ignore && this.parsing === null) return;
    if (this.state === ST_IDLE) {
      this.state = ST_HEAD;
      this.since = Date.now();
    }
    const r = this.parser.execute(chunk);
    if (typeof r !== 'number') {
      this.#parseError(r);
      return;
    }
    const up = this.#upgradeEx;
    if (up !== null) {
      this.#upgradeEx = null;
      up.head = chunk.subarray(r);
      this.#detach();
    }
  }

  headers(pairs: string[] | undefined, url: string | undefined): void {
    if (pairs !== undefined) for (let i = 0; i < pairs.length; i++) this.#pairs.push(pairs[i]!);
    if (url !== undefined) this.#url += url;
  }

  headersComplete(major: number, minor: number, pairs: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    let raw: string[];
    if (this.#pairs.length === 0) raw = pairs ?? [];
    else {
      raw = pairs === undefined ? this.#pairs : this.#pairs.concat(pairs);
      this.#pairs = [];
    }
    let target = url ?? '';
    if (this.#url !== '') {
      target = this.#url + target;
      this.#url = '';
    }
    if (this.ignore) return 1;
    // One pass over the names the core needs (lower-cased only when the length matches).
    let host: string | undefined;
    let hostCount = 0;
    let length: string | undefined;
    let te: string | undefined;
    let expect: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'host') {
            hostCount++;
            host ??= raw[i + 1]!;
          }
          break;
        case 6:
          if (name.toLowerCase() === 'expect') expect = raw[i + 1]!;
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') length = raw[i + 1]!;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') te = te === undefined ? raw[i + 1]! : `${te}, ${raw[i + 1]!}`;
          break;
      }
    }
    const hasBody = length !== undefined ? length !== '0' : te !== undefined;
    const methodName = methods[method] ?? 'GET';
    const isUpgrade = upgrade;
    const expectContinue = expect !== undefined && minor >= 1 && expect.toLowerCase() === '100-continue';
    const ex = new H1Exchange(this.host, this, this.conn, methodName, target, raw, minor, host ?? '', hasBody && !isUpgrade, expectContinue, keepAlive && !isUpgrade, isUpgrade);
    // Framing llhttp lets through but that could be read two ways, or that HAProxy refuses.
    let refusal: SwitchyardError | null = null;
    if (major !== 1) refusal = CoreErrors.BAD_REQUEST(`HTTP/${major}.${minor}`);
    else if (minor >= 1 && hostCount === 0) refusal = CoreErrors.BAD_REQUEST('no Host header in an HTTP/1.1 request');
    else if (hostCount > 1) refusal = CoreErrors.BAD_REQUEST('more than one Host header');
    else if (te !== undefined) {
      if (minor === 0) refusal = CoreErrors.BAD_REQUEST('Transfer-Encoding in an HTTP/1.0 request');
      else {
        const last = te.slice(te.lastIndexOf(',') + 1).trim().toLowerCase();
        if (last !== 'chunked') refusal = CoreErrors.BAD_REQUEST(`Transfer-Encoding "${te}" does not end with chunked`);
      }
    }
    if (refusal === null && expect !== undefined && !expectContinue) {
      refusal = new CodedError('SWY_ERR_HTTP_BAD_REQUEST', `unsupported Expect: ${expect}`, { status: 417 });
    }
    if (refusal !== null || !keepAlive || isUpgrade) {
      // Nothing after this request is read: a refusal, Connection: close / HTTP/1.0, an upgrade.
      this.ignore = true;
      this.conn.closing = true;
      ex.closeAfter = true;
    }
    if (this.host.stopping) ex.closeAfter = true;
    this.state = ST_BUSY;
    this.parsing = refusal === null && hasBody && !isUpgrade ? ex : null;
    this.queue.push(ex);
    if (this.queue.length === 1) this.host.startH1(ex, refusal);
    else {
      (ex as H1Exchange & { refusal?: SwitchyardError | null }).refusal = refusal;
      if (!this.#queuePaused) {
        this.#queuePaused = true;
        this.socket.pause();
      }
    }
    if (isUpgrade) {
      this.#upgradeEx = ex;
      return 2;
    }
    return refusal !== null ? 1 : 0;
  }

  body(chunk: Buffer): void {
    const ex = this.parsing;
    if (ex === null || this.ignore && ex.error !== null) return;
    if (!ex.pushBody(chunk) && !this.#bodyPaused) {
      this.#bodyPaused = true;
      this.socket.pause();
    }
  }

  messageComplete(): void {
    const ex = this.parsing;
    this.parsing = null;
    if (ex !== null) ex.bodyDone();
  }

  /** The body's reader wants more: the socket reads again (unless a pipelined request holds it). */
  bodyWanted(ex: H1Exchange): void {
    if (!this.#bodyPaused || this.parsing !== ex) return;
    this.#bodyPaused = false;
    if (!this.#queuePaused) this.socket.resume();
  }

  #parseError(err: Error & { code?: string; reason?: string }): void {
    const code = err.code;
    const already = this.ignore;
    this.ignore = true;
    this.conn.closing = true;
    this.host.logDebug({ err: { message: err.message, code, reason: err.reason }, frontend: this.conn.frontend.name }, 'bad client request');
    const current = this.queue[0];
    if (code === 'HPE_CLOSED_CONNECTION') {
      // Bytes after the connection's last request: never read as a request; the answer in
      // flight finishes and the connection closes after it.
      if (current === undefined) this.socket.destroy();
      return;
    }
    const inBody = this.parsing;
    if (inBody !== null) {
      // The head was accepted, then its body broke the framing (a bad chunk): 400 if nothing
      // was answered yet; the connection closes after it.
      this.parsing = null;
      inBody.closeAfter = true;
      if (inBody === current && !inBody.headSent && !inBody.closed) inBody.fail(CoreErrors.BAD_REQUEST(code ?? 'bad chunk'));
      inBody.bodyBroken(err);
      if (inBody !== current || inBody.finished) this.socket.destroySoon();
      return;
    }
    // After the last request (a refusal, Connection: close) the rest is never read: no second answer.
    if (already) return;
    // A bad head: answered in order, after the responses before it.
    this.#refusal = refusalStatus(code);
    if (current === undefined) this.#refuse();
  }

  #refuse(): void {
    const status = this.#refusal;
    this.#refusal = 0;
    const socket = this.socket;
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`, 'latin1');
    socket.destroySoon();
  }

  /** The current exchange's response is out: close, or answer the next request. */
  responseDone(ex: H1Exchange): void {
    if (this.queue[0] !== ex) return;
    this.queue.shift();
    ex.closeNow(false);
    const socket = this.socket;
    if (ex.closeAfter || (!ex.requestDone && this.parsing === ex)) {
      this.ignore = true;
      this.conn.closing = true;
      if (this.parsing === ex) this.parsing = null;
      socket.destroySoon();
      return;
    }
    const next = this.queue[0];
    if (next !== undefined) {
      const refusal = (next as H1Exchange & { refusal?: SwitchyardError | null }).refusal ?? null;
      this.host.startH1(next, refusal);
      if (this.queue.length <= 1 && this.#queuePaused) {
        this.#queuePaused = false;
        if (!this.#bodyPaused) socket.resume();
      }
      return;
    }
    if (this.#refusal !== 0) {
      this.#refuse();
      return;
    }
    if (this.#queuePaused) {
      this.#queuePaused = false;
      if (!this.#bodyPaused) socket.resume();
    }
    if (this.parsing === null) {
      this.state = ST_IDLE;
      this.since = Date.now();
    }
  }

  /** An upgrade (WebSocket): the socket is the exchange's from here on, not HTTP any more. */
  #detach(): void {
    const socket = this.socket;
    socket.off('data', onSocketData);
    socket.off('end', onSocketEnd);
    socket.setTimeout(0);
    socket.pause();
    this.state = ST_BUSY;
  }

  ended(): void {
    // The client half-closed: a request cut short is over; an idle connection closes.
    if (this.parsing !== null) {
      const ex = this.parsing;
      this.parsing = null;
      ex.bodyBroken(new Error('aborted'));
    }
    this.ignore = true;
    this.conn.closing = true;
    if (this.queue.length === 0) this.socket.end();
  }

  closed(): void {
    const socket = this.socket;
    (socket as SocketWithH1)[kH1] = undefined;
    for (const ex of this.queue.splice(0)) ex.closeNow(true);
    const p = this.parser;
    if (p.h1 !== null) {
      p.h1 = null;
      p.remove?.();
      p.free();
    }
  }

  timedOut(): void {
    // Client inactivity (timeout client): the connection is cut.
    this.socket.destroy();
  }

  /** The owner's sweep: the head deadline (408) and the keep-alive deadline. */
  sweep(now: number): void {
    if (this.state === ST_HEAD) {
      const limit = this.timeouts.httpRequest;
      if (limit > 0 && now - this.since >= limit) {
        this.ignore = true;
        this.state = ST_BUSY;
        const socket = this.socket;
        if (!socket.writable) socket.destroy();
        else {
          socket.end('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1');
          socket.destroySoon();
        }
      }
    } else if (this.state === ST_IDLE) {
      const limit = this.timeouts.keepAlive;
      if (now - this.since >= limit) this.socket.destroy();
    }
  }

  /** Graceful stop: idle connections close now (a request in flight finishes with Connection: close). */
  get idle(): boolean {
    return this.queue.length === 0 && this.parsing === null && this.state !== ST_BUSY;
  }
}

const kH1 = Symbol('switchyard.h1');
type SocketWithH1 = net.Socket & { [kH1]?: H1Connection };

// Parser and socket callbacks are shared functions (no closure per connection or request).
function onParserHeaders(this: HTTPParserInstance, headers: string[], url: string): void {
  this.h1?.headers(headers, url);
}
function onParserHeadersComplete(
  this: HTTPParserInstance, major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined,
  _statusCode: unknown, _statusMessage: unknown, upgrade: boolean, shouldKeepAlive: boolean,
): number {
  const c = this.h1;
  if (c === null) return 1;
  return c.headersComplete(major, minor, headers, method, url, upgrade, shouldKeepAlive);
}
function onParserBody(this: HTTPParserInstance, chunk: Buffer): void {
  this.h1?.body(chunk);
}
function onParserMessageComplete(this: HTTPParserInstance): void {
  this.h1?.messageComplete();
}
function onSocketData(this: SocketWithH1, chunk: Buffer): void {
  this[kH1]?.data(chunk);
}
function onSocketEnd(this: SocketWithH1): void {
  this[kH1]?.ended();
}
function onSocketClose(this: SocketWithH1): void {
  this[kH1]?.closed();
}
function onSocketTimeout(this: SocketWithH1): void {
  this[kH1]?.timedOut();
}
