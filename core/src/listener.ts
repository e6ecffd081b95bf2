import type { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type * as http2 from 'node:http2';
import * as net from 'node:net';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import type { BindConfig, Hooks, Logger } from '@switchyard/sdk';
import { attach, connectionOf, ConnectionImpl } from './connection';
import { CoreErrors } from './errors';
import { describeBind, listenOptions } from './inherited-fds';
import type { HookUse } from './hooks';
import { createHttp2Server } from './listeners/http2';
import { H1Connection, type H1Timeouts } from './listeners/http1';
import { createTlsTerminator, tlsInfoOf } from './listeners/tls';
import type { Pipeline } from './pipeline';
import { BindKeys, stillOwns, takeOver, type ListeningServers } from './reload-handover';
import type { FrontendRuntime } from './state';

/** One bind of one frontend: the listening socket and the protocol servers it feeds. */
export interface Listener {
  frontend: FrontendRuntime;
  bind: BindConfig;
  /** Same for the same bind in the next generation's config (reload handover). */
  key: string;
  server: net.Server;
  /** HTTP mode: the HTTP/1.1 front end's timeouts (connections run on the core's own llhttp front end). */
  h1: H1Timeouts | null;
  /** HTTP/2 server for TLS connections that negotiated `h2` (HTTP mode, TLS binds). */
  h2: http2.Http2Server | null;
  h2Sessions: Set<http2.ServerHttp2Session>;
  /** The handshake owner on a TLS bind. */
  tls: tls.Server | null;
  /**
   * Connections in a TLS handshake, by the raw socket's remote address:port: 'secureConnection'
   * hands over the TLSSocket only, and the peer address (unique per live connection on one
   * listener) pairs it with its Connection through public API alone.
   */
  handshaking: Map<string, ConnectionImpl>;
  /** Sockets accepted above maxconn, waiting unread. */
  pending: net.Socket[];
  /** The 'connection' handler on `server` (replaced when the next generation takes the socket over). */
  onConnection: (socket: net.Socket) => void;
}

/** What the listeners need from their gateway. */
export interface ListenerHost {
  readonly hooks: Hooks;
  readonly logger: Logger;
  readonly events: EventEmitter;
  readonly stopping: boolean;
  readonly baseDir: string;
  /** global.tune.h2: the HTTP/2 session limits. */
  readonly config: { readonly global: object };
}

/** Every listener of one gateway, and every client socket they accepted. */
export class Listeners {
  readonly #host: ListenerHost;
  readonly #pipeline: Pipeline;
  #use!: HookUse;
  readonly all: Listener[] = [];
  readonly sockets = new Set<net.Socket>();
  /** HTTP/1.x connections, for the timeout sweep and the graceful stop. */
  readonly h1 = new Set<H1Connection>();
  #sweep: NodeJS.Timeout | null = null;

  constructor(host: ListenerHost, pipeline: Pipeline) {
    this.#host = host;
    this.#pipeline = pipeline;
  }

  compile(use: HookUse): void {
    this.#use = use;
  }

  /**
   * Listens on every bind of every frontend. A bind whose key is in `inherited` (the
   * previous generation's listening servers, reload) is taken over once every new bind
   * listens, in one synchronous step, so its port is never closed.
   */
  async listen(frontends: Iterable<FrontendRuntime>, inherited?: ListeningServers): Promise<void> {
    const keys = new BindKeys();
    const adopt: Array<{ l: Listener; server: net.Server }> = [];
    const logger = this.#host.logger;
    for (const fe of frontends) {
      for (const bind of fe.config.bind) {
        const l = this.#create(fe, bind, keys.next(bind));
        this.all.push(l);
        const kept = inherited?.get(l.key);
        if (kept?.listening) {
          adopt.push({ l, server: kept });
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error): void => reject(CoreErrors.LISTEN.with({ cause: err }, fe.name, describeBind(bind), err.message));
          l.server.once('error', onError);
          l.server.listen(listenOptions(bind, fe.name), () => {
            l.server.off('error', onError);
            l.server.on('error', (err) => logger.error({ err, frontend: fe.name }, 'listener error'));
            resolve();
          });
        });
      }
    }
    for (const { l, server } of adopt) {
      takeOver(server, l.onConnection, (err) => logger.error({ err, frontend: l.frontend.name }, 'listener error'), {
        allowHalfOpen: l.frontend.mode === 'tcp',
        noDelay: true,
      });
      l.server = server;
    }
    for (const l of this.all) {
      const a = l.server.address() as net.AddressInfo;
      l.frontend.addresses.push({ host: a.address, port: a.port, tls: !!l.bind.tls });
    }
    this.#startSweep();
  }

  /**
   * One timer for every HTTP/1.x connection's head (408) and keep-alive deadlines, not one per
   * request: ticks at a quarter of the shortest http-request timeout (50 ms to 1 s).
   */
  #startSweep(): void {
    let shortest = Infinity;
    for (const l of this.all) if (l.h1 !== null) shortest = Math.min(shortest, l.h1.httpRequest > 0 ? l.h1.httpRequest : l.h1.keepAlive);
    if (shortest === Infinity || this.#sweep !== null) return;
    const every = Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const c of this.h1) c.sweep(now);
    }, every);
    this.#sweep.unref();
  }

  /** The listening servers this generation still owns, by bind key (for the next generation). */
  listeningServers(): ListeningServers {
    const out = new Map<string, net.Server>();
    for (const l of this.all) if (l.server.listening && stillOwns(l.server, l.onConnection)) out.set(l.key, l.server);
    return out;
  }

  #readTls(fe: FrontendRuntime, what: string, file: string): Buffer {
    const full = path.resolve(this.#host.baseDir, file);
    try {
      return fs.readFileSync(full);
    } catch (err) {
      throw CoreErrors.TLS_FILE.with({ cause: err }, fe.name, what, full, (err as Error).message);
    }
  }

  #create(fe: FrontendRuntime, bind: BindConfig, key: string): Listener {
    const t = fe.config.timeouts;
    const logger = this.#host.logger;
    const h1: H1Timeouts | null = fe.mode === 'http' ? { httpRequest: t.httpRequest, keepAlive: t.keepAlive, client: t.client } : null;
    const listener: Listener = {
      frontend: fe,
      bind,
      key,
      server: net.createServer({ noDelay: true, allowHalfOpen: fe.mode === 'tcp' }),
      h1,
      h2: null,
      h2Sessions: new Set(),
      tls: null,
      handshaking: new Map(),
      pending: [],
      onConnection: (socket: net.Socket) => this.#onSocket(listener, socket),
    };
    if (bind.tls) {
      const alpn = bind.tls.alpn ?? (fe.mode === 'http' ? ['h2', 'http/1.1'] : []);
      const terminator = createTlsTerminator({
        bind: bind.tls,
        cert: this.#readTls(fe, 'cert', bind.tls.cert),
        key: this.#readTls(fe, 'key', bind.tls.key),
        ca: bind.tls.ca ? this.#readTls(fe, 'ca', bind.tls.ca) : null,
        alpn,
        handshakeTimeout: t.httpRequest,
        lookup: this.#use.tls ? (servername) => this.#host.hooks.tls.promise({ frontend: fe, servername, bind }) : null,
      });
      listener.tls = terminator.server;
      const askedForCert = (bind.tls.verify ?? 'none') !== 'none';
      terminator.server.on('secureConnection', (tlsSocket: tls.TLSSocket) => {
        const key = `${tlsSocket.remoteAddress}:${tlsSocket.remotePort}`;
        const conn = listener.handshaking.get(key);
        if (!conn) return void tlsSocket.destroy();
        listener.handshaking.delete(key);
        conn.tls = tlsInfoOf(tlsSocket, askedForCert);
        conn.socket = tlsSocket;
        attach(tlsSocket, conn);
        tlsSocket.on('error', (err: Error & { code?: string }) => {
          if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') logger.debug({ err, frontend: fe.name }, 'TLS socket error');
        });
        this.#dispatch(listener, conn, tlsSocket);
      });
      terminator.server.on('tlsClientError', (err: Error, tlsSocket: tls.TLSSocket) => {
        logger.debug({ err: { message: err.message, code: (err as Error & { code?: string }).code }, frontend: fe.name }, 'TLS handshake failed');
        const key = `${tlsSocket.remoteAddress}:${tlsSocket.remotePort}`;
        const conn = listener.handshaking.get(key);
        listener.handshaking.delete(key);
        tlsSocket.destroy();
        conn?.socket.destroy();
      });
      if (fe.mode === 'http' && alpn.includes('h2')) {
        const tuning = (this.#host.config.global as { tune?: { h2?: object } }).tune?.h2;
        const h2 = createHttp2Server({ idleTimeout: t.client, tuning, logger, frontend: fe.name });
        listener.h2 = h2.server;
        listener.h2Sessions = h2.sessions;
        h2.server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
          this.#pipeline.onH2Stream(connectionOf(stream.session!.socket as unknown as net.Socket), stream, headers, rawHeaders),
        );
        // Stop: GOAWAY to every session; open streams finish within the grace period.
        this.#host.events.once('stopping', () => {
          for (const s of listener.h2Sessions) s.close();
        });
      }
    }
    listener.server.on('connection', listener.onConnection);
    return listener;
  }

  #onSocket(l: Listener, socket: net.Socket): void {
    const fe = l.frontend;
    socket.on('error', (err: Error & { code?: string }) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') this.#host.logger.debug({ err, frontend: fe.name }, 'client socket error');
    });
    if (this.#host.stopping) {
      socket.destroy();
      return;
    }
    const maxconn = fe.config.maxconn;
    if (maxconn > 0 && fe.connections >= maxconn) {
      // Above maxconn the connection waits unread, as it would in the kernel backlog.
      socket.pause();
      l.pending.push(socket);
      socket.once('close', () => {
        const i = l.pending.indexOf(socket);
        if (i !== -1) l.pending.splice(i, 1);
      });
      return;
    }
    this.#admit(l, socket);
  }

  #admit(l: Listener, socket: net.Socket): void {
    const fe = l.frontend;
    fe.connections++;
    this.sockets.add(socket);
    socket.once('close', () => {
      fe.connections--;
      this.sockets.delete(socket);
      const next = l.pending.shift();
      if (next && !next.destroyed) {
        next.resume();
        this.#admit(l, next);
      }
    });
    const conn = new ConnectionImpl(fe, socket, l.bind);
    // Addresses are read on first use; a `log` tap reads them after the socket closed, when
    // Node can no longer tell them: with log taps they are read now.
    if (this.#use.log) conn.readAddresses();
    if (this.#use.accept) {
      this.#host.hooks.accept.promise(conn).then(
        (verdict) => {
          if (verdict === false) socket.destroy();
          else if (!socket.destroyed) this.#afterAccept(l, conn);
        },
        (err: unknown) => {
          this.#host.logger.error({ err, frontend: fe.name }, 'accept tap failed; connection closed');
          socket.destroy();
        },
      );
    } else {
      this.#afterAccept(l, conn);
    }
  }

  #afterAccept(l: Listener, conn: ConnectionImpl): void {
    if (l.tls) this.#startTls(l, conn);
    else this.#dispatch(l, conn, conn.socket);
  }

  #startTls(l: Listener, conn: ConnectionImpl): void {
    const raw = conn.socket;
    const key = `${raw.remoteAddress}:${raw.remotePort}`;
    l.handshaking.set(key, conn);
    raw.once('close', () => {
      if (l.handshaking.get(key) === conn) l.handshaking.delete(key);
    });
    // The tls.Server owns the handshake (SNI via the tls hook, ALPN, client certificates,
    // tickets, handshake timeout) and answers with 'secureConnection' (see #create).
    l.tls!.emit('connection', raw);
  }

  #dispatch(l: Listener, conn: ConnectionImpl, socket: net.Socket): void {
    if (l.h1 !== null) {
      if (l.h2 !== null && conn.tls?.alpn === 'h2') {
        l.h2.emit('connection', socket);
        return;
      }
      const c = new H1Connection(socket, conn, this.#pipeline, l.h1);
      this.h1.add(c);
      socket.once('close', () => this.h1.delete(c));
      return;
    }
    this.#pipeline.onTcpSession(conn, socket, l.frontend.config.timeouts.client);
  }

  // ---------------------------------------------------------------- stop

  /** Stop accepting: waiting sockets are dropped, listening sockets closed (unless handed over). */
  stopAccepting(): void {
    for (const l of this.all) {
      for (const s of l.pending) s.destroy();
      // A server the next generation took over (reload) stays open: its port never closes.
      if (l.server.listening && stillOwns(l.server, l.onConnection)) l.server.close();
    }
  }

  /** Idle keep-alive connections are closed (HTTP/1.1). */
  closeIdle(): void {
    for (const c of this.h1) if (c.idle) c.socket.destroy();
  }

  /** The longest keep-alive timeout of any frontend. */
  maxKeepAlive(): number {
    let out = 0;
    for (const l of this.all) out = Math.max(out, l.frontend.config.timeouts.keepAlive);
    return out;
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
  }
}
