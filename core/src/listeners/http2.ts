import * as http2 from 'node:http2';
import type { Logger } from '@switchyard/sdk';
import { guardSession, http2ServerOptions, http2Tuning, type Http2Tuning } from './http2-limits';

const COOKIE = 'cookie';

/**
 * An HTTP/2 request shaped like an HTTP/1.1 one for the rest of the gateway: pseudo-headers
 * leave `rawHeaders` (they would be invalid header names upstream), `:authority` becomes
 * `host`, split cookie fields are joined (RFC 9113 §8.2.3), and a request with a body but
 * no content-length is marked `transfer-encoding: chunked` so forwarders stream it as an
 * HTTP/1.1 server expects. `headers` keeps the pseudo-headers for plugins that want them.
 */
export class Http2GatewayRequest extends http2.Http2ServerRequest {
  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, options: object, rawHeaders: string[]) {
    const raw: string[] = [];
    let cookies: string[] | null = null;
    let hasHost = false;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      if (name === COOKIE) {
        (cookies ??= []).push(rawHeaders[i + 1]!);
        continue;
      }
      if (name === 'host') hasHost = true;
      raw.push(name, rawHeaders[i + 1]!);
    }
    const authority = headers[':authority'];
    if (!hasHost && typeof authority === 'string') {
      raw.unshift('host', authority);
      headers.host = authority;
    }
    if (cookies !== null) raw.push(COOKIE, cookies.join('; '));
    if (!stream.endAfterHeaders && headers['content-length'] === undefined) {
      headers['transfer-encoding'] = 'chunked';
    }
    super(stream, headers, options as never, raw);
  }
}

/** Drops the reason phrase forwarders pass along: HTTP/2 has none (RFC 9113 §8.3.2). */
export class Http2GatewayResponse extends http2.Http2ServerResponse {

  override writeHead(statusCode: number, headers?: http2.OutgoingHttpHeaders | string[]): this;
  override writeHead(statusCode: number, statusMessage: string, headers?: http2.OutgoingHttpHeaders | string[]): this;
  override writeHead(statusCode: number, a?: string | http2.OutgoingHttpHeaders | string[], b?: http2.OutgoingHttpHeaders | string[]): this {
    if (typeof a === 'string') return super.writeHead(statusCode, b as http2.OutgoingHttpHeaders);
    return super.writeHead(statusCode, a as http2.OutgoingHttpHeaders);
  }
}

export interface Http2ListenerOptions {
  /** Idle time after which a session without streams is closed. */
  idleTimeout: number;
  maxHeaderListSize?: number;
  /** Session limits (global.tune.h2); defaults for what is left out. */
  tuning?: Partial<Http2Tuning>;
  logger: Logger;
  frontend: string;
}

/**
 * A non-listening HTTP/2 server fed TLS sockets that negotiated `h2`; its compatibility
 * API turns streams into request/response pairs the gateway treats like HTTP/1.1 ones.
 */
export function createHttp2Server(o: Http2ListenerOptions): { server: http2.Http2Server; sessions: Set<http2.ServerHttp2Session> } {
  const sessions = new Set<http2.ServerHttp2Session>();
  const tuning = http2Tuning({ ...(o.maxHeaderListSize !== undefined ? { maxHeaderListSize: o.maxHeaderListSize } : {}), ...o.tuning });
  const server = http2.createServer({
    ...http2ServerOptions(tuning),
    Http2ServerRequest: Http2GatewayRequest as unknown as typeof http2.Http2ServerRequest,
    Http2ServerResponse: Http2GatewayResponse as unknown as typeof http2.Http2ServerResponse,
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    guardSession(session, tuning, o.logger, o.frontend);
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.setTimeout(o.idleTimeout, () => session.close());
    session.on('error', (err) => o.logger.debug({ err, frontend: o.frontend }, 'HTTP/2 session error'));
  });
  server.on('sessionError', (err) => o.logger.debug({ err, frontend: o.frontend }, 'HTTP/2 session error'));
  return { server, sessions };
}

/**
 * As on an HTTP/1.1 ServerResponse, `destroyed` is true once the stream is gone (a client
 * RST_STREAM, the session closed): the compat response has no such property, and code that
 * checks it before answering (the forwarder's client-abort path) would otherwise write to a
 * closed stream, which throws.
 */
Object.defineProperty(Http2GatewayResponse.prototype, 'destroyed', {
  configurable: true,
  get(this: http2.Http2ServerResponse): boolean {
    const stream = this.stream as http2.ServerHttp2Stream | undefined;
    return stream === undefined || stream.destroyed || stream.closed;
  },
});
