import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import pino from 'pino';
import {
  Slots, SwitchyardError, type BackendState, type BalancePolicyClass, type BindConfig, type Connection, type Exchange,
  type FrontendState, type GatewayApi, type GatewayEvents, type Hooks, type Logger, type ServerChange, type ServerState,
  type SwitchyardConfig, type TlsInfo, type ReloadResult, type AdminState, type HealthState, type ConfigLocation,
  type ConfigPath, type ServiceContainer,
} from '@switchyard/sdk';
import type { LoadedConfig } from './config/load';
import { CoreErrors } from './errors';
import { HttpExchangeImpl, TcpExchangeImpl } from './exchange';
import { describeBind, listenOptions } from './inherited-fds';
import { createHooks, hookUse, type HookUse } from './hooks';
import { createHttp2Server } from './listeners/http2';
import { createTlsTerminator, tlsInfoOf } from './listeners/tls';
import { locator, runStep, stopPlugins } from './lifecycle';
import type { LoadedPlugin } from './loader';
import { BindKeys, stillOwns, takeOver, type ListeningServers } from './reload-handover';
import type { ServiceRegistry } from './services';
import type { SlotTable } from './slots';
import { BackendRuntime, FrontendRuntime, ServerRuntime } from './state';

const kConnection = Symbol('switchyard.connection');
type SocketWithConnection = net.Socket & { [kConnection]?: ConnectionImpl };

export const TOKENS = Object.freeze({
  GATEWAY: 'switchyard.gateway',
  CONFIG: 'switchyard.config',
  LOGGER: 'switchyard.logger',
});

let nextConnectionId = 1;

class ConnectionImpl implements Connection {
  readonly id = nextConnectionId++;
  readonly frontend: FrontendState;
  socket: net.Socket;
  remoteAddress: string;
  remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  tls: TlsInfo | null = null;
  readonly data = new Map<string | symbol, unknown>();
  readonly bind: BindConfig;

  constructor(frontend: FrontendState, socket: net.Socket, bind: BindConfig) {
    this.frontend = frontend;
    this.bind = bind;
    this.socket = socket;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = normalizeAddress(socket.localAddress ?? '');
    this.localPort = socket.localPort ?? 0;
  }
}

/** "::ffff:127.0.0.1" → "127.0.0.1", so ACLs and logs see the address people write. */
function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

interface Listener {
  frontend: FrontendRuntime;
  bind: BindConfig;
  /** Same for the same bind in the next generation's config (reload handover). */
  key: string;
  server: net.Server;
  onConnection: (socket: net.Socket) => void;
  http: http.Server | null;
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
}

export interface GatewayOptions {
  /** A pino logger (or compatible). Default: pino to stdout at the config's logLevel. */
  logger?: Logger;
  /** How `gateway.reload()` reaches what reloads (the master, or the single-process reloader). */
  reload?: () => Promise<ReloadResult>;
}

export interface ListenOptions {
  /** A previous generation's listening servers by bind key (reload): taken over, never closed. */
  inherit?: ListeningServers;
}

interface Waiter {
  exchange: Exchange;
  resolve: (server: ServerRuntime) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

/**
 * One running gateway: its own DI child container, hooks, state and listeners. Two gateways
 * in a process share nothing.
 */
export class Gateway implements GatewayApi {
  readonly hooks: Hooks = createHooks();
  readonly config: SwitchyardConfig;
  readonly services: ServiceRegistry;
  readonly container: ServiceContainer;
  readonly slots: SlotTable;
  readonly locate: (path: ConfigPath) => ConfigLocation;
  readonly logger: Logger;
  readonly events: GatewayEvents & EventEmitter = new EventEmitter() as GatewayEvents & EventEmitter;
  readonly frontends = new Map<string, FrontendRuntime>();
  readonly backends = new Map<string, BackendRuntime>();
  readonly plugins: ReadonlyArray<LoadedPlugin>;
  readonly configFile: string | undefined;
  readonly warnings: ReadonlyArray<string>;
  stopping = false;
  #use!: HookUse;
  #listeners: Listener[] = [];
  #sockets = new Set<net.Socket>();
  /** Responses not yet finished: told to close their connection when a stop begins. */
  #inflight = new Set<http.ServerResponse>();
  #stopFns: Array<() => void | Promise<void>> = [];
  readonly baseDir: string;
  #applied = false;
  #reload: (() => Promise<ReloadResult>) | undefined;

  private constructor(loaded: LoadedConfig, options: GatewayOptions) {
    this.config = loaded.config;
    this.services = loaded.services;
    this.container = loaded.services.legacy();
    this.locate = locator(loaded.file, loaded.lineOf);
    this.slots = loaded.slots;
    this.plugins = loaded.plugins;
    this.configFile = loaded.file;
    this.warnings = loaded.warnings;
    this.baseDir = loaded.baseDir;
    this.#reload = options.reload;
    this.logger = options.logger ?? (pino({ level: loaded.config.global.logLevel, base: { pid: process.pid } }) as unknown as Logger);
    this.events.setMaxListeners(0);
    this.container.register(TOKENS.GATEWAY, { useValue: this });
    this.container.register(TOKENS.CONFIG, { useValue: this.config });
    this.container.register(TOKENS.LOGGER, { useValue: this.logger });
    this.#buildState();
  }

  /**
   * Builds state and runs every plugin's provision and validate steps: everything but
   * starting (no sockets, no timers). What `switchyard validate` runs. Stop it when done.
   */
  static async provision(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const gw = new Gateway(loaded, options);
    try {
      await runStep(gw, 'provision');
      await runStep(gw, 'validate');
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    return gw;
  }

  /** provision(), then every plugin's apply step (taps hooks, starts background work), without listening. */
  static async prepare(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const gw = await Gateway.provision(loaded, options);
    try {
      await gw.#applyPlugins();
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    return gw;
  }

  /** prepare() then listen(). */
  static async start(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const gw = await Gateway.prepare(loaded, options);
    try {
      await gw.listen();
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    return gw;
  }

  #buildState(): void {
    const onChange = (change: ServerChange): void => this.#onServerChange(change);
    for (const [name, cfg] of Object.entries(this.config.backends)) {
      const be = new BackendRuntime(name, cfg, onChange);
      const Policy = this.slots.get<BalancePolicyClass>(Slots.BALANCE, cfg.balance);
      if (!Policy) throw CoreErrors.SLOT_UNKNOWN(`backend ${name}: no balance policy "${cfg.balance}"`);
      be.usePolicy(Policy);
      this.backends.set(name, be);
    }
    for (const [name, cfg] of Object.entries(this.config.frontends)) {
      const fe = new FrontendRuntime(name, cfg);
      if (cfg.defaultBackend) fe.defaultBackend = this.backends.get(cfg.defaultBackend) ?? null;
      this.frontends.set(name, fe);
    }
  }

  async #applyPlugins(): Promise<void> {
    await runStep(this, 'apply');
    // Services are resolved by now; a look-up from here on would be per request.
    this.services.seal();
    this.#use = hookUse(this.hooks);
    this.#applied = true;
  }

  /** Which plugins tap which hooks, by tap name (plugins tap with their own name). */
  taps(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [hook, h] of Object.entries(this.hooks) as Array<[string, { taps: Array<{ name: string }> }]>) {
      for (const t of h.taps) (out[t.name] ??= []).push(hook);
    }
    return out;
  }

  onStop(fn: () => void | Promise<void>): void {
    this.#stopFns.push(fn);
  }

  reload(): Promise<ReloadResult> {
    if (this.#reload) return this.#reload();
    return Promise.resolve({
      ok: false,
      message: 'this gateway was started without a reloader (switchyard run has one in every mode; embedders use startReloadable())',
      errors: [],
    });
  }

  /**
   * Applies saved server states by id (`backend/server`): what a reload or another worker
   * knew. Servers no longer in the config are ignored.
   */
  applyServerStates(states: Readonly<Record<string, { admin: AdminState; health: HealthState; weight: number }>>): void {
    for (const [id, st] of Object.entries(states)) {
      const slash = id.indexOf('/');
      const server = this.backends.get(id.slice(0, slash))?.server(id.slice(slash + 1));
      if (!server) continue;
      server.setAdmin(st.admin, 'state carried over');
      server.setHealth(st.health, 'state carried over');
      server.setWeight(st.weight, 'state carried over');
    }
  }

  // ---------------------------------------------------------------- listeners

  async listen(options: ListenOptions = {}): Promise<void> {
    if (!this.#applied) throw new Error('prepare() first');
    const keys = new BindKeys();
    const adopt: Array<{ l: Listener; server: net.Server }> = [];
    for (const fe of this.frontends.values()) {
      for (const bind of fe.config.bind) {
        const l = this.#createListener(fe, bind, keys.next(bind));
        this.#listeners.push(l);
        const inherited = options.inherit?.get(l.key);
        if (inherited?.listening) {
          adopt.push({ l, server: inherited });
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error): void => reject(CoreErrors.LISTEN.with({ cause: err }, fe.name, describeBind(bind), err.message));
          l.server.once('error', onError);
          l.server.listen(listenOptions(bind, fe.name), () => {
            l.server.off('error', onError);
            l.server.on('error', (err) => this.logger.error({ err, frontend: fe.name }, 'listener error'));
            resolve();
          });
        });
      }
    }
    // Every new bind listens: take the kept ones over from the previous generation at once.
    for (const { l, server } of adopt) {
      takeOver(server, l.onConnection, (err) => this.logger.error({ err, frontend: l.frontend.name }, 'listener error'), {
        allowHalfOpen: l.frontend.mode === 'tcp',
        noDelay: true,
      });
      l.server = server;
    }
    for (const l of this.#listeners) {
      const a = l.server.address() as net.AddressInfo;
      l.frontend.addresses.push({ host: a.address, port: a.port, tls: !!l.bind.tls });
    }
    this.events.emit('started');
  }

  /** The listening servers this generation still owns, by bind key (for the next generation). */
  listeningServers(): ListeningServers {
    const out = new Map<string, net.Server>();
    for (const l of this.#listeners) if (l.server.listening && stillOwns(l.server, l.onConnection)) out.set(l.key, l.server);
    return out;
  }

  #readTls(fe: FrontendRuntime, what: string, file: string): Buffer {
    const full = path.resolve(this.baseDir, file);
    try {
      return fs.readFileSync(full);
    } catch (err) {
      throw CoreErrors.TLS_FILE.with({ cause: err }, fe.name, what, full, (err as Error).message);
    }
  }

  #createListener(fe: FrontendRuntime, bind: BindConfig, key: string): Listener {
    const t = fe.config.timeouts;
    let httpServer: http.Server | null = null;
    if (fe.mode === 'http') {
      httpServer = http.createServer({
        requestTimeout: 0,
        headersTimeout: t.httpRequest,
        keepAliveTimeout: t.keepAlive,
        // headersTimeout is only checked every connectionsCheckingInterval (30 s by default).
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(t.httpRequest / 4))),
        requireHostHeader: true,
        joinDuplicateHeaders: false,
        noDelay: true,
      });
      httpServer.timeout = t.client;
      httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.#onRequest(req, res));
      httpServer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.#onUpgrade(req, socket, head));
      httpServer.on('clientError', (err: Error & { code?: string }, socket: net.Socket) => this.#onClientError(fe, err, socket));
      // This server never listens (it is fed sockets by emit('connection')), but node:http
      // starts its connection tracking — headersTimeout checks, closeIdleConnections — on
      // 'listening'. Start it by hand.
      httpServer.emit('listening');
    }
    const listener: Listener = {
      frontend: fe,
      bind,
      key,
      server: net.createServer({ noDelay: true, allowHalfOpen: fe.mode === 'tcp' }),
      onConnection: (socket: net.Socket) => this.#onSocket(listener, socket),
      http: httpServer,
      h2: null,
      h2Sessions: new Set(),
      tls: null,
      handshaking: new Map(),
      pending: [],
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
        lookup: this.#use.tls ? (servername) => this.hooks.tls.promise({ frontend: fe, servername, bind }) : null,
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
        (tlsSocket as SocketWithConnection)[kConnection] = conn;
        tlsSocket.on('error', (err: Error & { code?: string }) => {
          if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') this.logger.debug({ err, frontend: fe.name }, 'TLS socket error');
        });
        this.#dispatch(listener, conn, tlsSocket);
      });
      terminator.server.on('tlsClientError', (err: Error, tlsSocket: tls.TLSSocket) => {
        this.logger.debug({ err: { message: err.message, code: (err as Error & { code?: string }).code }, frontend: fe.name }, 'TLS handshake failed');
        const key = `${tlsSocket.remoteAddress}:${tlsSocket.remotePort}`;
        const conn = listener.handshaking.get(key);
        listener.handshaking.delete(key);
        tlsSocket.destroy();
        conn?.socket.destroy();
      });
      if (fe.mode === 'http' && alpn.includes('h2')) {
        const h2 = createHttp2Server({ idleTimeout: t.client, logger: this.logger, frontend: fe.name });
        listener.h2 = h2.server;
        listener.h2Sessions = h2.sessions;
        h2.server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) =>
          this.#onRequest(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse),
        );
        // Stop: GOAWAY to every session; open streams finish within the grace period.
        this.events.once('stopping', () => {
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
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') this.logger.debug({ err, frontend: fe.name }, 'client socket error');
    });
    if (this.stopping) {
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
    this.#sockets.add(socket);
    socket.once('close', () => {
      fe.connections--;
      this.#sockets.delete(socket);
      const next = l.pending.shift();
      if (next && !next.destroyed) {
        next.resume();
        this.#admit(l, next);
      }
    });
    const conn = new ConnectionImpl(fe, socket, l.bind);
    (socket as SocketWithConnection)[kConnection] = conn;
    if (this.#use.accept) {
      this.hooks.accept.promise(conn).then(
        (verdict) => {
          if (verdict === false) socket.destroy();
          else if (!socket.destroyed) this.#afterAccept(l, conn);
        },
        (err: unknown) => {
          this.logger.error({ err, frontend: fe.name }, 'accept tap failed; connection closed');
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
    // tickets, handshake timeout) and answers with 'secureConnection' (see #createListener).
    l.tls!.emit('connection', raw);
  }

  #dispatch(l: Listener, conn: ConnectionImpl, socket: net.Socket): void {
    if (l.http) {
      if (l.h2 !== null && conn.tls?.alpn === 'h2') l.h2.emit('connection', socket);
      else l.http.emit('connection', socket);
      return;
    }
    const ex = new TcpExchangeImpl(this.#report, conn);
    socket.setTimeout(l.frontend.config.timeouts.client, () => {
      if (ex.server === null) socket.destroy();
    });
    socket.once('close', () => this.#endExchange(ex));
    void this.#process(ex);
  }

  #onClientError(fe: FrontendRuntime, err: Error & { code?: string }, socket: net.Socket): void {
    this.logger.debug({ err: { message: err.message, code: err.code }, frontend: fe.name }, 'bad client request');
    if (!socket.writable || (socket as net.Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    socket.destroySoon();
  }

  // ---------------------------------------------------------------- exchanges

  #connectionOf(socket: net.Socket): ConnectionImpl {
    return (socket as SocketWithConnection)[kConnection]!;
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const ex = new HttpExchangeImpl(this.#report, this.#connectionOf(req.socket), req, res, null);
    if (this.stopping) res.shouldKeepAlive = false;
    else this.#inflight.add(res);
    res.once('close', () => {
      this.#inflight.delete(res);
      this.#endExchange(ex);
    });
    void this.#process(ex);
  }

  #onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const ex = new HttpExchangeImpl(this.#report, this.#connectionOf(socket), req, null, head);
    socket.once('close', () => this.#endExchange(ex));
    void this.#process(ex);
  }

  async #process(ex: HttpExchangeImpl | TcpExchangeImpl): Promise<void> {
    try {
      let backend: BackendRuntime | null = null;
      if (this.#use.route) {
        const decision = await this.hooks.route.promise(ex);
        if (ex.ended) return;
        if (decision !== undefined) {
          if ('handled' in decision) return;
          backend = this.backends.get(decision.backend) ?? null;
          if (!backend) throw CoreErrors.UNKNOWN_BACKEND(decision.backend);
        }
      }
      backend ??= (ex.backend as BackendRuntime | null) ?? (ex.frontend as FrontendRuntime).defaultBackend;
      if (!backend) throw CoreErrors.NO_BACKEND(ex.frontend.name);
      ex.backend = backend;
      if (!this.#use.forward) throw CoreErrors.NO_FORWARDER(ex.kind, ex.kind);
      if (ex.server === null) {
        const got = this.#acquire(ex, backend);
        if (got instanceof Promise) await got;
        if (ex.ended) return;
      }
      const taken = await this.hooks.forward.promise(ex);
      if (taken !== true && !ex.ended) throw CoreErrors.NO_FORWARDER(ex.kind, ex.kind);
    } catch (err) {
      this.#failExchange(ex, err);
    }
  }

  #failExchange(ex: HttpExchangeImpl | TcpExchangeImpl, err: unknown): void {
    const coded = err instanceof SwitchyardError ? err : CoreErrors.HOOK_FAILED.with({ cause: err }, 'plugin', err instanceof Error ? err.message : String(err));
    try {
      ex.fail(coded);
    } catch (failErr) {
      this.logger.error({ err: failErr }, 'could not answer a failed exchange');
      (ex.kind === 'http' && ex.res ? ex.res : ex.socket).destroy();
    }
  }

  /** Logs a failed exchange with frontend, backend and server (bound once, shared by exchanges). */
  readonly #report = (ex: HttpExchangeImpl | TcpExchangeImpl, coded: SwitchyardError): void => {
    const clientGone = coded.code === 'SWY_ERR_FORWARD_CLIENT_ABORT';
    this.logger[clientGone ? 'debug' : 'warn'](
      {
        frontend: ex.frontend.name,
        backend: ex.backend?.name ?? null,
        server: ex.server?.name ?? null,
        code: coded.code,
        status: coded.status,
        err: coded.cause ?? coded,
        exchange: ex.id,
      },
      `${ex.frontend.name} -> ${ex.backend?.name ?? '-'}/${ex.server?.name ?? '-'}: ${coded.message}`,
    );
  };

  #endExchange(ex: HttpExchangeImpl | TcpExchangeImpl): void {
    if (ex.ended) return;
    ex.ended = true;
    if (ex.kind === 'http' && ex.res) {
      if (ex.status === 0) ex.status = ex.res.headersSent ? ex.res.statusCode : 0;
      if (!ex.res.writableFinished && ex.termination === 'ok') ex.termination = 'client-abort';
    } else if (ex.kind === 'tcp') {
      // The session's bytes, final now that the client socket closed.
      ex.bytesIn = Math.max(ex.bytesIn, ex.socket.bytesRead);
      ex.bytesOut = Math.max(ex.bytesOut, ex.socket.bytesWritten);
    }
    const server = ex.server as ServerRuntime | null;
    if (server) {
      if (ex.error) server.counters.errors++;
      server.counters.bytesIn += ex.bytesIn;
      server.counters.bytesOut += ex.bytesOut;
      if (ex.kind === 'http' && ex.status > 0) {
        const cls = Math.floor(ex.status / 100);
        server.counters.responses[cls >= 1 && cls <= 5 ? cls : 0]++;
      }
    }
    if (ex.slotHeld) this.releaseServer(ex);
    else if (ex.server === null && ex.backend !== null) this.#leaveQueue(ex, ex.backend as BackendRuntime);
    if (this.#use.log) {
      try {
        this.hooks.log.call(ex);
      } catch (err) {
        this.logger.error({ err }, 'a log tap failed');
      }
    }
  }

  // ---------------------------------------------------------------- servers

  selectServer(ex: Exchange): ServerState | undefined {
    return this.#select(ex, ex.backend as BackendRuntime);
  }

  #select(ex: Exchange, be: BackendRuntime): ServerRuntime | undefined {
    if (this.#use.selectServer) {
      const s = this.hooks.selectServer.call(ex) as ServerRuntime | undefined;
      // A pinned (sticky) client may still reach a server in drain or at weight 0, as in
      // HAProxy; never one that is down, in maintenance or at maxconn.
      if (s !== undefined && s.health === 'up' && s.admin !== 'maint' && (s.maxconn === 0 || s.active < s.maxconn)) return s;
    }
    const s = be.primaryPolicy.select(ex) as ServerRuntime | undefined;
    if (s !== undefined || be.backupPolicy === null || be.hasAvailablePrimary()) return s;
    if (be.config.allBackups) return be.backupPolicy.select(ex) as ServerRuntime | undefined;
    for (const b of be.backups) if (b.available) return b.usable ? b : undefined;
    return undefined;
  }

  #take(ex: Exchange, s: ServerRuntime): void {
    s.active++;
    s.counters.sessions++;
    ex.server = s;
    (ex as HttpExchangeImpl).slotHeld = true;
  }

  #acquire(ex: Exchange, be: BackendRuntime): ServerRuntime | Promise<ServerRuntime> {
    const s = be.queued === 0 ? this.#select(ex, be) : undefined;
    if (s !== undefined) {
      this.#take(ex, s);
      return s;
    }
    if (!be.hasAvailable()) throw CoreErrors.NO_SERVER(be.name);
    if (be.config.maxqueue > 0 && be.queued >= be.config.maxqueue) throw CoreErrors.QUEUE_FULL(be.name, be.config.maxqueue);
    return new Promise<ServerRuntime>((resolve, reject) => {
      const w: Waiter = { exchange: ex, resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        const i = be.waiting.indexOf(w, be.waitingHead);
        if (i !== -1) be.waiting.splice(i, 1);
        reject(CoreErrors.QUEUE_TIMEOUT(be.name));
      }, be.config.timeouts.queue);
      be.waiting.push(w);
      this.#drainQueue(be);
    });
  }

  acquireServer(ex: Exchange): Promise<ServerState> {
    const be = ex.backend as BackendRuntime | null;
    if (!be) return Promise.reject(CoreErrors.NO_BACKEND(ex.frontend.name));
    try {
      return Promise.resolve(this.#acquire(ex, be));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  releaseServer(ex: Exchange): void {
    const s = ex.server as ServerRuntime | null;
    const held = ex as HttpExchangeImpl;
    if (!s || !held.slotHeld) return;
    held.slotHeld = false;
    s.active--;
    const be = this.backends.get(s.backend);
    if (be && be.queued > 0) this.#drainQueue(be);
  }

  /** A client that goes away while queued gives its place up at once. */
  #leaveQueue(ex: Exchange, be: BackendRuntime): void {
    for (let i = be.waitingHead; i < be.waiting.length; i++) {
      const w = be.waiting[i] as Waiter;
      if (w.exchange !== ex) continue;
      clearTimeout(w.timer!);
      be.waiting.splice(i, 1);
      return;
    }
  }

  #drainQueue(be: BackendRuntime): void {
    while (be.queued > 0) {
      const w = be.waiting[be.waitingHead] as Waiter;
      if ((w.exchange as HttpExchangeImpl).ended) {
        clearTimeout(w.timer!);
        be.waitingHead++;
        continue;
      }
      const s = this.#select(w.exchange, be);
      if (s === undefined) break;
      clearTimeout(w.timer!);
      be.waitingHead++;
      this.#take(w.exchange, s);
      w.resolve(s);
    }
    if (be.waitingHead > 64 && be.waitingHead * 2 > be.waiting.length) {
      be.waiting.splice(0, be.waitingHead);
      be.waitingHead = 0;
    }
  }

  #onServerChange(change: ServerChange): void {
    const be = this.backends.get(change.server.backend);
    this.logger.info(
      { backend: change.server.backend, server: change.server.name, what: change.what, from: change.from, to: change.to, reason: change.reason },
      `server ${change.server.id} ${change.what} ${change.from} -> ${change.to}${change.reason ? ` (${change.reason})` : ''}`,
    );
    try {
      this.events.emit('server-change', change);
    } catch (err) {
      // A listener's bug must not stop the queue handling below, nor the caller (a health check).
      this.logger.error({ err }, 'a server-change listener failed');
    }
    if (be && be.queued > 0) {
      if (!be.hasAvailable()) {
        while (be.queued > 0) {
          const w = be.waiting[be.waitingHead++] as Waiter;
          clearTimeout(w.timer!);
          w.reject(CoreErrors.NO_SERVER(be.name));
        }
      } else {
        this.#drainQueue(be);
      }
    }
  }

  // ---------------------------------------------------------------- stop

  /** Listening addresses of a frontend (after listen()). */
  address(frontend: string, index = 0): { host: string; port: number } {
    const a = this.frontends.get(frontend)?.addresses[index];
    if (!a) throw new Error(`frontend ${frontend} has no address ${index}`);
    return a;
  }

  /**
   * Graceful stop: stop accepting, let in-flight exchanges finish for up to `graceMs`
   * (default global.gracePeriod), close idle keep-alive connections, then cut the rest.
   */
  async stop(graceMs: number = this.config.global.gracePeriod): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.events.emit('stopping');
    // Stop accepting now. (close()'s callback waits for every connection to end, which is
    // what the loop below brings about: don't wait for it here.)
    for (const l of this.#listeners) {
      for (const s of l.pending) s.destroy();
      // A server the next generation took over (reload) stays open: its port never closes.
      if (l.server.listening && stillOwns(l.server, l.onConnection)) l.server.close();
    }
    // Responses in flight close their connection when done ("Connection: close"), so
    // keep-alive clients reconnect elsewhere instead of racing an idle-close.
    for (const res of this.#inflight) if (!res.headersSent) res.shouldKeepAlive = false;
    this.#inflight.clear();
    const started = Date.now();
    const deadline = started + graceMs;
    // Idle keep-alive connections are closed only after the keep-alive timeout: a client
    // about to reuse one would otherwise see it reset. Requests that arrive meanwhile
    // are answered with "Connection: close".
    let idleAfter = 0;
    for (const l of this.#listeners) idleAfter = Math.max(idleAfter, l.frontend.config.timeouts.keepAlive);
    idleAfter = Math.min(idleAfter, graceMs / 2);
    while (this.#sockets.size > 0 && Date.now() < deadline) {
      if (Date.now() - started >= idleAfter) for (const l of this.#listeners) l.http?.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of this.#sockets) s.destroy();
    for (const l of this.#listeners) l.http?.close();
    for (const be of this.backends.values()) {
      while (be.queued > 0) {
        const w = be.waiting[be.waitingHead++] as Waiter;
        clearTimeout(w.timer!);
        w.reject(CoreErrors.NO_SERVER(be.name));
      }
    }
    for (const fn of this.#stopFns.reverse()) {
      try {
        await fn();
      } catch (err) {
        this.logger.error({ err }, 'a plugin stop step failed');
      }
    }
    await stopPlugins(this, this.logger);
  }
}

export type { BackendState };
