import * as http2 from 'node:http2';
import type { Logger } from '@switchyard/sdk';
import { guardSession, http2ServerOptions, http2Tuning, type Http2Tuning } from './http2-limits';

export interface Http2ListenerOptions {
  /** Idle time after which a session without streams is closed. */
  idleTimeout: number;
  maxHeaderListSize?: number;
  /** Session limits (global.tune.h2); defaults for what is left out. */
  tuning?: Partial<Http2Tuning>;
  logger: Logger;
  frontend: string;
}

/** A non-listening HTTP/2 server fed TLS sockets that negotiated `h2`; the gateway answers its streams. */
export function createHttp2Server(o: Http2ListenerOptions): { server: http2.Http2Server; sessions: Set<http2.ServerHttp2Session> } {
  const sessions = new Set<http2.ServerHttp2Session>();
  const tuning = http2Tuning({ ...(o.maxHeaderListSize !== undefined ? { maxHeaderListSize: o.maxHeaderListSize } : {}), ...o.tuning });
  // No 'request' listener: node:http2's compatibility layer is never set up; the gateway
  // takes each stream ('stream') as an H2Exchange (./h2-exchange).
  const server = http2.createServer(http2ServerOptions(tuning));
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

