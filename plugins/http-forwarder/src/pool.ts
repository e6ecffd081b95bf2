import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Readable } from 'node:stream';

// Node's own llhttp binding, as node:http uses it (strict: no lenient flags).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HTTPParser } = require('_http_common') as { HTTPParser: HTTPParserClass };

interface HTTPParserClass {
  new (): HTTPParserInstance;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}
interface HTTPParserInstance {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): undefined | Error;
  close(): void;
  free(): void;
  remove(): void;
  [key: number]: unknown;
  conn: UpstreamConnection | null;
}

const kOnHeaders = HTTPParser.kOnHeaders;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete;
const kOnBody = HTTPParser.kOnBody;
const kOnMessageComplete = HTTPParser.kOnMessageComplete;
const kOnExecute = HTTPParser.kOnExecute;
/** Node's default (16 KiB), as node:http's client. */
const MAX_HEADER_SIZE = 0;

/** What the forwarder's response handlers implement (undici's raw-header dispatch handler shape). */
export interface UpstreamHandler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
  onUpgrade?(statusCode: number, rawHeaders: string[], socket: net.Socket): void;
}

export interface UpstreamRequest {
  method: string;
  /** Origin form. */
  path: string;
  /** Flat [name, value, …], hop-by-hop headers already dropped. */
  headers: string[];
  /** A stream (the client's request), a whole buffered body (retries), or none. */
  body: Readable | Buffer | null;
  /** Upgrade token (WebSocket): sent with `connection: upgrade`. */
  upgrade?: string;
}

export interface UpstreamPoolOptions {
  host: string;
  port: number;
  /** TLS to the server (contexts built once, by the caller), or null for plain TCP. */
  tls: tls.ConnectionOptions | null;
  connectTimeout: number;
  /** Inactivity while a request is in flight (HAProxy's timeout server). */
  timeout: number;
  /** Idle keep-alive connections are closed after this long. */
  keepAliveTimeout: number;
  /** 0 = as many as needed; else requests wait for a free connection. */
  maxConnections: number;
}

/** An error with the code the forwarder's error map knows (undici's codes, so both paths map alike). */
function upstreamError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

const CRLF = '\r\n';
const CHUNK_END = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** One connection to a server: a socket, its parser, and at most one request in flight. */
class UpstreamConnection {
  readonly pool: UpstreamPool;
  readonly socket: net.Socket;
  readonly parser: HTTPParserInstance;
  /** Completed exchanges on this connection (> 0: reused keep-alive). */
  uses = 0;
  connected = false;
  // --- the request in flight
  handler: UpstreamHandler | null = null;
  request: UpstreamRequest | null = null;
  headMethodHead = false;
  sawResponse = false;
  headersDone = false;
  requestDone = false;
  keepAlive = false;
  upgraded = false;
  paused = false;
  /** Header pairs llhttp flushed before headers-complete (many headers) or as trailers. */
  pending: string[] = [];
  statusCode = 0;
  readonly resume = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.socket.setTimeout(this.pool.options.timeout);
    this.socket.resume();
  };
  readonly abort = (err?: Error): void => {
    this.fail(err ?? upstreamError('UND_ERR_ABORTED', 'request aborted'));
  };

  constructor(pool: UpstreamPool, socket: net.Socket) {
    this.pool = pool;
    this.socket = socket;
    const parser = new HTTPParser();
    // The resource object carries async context (AsyncLocalStorage) for this connection's callbacks.
    parser.initialize(HTTPParser.RESPONSE, {}, MAX_HEADER_SIZE, HTTPParser.kLenientNone);
    parser.conn = this;
    parser[kOnHeaders] = onParserHeaders;
    parser[kOnHeadersComplete] = onParserHeadersComplete;
    parser[kOnBody] = onParserBody;
    parser[kOnMessageComplete] = onParserMessageComplete;
    parser[kOnExecute] = null;
    this.parser = parser;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('timeout', onSocketTimeout);
    (socket as SocketWithConn)[kConn] = this;
  }

  /** Sends a request on this (connected, idle) connection. */
  send(req: UpstreamRequest, handler: UpstreamHandler): void {
    this.handler = handler;
    this.request = req;
    this.headMethodHead = req.method === 'HEAD';
    this.sawResponse = false;
    this.headersDone = false;
    this.requestDone = false;
    this.keepAlive = false;
    this.upgraded = false;
    this.paused = false;
    this.pending.length = 0;
    this.statusCode = 0;
    const socket = this.socket;
    socket.setTimeout(this.pool.options.timeout);
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    const h = req.headers;
    let hasLength = false;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      head += name + ': ' + h[i + 1]! + CRLF;
    }
    const body = req.body;
    if (req.upgrade !== undefined) head += 'connection: upgrade\r\nupgrade: ' + req.upgrade + CRLF;
    if (body === null) {
      socket.write(head + CRLF, 'latin1');
      this.requestDone = true;
      return;
    }
    if (Buffer.isBuffer(body)) {
      if (!hasLength) head += 'content-length: ' + body.length + CRLF;
      socket.cork();
      socket.write(head + CRLF, 'latin1');
      socket.write(body);
      socket.uncork();
      this.requestDone = true;
      return;
    }
    const chunked = !hasLength;
    if (chunked) head += 'transfer-encoding: chunked\r\n';
    socket.write(head + CRLF, 'latin1');
    this.#stream(body, chunked);
  }

  /** Streams a request body with backpressure both ways (the client pauses while the server is slow). */
  #stream(body: Readable, chunked: boolean): void {
    const socket = this.socket;
    const onData = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      let ok: boolean;
      if (chunked) {
        socket.cork();
        socket.write(chunk.length.toString(16) + CRLF, 'latin1');
        socket.write(chunk);
        ok = socket.write(CHUNK_END);
        socket.uncork();
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) {
        body.pause();
        socket.once('drain', onDrain);
      }
    };
    const onDrain = (): void => {
      body.resume();
    };
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onAbort);
      body.off('aborted', onAbort);
      body.off('close', onClose);
      socket.off('drain', onDrain);
      socket.off('close', cleanup);
    };
    const onEnd = (): void => {
      cleanup();
      if (this.request === null || this.socket.destroyed) return;
      if (chunked) socket.write(LAST_CHUNK);
      this.requestDone = true;
      if (this.request !== null && this.handler === null) this.#finished();
    };
    const onAbort = (): void => {
      cleanup();
      this.fail(upstreamError('UND_ERR_ABORTED', 'the client request body was cut'));
    };
    // An HTTP/2 stream reset mid-body closes without 'end' (and maybe without 'aborted').
    const onClose = (): void => {
      if (!body.readableEnded) onAbort();
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onAbort);
    body.once('aborted', onAbort);
    body.once('close', onClose);
    this.socket.once('close', cleanup);
    // A body a plugin paused before (bandwidth pacing) flows only when asked to.
    body.resume();
  }

  headersComplete(statusCode: number, statusMessage: string, headers: string[], upgrade: boolean, shouldKeepAlive: boolean): number {
    const handler = this.handler;
    if (handler === null) {
      // Bytes from a server with nothing asked: a protocol error.
      this.socket.destroy();
      return 1;
    }
    this.sawResponse = true;
    if (statusCode < 200 && statusCode !== 101) return 1; // 1xx: no body; the final response follows
    this.statusCode = statusCode;
    this.headersDone = true;
    this.keepAlive = shouldKeepAlive;
    if (statusCode === 101 && this.request!.upgrade !== undefined) {
      this.upgraded = true;
      return 2;
    }
    if (upgrade && this.request!.upgrade === undefined) {
      // An upgrade nobody asked for: not HTTP any more.
      this.keepAlive = false;
    }
    if (!handler.onHeaders(statusCode, headers, this.resume, statusMessage)) {
      if (this.handler === null) return 1;
      this.pause();
    }
    return this.headMethodHead ? 1 : 0;
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    // A paused (slow) client is not the server's inactivity.
    this.socket.setTimeout(0);
    this.socket.pause();
  }

  body(chunk: Buffer): void {
    const handler = this.handler;
    if (handler === null) return;
    if (!handler.onData(chunk)) this.pause();
  }

  messageComplete(): void {
    const handler = this.handler;
    if (handler === null || !this.headersDone || this.upgraded) return;
    const trailers = this.pending.length > 0 ? this.pending.slice() : null;
    this.pending.length = 0;
    this.handler = null;
    if (this.paused) {
      // Paused on the last chunk: the response is whole, the connection reads again.
      this.paused = false;
      this.socket.resume();
    }
    handler.onComplete(trailers);
    if (this.requestDone) this.#finished();
    // else: the server answered before the request body was all sent; done once it is (or closed).
  }

  /** Request and response both done: back to the pool, or closed. */
  #finished(): void {
    this.request = null;
    this.uses++;
    if (this.keepAlive && !this.socket.destroyed && !this.pool.closed) this.pool.release(this);
    else this.socket.destroy();
  }

  data(chunk: Buffer): void {
    const r = this.parser.execute(chunk);
    if (typeof r !== 'number') {
      const code = (r as Error & { code?: string }).code ?? 'HPE_INVALID';
      this.fail(upstreamError(code, `invalid response from the server: ${(r as Error & { reason?: string }).reason ?? r.message}`));
      return;
    }
    if (this.upgraded) this.#upgrade(chunk.subarray(r));
  }

  #upgrade(rest: Buffer): void {
    const handler = this.handler!;
    const socket = this.socket;
    this.handler = null;
    this.request = null;
    this.#detach();
    socket.setTimeout(0);
    if (rest.length > 0) socket.unshift(rest);
    const headers = this.pending;
    this.pending = [];
    handler.onUpgrade?.(this.statusCode, headers, socket);
  }

  /** The socket leaves the pool for good (an upgrade tunnel): no parser, no pool listeners. */
  #detach(): void {
    const socket = this.socket;
    socket.off('data', onSocketData);
    socket.off('end', onSocketEnd);
    socket.off('error', onSocketError);
    socket.off('close', onSocketClose);
    socket.off('timeout', onSocketTimeout);
    this.pool.forget(this);
    this.#freeParser();
  }

  #freeParser(): void {
    const p = this.parser;
    if (p.conn === null) return;
    p.conn = null;
    p.remove?.();
    p.free();
  }

  ended(): void {
    if (this.handler !== null && this.headersDone) {
      // A body read until close is complete now; anything else is cut short.
      const r = this.parser.finish();
      if (r === undefined && this.handler === null) return;
    }
    this.fail(upstreamError('UND_ERR_SOCKET', 'other side closed'));
  }

  /** Fails the request in flight (once) and closes the connection. */
  fail(err: Error): void {
    const handler = this.handler;
    this.handler = null;
    this.request = null;
    this.socket.destroy();
    if (handler === null) return;
    // A reused idle connection the server closed just as we wrote (keep-alive race): nothing
    // of the request can have been processed if no byte came back; the pool sends it again.
    const code = (err as Error & { code?: string }).code;
    if (!this.sawResponse && this.uses > 0 && this.retryable && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE')) {
      this.pool.redispatch(this.retryRequest!, handler);
      return;
    }
    handler.onError(err);
  }

  /** Set by the pool for requests it may resend on a fresh connection (no streamed body). */
  retryable = false;
  retryRequest: UpstreamRequest | null = null;

  closed(): void {
    this.#freeParser();
    this.pool.forget(this);
    if (this.handler !== null) this.fail(upstreamError('UND_ERR_SOCKET', 'other side closed'));
  }

  timedOut(): void {
    if (this.handler === null && this.request === null) {
      this.socket.destroy(); // idle keep-alive timeout
      return;
    }
    this.fail(upstreamError(this.connected ? 'UND_ERR_HEADERS_TIMEOUT' : 'UND_ERR_CONNECT_TIMEOUT', 'timeout'));
  }
}

const kConn = Symbol('switchyard.upstream.connection');
type SocketWithConn = net.Socket & { [kConn]?: UpstreamConnection };

// Parser and socket callbacks are shared functions (no closure per connection or request).
function onParserHeaders(this: HTTPParserInstance, headers: string[]): void {
  const c = this.conn;
  if (c !== null) for (let i = 0; i < headers.length; i++) c.pending.push(headers[i]!);
}
function onParserHeadersComplete(
  this: HTTPParserInstance, _major: number, _minor: number, headers: string[] | undefined, _method: unknown, _url: unknown,
  statusCode: number, statusMessage: string, upgrade: boolean, shouldKeepAlive: boolean,
): number {
  const c = this.conn;
  if (c === null) return 1;
  let list = headers;
  if (list === undefined) {
    list = c.pending;
    c.pending = [];
  } else if (c.pending.length > 0) {
    list = c.pending.concat(list);
    c.pending = [];
  }
  if (statusCode === 101 && c.request?.upgrade !== undefined) c.pending = list;
  return c.headersComplete(statusCode, statusMessage, list, upgrade, shouldKeepAlive);
}
function onParserBody(this: HTTPParserInstance, chunk: Buffer): void {
  this.conn?.body(chunk);
}
function onParserMessageComplete(this: HTTPParserInstance): void {
  this.conn?.messageComplete();
}
function onSocketData(this: SocketWithConn, chunk: Buffer): void {
  this[kConn]?.data(chunk);
}
function onSocketEnd(this: SocketWithConn): void {
  this[kConn]?.ended();
}
function onSocketError(this: SocketWithConn, err: Error): void {
  this[kConn]?.fail(err);
}
function onSocketClose(this: SocketWithConn): void {
  this[kConn]?.closed();
}
function onSocketTimeout(this: SocketWithConn): void {
  this[kConn]?.timedOut();
}

interface Queued {
  req: UpstreamRequest;
  handler: UpstreamHandler;
}

/**
 * Keep-alive HTTP/1.1 connections to one server on `net` (or `tls`) sockets, responses
 * parsed by Node's llhttp binding in strict mode. Idle connections are reused last-in first
 * out (the warmest first); request heads are written once from the raw header list.
 */
export class UpstreamPool {
  readonly options: UpstreamPoolOptions;
  readonly #idle: UpstreamConnection[] = [];
  readonly #all = new Set<UpstreamConnection>();
  readonly #queue: Queued[] = [];
  closed = false;

  constructor(options: UpstreamPoolOptions) {
    this.options = options;
  }

  get size(): number {
    return this.#all.size;
  }

  /**
   * Sends a request: on the warmest idle connection, else a new one (or, at
   * maxConnections, once one is free). The handler's onConnect gets the abort function
   * when the request has a connection, as undici does.
   */
  dispatch(req: UpstreamRequest, handler: UpstreamHandler): void {
    this.#assign(req, handler);
  }

  /** Sends again on a fresh connection (the keep-alive race: a reused socket closed under us). */
  redispatch(req: UpstreamRequest, handler: UpstreamHandler): void {
    this.#assign(req, handler, true);
  }

  #assign(req: UpstreamRequest, handler: UpstreamHandler, fresh = false): void {
    if (this.closed) {
      handler.onError(upstreamError('UND_ERR_CLOSED', 'the pool is closed'));
      return;
    }
    let conn: UpstreamConnection | undefined;
    while (!fresh && (conn = this.#idle.pop()) !== undefined) {
      if (!conn.socket.destroyed) break;
    }
    if (conn !== undefined && !conn.socket.destroyed) {
      this.#start(conn, req, handler);
      return;
    }
    if (this.options.maxConnections > 0 && this.#all.size >= this.options.maxConnections) {
      this.#queue.push({ req, handler });
      return;
    }
    this.#connect(req, handler);
  }

  #start(conn: UpstreamConnection, req: UpstreamRequest, handler: UpstreamHandler): void {
    const noStream = req.body === null || Buffer.isBuffer(req.body);
    conn.retryable = noStream;
    conn.retryRequest = noStream ? req : null;
    conn.handler = handler;
    conn.request = req;
    handler.onConnect(conn.abort);
    // onConnect may have aborted at once (the client is gone): the handler was told.
    if (conn.handler === handler) conn.send(req, handler);
  }

  #connect(req: UpstreamRequest, handler: UpstreamHandler): void {
    const o = this.options;
    const socket = o.tls !== null
      ? tls.connect({ ...o.tls, host: o.host, port: o.port })
      : net.connect({ host: o.host, port: o.port, noDelay: true });
    const conn = new UpstreamConnection(this, socket);
    this.#all.add(conn);
    // Until connected, the request is the connection's (errors and timeouts fail it).
    conn.handler = handler;
    conn.request = req;
    socket.setTimeout(o.connectTimeout);
    socket.once(o.tls !== null ? 'secureConnect' : 'connect', () => {
      conn.connected = true;
      if (o.tls !== null) socket.setNoDelay(true);
      const h = conn.handler;
      if (h === null) return; // aborted meanwhile
      conn.handler = null;
      this.#start(conn, req, h);
    });
  }

  release(conn: UpstreamConnection): void {
    const next = this.#queue.shift();
    if (next !== undefined) {
      this.#start(conn, next.req, next.handler);
      return;
    }
    conn.socket.setTimeout(this.options.keepAliveTimeout);
    this.#idle.push(conn);
  }

  forget(conn: UpstreamConnection): void {
    if (!this.#all.delete(conn)) return;
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    const next = this.#queue.shift();
    if (next !== undefined && !this.closed) this.#connect(next.req, next.handler);
  }

  /** Stops reusing: idle connections close now, busy ones when their exchange is over. */
  close(): void {
    this.closed = true;
    for (const c of this.#idle.splice(0)) c.socket.destroy();
    for (const q of this.#queue.splice(0)) q.handler.onError(upstreamError('UND_ERR_CLOSED', 'the pool is closed'));
  }

  destroy(): void {
    this.close();
    for (const c of this.#all) c.socket.destroy();
  }
}
