import type { IncomingHttpHeaders, IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { SwitchyardError } from './errors';
import type { BindConfig } from './config';
import type { BackendState, FrontendState, ServerState } from './state';

export interface TlsInfo {
  /** Server name the client asked for (SNI), or null. */
  readonly servername: string | null;
  /** Protocol chosen by ALPN, or null. */
  readonly alpn: string | null;
  readonly protocol: string | null;
  readonly cipher: string | null;
  /** True when the session was resumed (ticket), not a full handshake. */
  readonly resumed?: boolean;
  /**
   * The client certificate on a bind with `verify: optional|required`, or null when the
   * client sent none (or the bind does not ask for one).
   */
  readonly clientCert?: ClientCertificateInfo | null;
}

/** A client certificate (mTLS) as ACLs and header rules read it. */
export interface ClientCertificateInfo {
  /** Subject DN in OpenSSL's one-line form, `/C=FR/O=Example/CN=alice` (HAProxy's ssl_c_s_dn). */
  readonly subject: string;
  /** Issuer DN, same form (ssl_c_i_dn). */
  readonly issuer: string;
  /** Serial number, upper-case hex. */
  readonly serial: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string;
  readonly validFrom: string;
  readonly validTo: string;
  /** True when the chain verified against the bind's CA. */
  readonly verified: boolean;
  /** OpenSSL's verification error code (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`…), null when verified. */
  readonly verifyError: string | null;
}

/**
 * A client connection, as the `accept` hook sees it. A tap may rewrite the client
 * address (PROXY protocol) before any exchange reads it.
 */
export interface Connection {
  readonly id: number;
  readonly frontend: FrontendState;
  readonly socket: Socket;
  remoteAddress: string;
  remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The bind (listening address) the connection arrived on, as configured. */
  readonly bind?: BindConfig;
  /** Set once the TLS handshake is done on a TLS bind. */
  tls: TlsInfo | null;
  /** Per-connection data for plugins. */
  readonly data: Map<string | symbol, unknown>;
}

/** How an exchange ended, for logs and stats (HAProxy's termination state, simplified). */
export type Termination =
  | 'ok'
  | 'local' // answered by the gateway (route tap, deny, redirect, error page)
  | 'client-abort'
  | 'client-timeout'
  | 'server-refused'
  | 'server-reset'
  | 'server-timeout'
  | 'queue-timeout'
  | 'no-server'
  | 'internal-error';

export interface ExchangeBase {
  readonly id: number;
  readonly connection: Connection;
  readonly frontend: FrontendState;
  /** Client address after any accept-hook rewrite (PROXY protocol). */
  readonly clientAddress: string;
  readonly clientPort: number;
  /** ms since epoch when the exchange began. */
  readonly startTime: number;
  /** process.hrtime.bigint() when the exchange began. */
  readonly startHr: bigint;
  backend: BackendState | null;
  server: ServerState | null;
  /** Times the exchange was sent to a server again (retries plugin). */
  retries: number;
  error: SwitchyardError | null;
  termination: Termination;
  bytesIn: number;
  bytesOut: number;
  /** Per-exchange data for plugins, created on first use. */
  readonly vars: Map<string, unknown>;
}

/** A header edit list applied by the HTTP forwarder: the request head as it goes upstream. */
export interface RequestHead {
  method: string;
  /** Path and query as sent upstream (origin form). */
  path: string;
  /** Header names lower-case. */
  headers: Record<string, string | string[]>;
}

export interface HttpExchange extends ExchangeBase {
  readonly kind: 'http';
  /**
   * @deprecated The core's front ends are no node:http servers (HTTP/1.1 on llhttp, HTTP/2 on
   * node:http2's stream API): use `headers`, `rawHeaders`, `httpVersion`, `target`, `body`,
   * `onClose`, `clientGone`, `answer` and `abort` instead. Undefined on the core's exchanges;
   * kept in the type for exchanges other code builds.
   */
  readonly req?: IncomingMessage;
  /** @deprecated See `req`. */
  readonly res?: ServerResponse | null;
  /** The request headers as the client sent them, names lower-case (a view built on first use). */
  readonly headers: IncomingHttpHeaders;
  /** The request headers as the client sent them: `[name, value, …]`, names as spelled. */
  readonly rawHeaders: ReadonlyArray<string>;
  /** `1.0`, `1.1` or `2.0`. */
  readonly httpVersion: string;
  /** The request target exactly as sent (origin or absolute form). */
  readonly target: string;
  /**
   * The request body as it streams from the client: a Readable (`pause()`/`resume()`, 'data',
   * 'end'); already ended when the request has none. Whoever forwards or answers reads it.
   */
  readonly body: Readable;
  /** True when the request has a body (a non-zero Content-Length, or Transfer-Encoding). */
  readonly hasBody: boolean;
  /**
   * Runs `fn` once when the exchange's client side is over: the response was sent whole, or
   * the client went away first. Runs at once (next tick) when that already happened.
   */
  onClose(fn: () => void): void;
  /** True once the client is gone (connection closed or stream reset) before the response ended. */
  readonly clientGone: boolean;
  /** True once a response head was written to the client. */
  readonly headSent: boolean;
  /**
   * Answers from the gateway with a streamed body (a stats page, an event stream): writes the
   * head (no `respond` hook, as `respond()`), then returns where the body goes; `end()` it.
   * Null when the client is gone or a head was already sent. On HEAD the body is dropped.
   */
  answer(status: number, headers?: OutgoingHttpHeaders): Writable | null;
  /** Cuts the exchange now: HTTP/1.1 closes the client connection, HTTP/2 resets the stream. */
  abort(): void;
  /** The client socket. */
  readonly socket: Socket;
  /** Bytes read past the head of an upgrade request. */
  readonly head: Buffer | null;
  readonly upgrade: boolean;
  readonly method: string;
  /** Host from the Host header, or from the target in absolute form (RFC 9112 §3.2.2). */
  readonly host: string;
  /** Path and query in origin form. */
  readonly url: string;
  /** Path without the query. */
  readonly path: string;
  /**
   * The request head as it will be sent upstream, built on first access from the client's
   * head without hop-by-hop headers. Untouched, the forwarder takes a faster path.
   */
  readonly upstream: RequestHead;
  /** True once `upstream` was read or written. */
  readonly upstreamTouched: boolean;
  /** Status sent to the client, 0 until the head is written. */
  status: number;
  /**
   * Answers the client from the gateway (deny, redirect, return, error). Safe to call
   * once; header values are checked for CR/LF/NUL.
   */
  respond(status: number, body?: string | Buffer, headers?: OutgoingHttpHeaders): void;
  /**
   * Hands a produced response (a server's, a cache hit) to the core, which runs the
   * `respond` hook once, writes the head and returns where the body goes: write it there
   * with backpressure, then `endResponse()`. Null when the exchange failed instead (a
   * respond tap threw: the client got 500 `SWY_ERR_HOOK_FAILED`, never blamed on a
   * server); stop producing. Forwarders and caches never run `respond` themselves.
   * `headers` is a flat `[name, value, …]` list (hop-by-hop headers already dropped) or
   * an object with lower-case names.
   */
  sendHead(statusCode: number, statusMessage: string | undefined, headers: string[] | Record<string, string | string[]>): Writable | null;
  /** Ends the body begun by sendHead (optionally with a last chunk), with trailers (flat list) when the client connection carries them. */
  endResponse(trailers?: ReadonlyArray<string> | null, chunk?: Buffer): void;
  /** Ends the exchange with an error: the client gets its status (502/503/504…). */
  fail(error: SwitchyardError): void;
}

export interface TcpExchange extends ExchangeBase {
  readonly kind: 'tcp';
  readonly socket: Socket;
  /** Bytes already read from the client (content inspection), to send first. */
  readonly buffered: Buffer[];
  /** Ends the session with an error (closes the client socket). */
  fail(error: SwitchyardError): void;
}

export type Exchange = HttpExchange | TcpExchange;

/** Response head as the `respond` hook's taps transform it. */
export interface ResponseHead {
  statusCode: number;
  statusMessage: string | undefined;
  /** Header names lower-case. */
  headers: Record<string, string | string[]>;
  /** Streams the body is piped through in order (compression, cache store…). */
  transforms: Duplex[];
}
