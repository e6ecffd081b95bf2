import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline, type Readable, type Writable } from 'node:stream';
import type {
  BackendState, Connection, FrontendState, HttpExchange, RequestHead, ResponseHead, ServerState, TcpExchange,
  Termination, Hooks,
} from '@switchyard/sdk';
import { SwitchyardError } from '@switchyard/sdk';
import { connectionHeaderTokens, HOP_BY_HOP_HEADERS } from '@switchyard/sdk';
import { CoreErrors } from './errors';

let nextId = 1;
export const nextExchangeId = (): number => nextId++;


const INVALID_HEADER_VALUE = /[\r\n\0]/;
const TE_TRAILERS = /\btrailers\b/i;
const NODE_HEADER_NAME = /\["?([^"\]]*)"?\]/;

export function terminationOf(err: SwitchyardError): Termination {
  switch (err.code) {
    case 'SWY_ERR_FORWARD_REFUSED': case 'SWY_ERR_FORWARD_CONNECT_TIMEOUT': return 'server-refused';
    case 'SWY_ERR_FORWARD_BAD_RESPONSE': return 'server-reset';
    case 'SWY_ERR_FORWARD_CLIENT_ABORT': return 'client-abort';
    case 'SWY_ERR_FORWARD_RESET': return 'server-reset';
    case 'SWY_ERR_FORWARD_TIMEOUT': return 'server-timeout';
    case 'SWY_ERR_BALANCE_QUEUE_TIMEOUT': case 'SWY_ERR_BALANCE_QUEUE_FULL': return 'queue-timeout';
    case 'SWY_ERR_BALANCE_NO_SERVER': case 'SWY_ERR_ROUTE_NO_BACKEND': case 'SWY_ERR_ROUTE_UNKNOWN_BACKEND': return 'no-server';
    default: return 'internal-error';
  }
}

/** The request head as it goes upstream, from the client's without hop-by-hop headers (built once, on first use). */
export function upstreamHead(ex: { readonly rawHeaders: ReadonlyArray<string>; readonly headers: IncomingHttpHeaders; readonly method: string; readonly url: string; readonly host: string }): RequestHead {
  const raw = ex.rawHeaders;
  const connectionTokens = connectionHeaderTokens(ex.headers.connection);
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(name) || (connectionTokens !== null && connectionTokens.has(name))) continue;
    const value = raw[i + 1]!;
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
  headers.host = ex.host;
  const te = ex.headers.te;
  if (te && TE_TRAILERS.test(String(te))) headers.te = 'trailers';
  return { method: ex.method, path: ex.url, headers };
}

/** The error page a failed exchange gets: the backend's or frontend's own, else a short HTML page. */
export function errorPageFor(ex: { readonly backend: BackendState | null; readonly frontend: FrontendState }, status: number): string | Buffer {
  const key = String(status);
  return (
    ex.backend?.config.errorPages?.[key] ??
    ex.frontend.config.errorPages?.[key] ??
    errorPage(status, PUBLIC_MESSAGES[status] ?? 'The request could not be processed.')
  );
}

/** Checks a local answer's header values (CR, LF, NUL throw BAD_HEADER naming the header). */
export function checkHeaderValues(out: OutgoingHttpHeaders): void {
  for (const k of Object.keys(out)) {
    const v = out[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      for (const x of v) if (INVALID_HEADER_VALUE.test(String(x))) throw CoreErrors.BAD_HEADER(k);
    } else if (INVALID_HEADER_VALUE.test(String(v))) throw CoreErrors.BAD_HEADER(k);
  }
}

function errorPage(status: number, message: string): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  return `<html><body><h1>${status} ${reason}</h1>\n${message}\n</body></html>\n`;
}

const PUBLIC_MESSAGES: Record<number, string> = {
  500: 'An internal error occurred.',
  502: 'The server returned an invalid or incomplete response.',
  503: 'No server is available to handle this request.',
  504: 'The server didn\'t respond in time.',
};

/** Told of every failed exchange, once, to log it (the gateway's, bound once). */
export type FailureReporter = (ex: ExchangeCore & (HttpExchange | TcpExchange), err: SwitchyardError) => void;

/** What every exchange of a gateway shares: the failure log, and the `respond` hook when tapped. */
export interface ExchangeHost {
  readonly report: FailureReporter;
  /** The exchange is over (any outcome): counters, the server slot, `log`, once. */
  end(ex: ExchangeCore): void;
  /** The gateway is stopping: responses close their connection. */
  readonly stopping: boolean;
  /** Null when nobody taps `respond`: the head then goes out untouched, with no object built. */
  readonly respond: Hooks['respond'] | null;
}

export abstract class ExchangeCore {
  readonly id = nextExchangeId();
  readonly startTime = Date.now();
  readonly startHr = process.hrtime.bigint();
  readonly connection: Connection;
  readonly frontend: FrontendState;
  backend: BackendState | null = null;
  server: ServerState | null = null;
  retries = 0;
  error: SwitchyardError | null = null;
  termination: Termination = 'ok';
  bytesIn = 0;
  bytesOut = 0;
  /** Set by the core when a server slot is held, to give it back exactly once. */
  slotHeld = false;
  ended = false;
  #vars: Map<string, unknown> | undefined;
  protected readonly gw: ExchangeHost;

  constructor(host: ExchangeHost, connection: Connection) {
    this.gw = host;
    this.connection = connection;
    this.frontend = connection.frontend;
  }

  get clientAddress(): string {
    return this.connection.remoteAddress;
  }
  get clientPort(): number {
    return this.connection.remotePort;
  }
  get vars(): Map<string, unknown> {
    return (this.#vars ??= new Map());
  }
}

export class HttpExchangeImpl extends ExchangeCore implements HttpExchange {
  readonly kind = 'http' as const;
  readonly req: IncomingMessage;
  readonly res: ServerResponse | null;
  readonly socket: Socket;
  readonly head: Buffer | null;
  readonly upgrade: boolean;
  readonly method: string;
  readonly host: string;
  readonly url: string;
  status = 0;
  #upstream: RequestHead | undefined;
  #path: string | undefined;
  /** Where the response body goes once the head is out: the client, or the first respond transform. */
  #sink: Writable | null = null;

  constructor(host: ExchangeHost, connection: Connection, req: IncomingMessage, res: ServerResponse | null, head: Buffer | null) {
    super(host, connection);
    this.req = req;
    this.res = res;
    this.socket = req.socket;
    this.head = head;
    this.upgrade = res === null;
    this.method = req.method ?? 'GET';
    const target = req.url ?? '/';
    if (target.charCodeAt(0) === 47 /* '/' */ || target === '*') {
      this.url = target;
      this.host = req.headers.host ?? '';
    } else {
      // Absolute form: the target's authority replaces Host (RFC 9112 §3.2.2).
      let parsed: URL | undefined;
      try {
        parsed = new URL(target);
      } catch {
        parsed = undefined;
      }
      this.url = parsed ? parsed.pathname + parsed.search : target;
      this.host = parsed ? parsed.host : (req.headers.host ?? '');
    }
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }
  get rawHeaders(): ReadonlyArray<string> {
    return this.req.rawHeaders;
  }
  get httpVersion(): string {
    return this.req.httpVersion;
  }
  get target(): string {
    return this.req.url ?? this.url;
  }
  get body(): Readable {
    return this.req;
  }
  get hasBody(): boolean {
    const h = this.req.headers;
    return h['content-length'] !== undefined ? h['content-length'] !== '0' : h['transfer-encoding'] !== undefined;
  }
  get clientGone(): boolean {
    return this.res !== null ? responseGone(this.res) && !this.res.writableFinished : this.socket.destroyed;
  }
  get headSent(): boolean {
    return this.res !== null ? this.res.headersSent : this.status !== 0;
  }

  onClose(fn: () => void): void {
    const res = this.res;
    if (res !== null) {
      if (res.closed || responseGone(res)) process.nextTick(fn);
      else res.once('close', fn);
    } else if (this.socket.destroyed) process.nextTick(fn);
    else this.socket.once('close', fn);
  }

  answer(status: number, headers?: OutgoingHttpHeaders): Writable | null {
    const res = this.res;
    if (res === null || this.ended || res.headersSent || responseGone(res)) return null;
    if (this.termination === 'ok') this.termination = 'local';
    const out: OutgoingHttpHeaders = { ...(headers ?? {}) };
    for (const k of Object.keys(out)) {
      const v = out[k];
      const values = Array.isArray(v) ? v : [v];
      if (values.some((x) => x !== undefined && INVALID_HEADER_VALUE.test(String(x)))) throw CoreErrors.BAD_HEADER(k);
    }
    res.writeHead(status, out);
    this.status = status;
    return res;
  }

  abort(): void {
    (this.res ?? this.socket).destroy();
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

  get upstream(): RequestHead {
    return (this.#upstream ??= upstreamHead(this));
  }

  /**
   * The one way a produced response (a server's, a cache hit) reaches the client: runs the
   * `respond` hook once, writes the head, and returns where the body goes (the client, or
   * the first transform a respond tap added). Null when the exchange failed instead (a
   * respond tap threw, a header value is invalid): the client got a 500, the producer
   * stops (that is never the server's fault).
   */
  sendHead(statusCode: number, statusMessage: string | undefined, headers: string[] | Record<string, string | string[]>): Writable | null {
    const res = this.res;
    if (res === null || this.ended || this.error !== null) return null;
    if (res.headersSent) {
      res.destroy();
      return null;
    }
    let sink: Writable = res;
    const hook = this.gw.respond;
    let out: string[] | Record<string, string | string[]> = headers;
    if (hook !== null) {
      let head: ResponseHead = { statusCode, statusMessage, headers: Array.isArray(headers) ? listToObject(headers) : headers, transforms: [] };
      try {
        head = hook.call(head, this);
      } catch (err) {
        this.fail(err instanceof SwitchyardError ? err : CoreErrors.HOOK_FAILED.with({ cause: err }, 'a plugin', 'respond', String(err)));
        return null;
      }
      statusCode = head.statusCode;
      statusMessage = head.statusMessage;
      out = head.headers;
      if (head.transforms.length > 0) {
        sink = head.transforms[0]!;
        pipeline([...head.transforms, res] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream], (err) => {
          if (err && !res.destroyed) res.destroy(err);
        });
      }
    }
    try {
      if (statusMessage !== undefined) res.writeHead(statusCode, statusMessage, out as OutgoingHttpHeaders);
      else res.writeHead(statusCode, out as OutgoingHttpHeaders);
    } catch (err) {
      if (sink !== res) sink.destroy();
      // Node names the header in its message: `Invalid character in header content ["x-name"]`.
      const name = NODE_HEADER_NAME.exec((err as Error).message)?.[1] ?? '(unknown)';
      this.fail(CoreErrors.BAD_HEADER.with({ cause: err }, name));
      return null;
    }
    this.status = statusCode;
    this.#sink = sink;
    return sink;
  }

  /** Ends the body started by sendHead, with trailers (a flat name/value list) when the client connection can carry them. */
  endResponse(trailers?: ReadonlyArray<string> | null, chunk?: Buffer): void {
    const sink = this.#sink;
    if (sink === null) return;
    const res = this.res!;
    if (trailers && trailers.length > 0 && sink === res && (res as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding) {
      const t: Array<[string, string]> = [];
      for (let i = 0; i < trailers.length; i += 2) t.push([trailers[i]!, trailers[i + 1]!]);
      res.addTrailers(t);
    }
    if (chunk !== undefined) sink.end(chunk);
    else sink.end();
  }

  respond(status: number, body?: string | Buffer, headers?: OutgoingHttpHeaders): void {
    if (this.ended) return;
    if (this.termination === 'ok') this.termination = 'local';
    const payload = body === undefined ? '' : body;
    const out: OutgoingHttpHeaders = { ...(headers ?? {}) };
    for (const [k, v] of Object.entries(out)) {
      const values = Array.isArray(v) ? v : [v];
      if (values.some((x) => x !== undefined && INVALID_HEADER_VALUE.test(String(x)))) {
        throw CoreErrors.BAD_HEADER(k);
      }
    }
    if (!hasHeader(out, 'content-length')) out['content-length'] = Buffer.byteLength(payload);
    this.status = status;
    if (this.res) {
      if (this.res.headersSent || responseGone(this.res)) {
        this.res.destroy();
        return;
      }
      this.res.writeHead(status, out);
      this.res.end(this.method === 'HEAD' ? undefined : payload);
    } else {
      // An upgrade request has no ServerResponse: answer on the socket and close it.
      let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\n`;
      for (const [k, v] of Object.entries(out)) {
        for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined) head += `${k}: ${String(x)}\r\n`;
      }
      this.socket.end(head + '\r\n' + payload.toString());
    }
    this.bytesOut += Buffer.byteLength(payload);
  }

  fail(error: SwitchyardError): void {
    if (this.error !== null || this.ended) return;
    this.error = error;
    this.termination = terminationOf(error);
    this.gw.report(this, error);
    if (this.res ? this.res.headersSent || responseGone(this.res) : this.socket.destroyed) {
      // Too late for a status: cut the connection so the client sees a truncated response.
      (this.res ?? this.socket).destroy();
      return;
    }
    const status = error.status >= 400 ? error.status : 500;
    const page = errorPageFor(this, status);
    const termination = this.termination;
    try {
      this.respond(status, page, { 'content-type': 'text/html', 'cache-control': 'no-cache' });
    } catch {
      // The client went away meanwhile (an HTTP/2 stream reset): nothing to answer.
      this.res?.destroy();
    }
    this.termination = termination;
  }
}

export class TcpExchangeImpl extends ExchangeCore implements TcpExchange {
  readonly kind = 'tcp' as const;
  readonly socket: Socket;
  readonly buffered: Buffer[] = [];

  constructor(host: ExchangeHost, connection: Connection) {
    super(host, connection);
    this.socket = connection.socket;
  }

  fail(error: SwitchyardError): void {
    if (this.error !== null || this.ended) return;
    this.error = error;
    this.termination = terminationOf(error);
    this.gw.report(this, error);
    this.socket.destroy();
  }
}

/** A flat [name, value, …] list → the lower-case header object respond taps see. */
export function listToObject(list: ReadonlyArray<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    const value = list[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

function streamGone(stream: { destroyed: boolean; closed: boolean } | undefined): boolean {
  return stream !== undefined && (stream.destroyed || stream.closed);
}

/** The client is gone: a destroyed response (HTTP/1.1), or a destroyed stream (HTTP/2's compat response has no `destroyed`). */
export function responseGone(res: ServerResponse): boolean {
  return res.destroyed === true || streamGone((res as unknown as { stream?: { destroyed: boolean; closed: boolean } }).stream);
}

function hasHeader(h: OutgoingHttpHeaders, name: string): boolean {
  for (const k of Object.keys(h)) if (k.toLowerCase() === name) return true;
  return false;
}
