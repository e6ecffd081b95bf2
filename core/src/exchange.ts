import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type {
  BackendState, Connection, FrontendState, HttpExchange, RequestHead, ServerState, TcpExchange,
  Termination, Hooks,
} from '@switchyard/sdk';
import { SwitchyardError } from '@switchyard/sdk';
import { connectionHeaderTokens, HOP_BY_HOP_HEADERS } from '@switchyard/sdk';
import { CoreErrors } from './errors';

let nextId = 1;
export const nextExchangeId = (): number => nextId++;


const INVALID_HEADER_VALUE = /[\r\n\0]/;
const TE_TRAILERS = /\btrailers\b/i;

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
