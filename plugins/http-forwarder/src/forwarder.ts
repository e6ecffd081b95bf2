import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { Dispatcher, Pool as UndiciPool } from 'undici';
import type { GatewayApi, HttpExchange, Logger, ServerState, SwitchyardError } from '@switchyard/sdk';
import type { HttpForwarderOptions } from './schema';
import * as path from 'node:path';
import { isSwitchyardError } from '@switchyard/sdk';
import { forwardError } from './errors';
import { getHttpForwarderHooks, type AttemptFailureCause, type ForwardAttemptFailure, type HttpForwarderHooks, type ReplayPlan } from './hooks';
import { UPSTREAM_DISPATCHER, upstreamTlsConnect, upstreamTlsOptions } from './upstream-tls';
import { UpstreamPool, type UpstreamHandler, type UpstreamRequest } from './pool';
import { latin1, requestHeaderList, requestHeaderObjectToList, responseHeaderList } from './headers';

export type { HttpForwarderOptions };

/**
 * Sends each HTTP exchange to its chosen server over a per-server pool of keep-alive
 * HTTP/1.1 connections on `net`/`tls` sockets, responses parsed by Node's llhttp binding
 * (strict), streaming the bodies both ways with backpressure, raw header arrays only.
 * Servers whose TLS offers h2 (ALPN) and per-client-connection dispatchers (send-proxy) go
 * through undici instead, with the same response handlers.
 */
function isAnyAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function closeUpstream(pool: Upstream): void {
  if (pool instanceof UpstreamPool) void pool.close();
  else pool.close().catch(() => pool.destroy());
}

export class HttpForwarder {
  readonly #gateway: GatewayApi;
  readonly #options: HttpForwarderOptions;
  readonly #pools = new Map<ServerState, Upstream>();
  readonly #destinationPools = new Map<ServerState, Map<string, Upstream>>();
  readonly #logger: Logger;
  readonly #baseDir: string;
  readonly #attemptsUsed: () => boolean;
  readonly #attemptBackends: ReadonlySet<string>;

  /** This gateway's forwarder hooks (retries tap them). */
  static getHooks(gateway: GatewayApi): HttpForwarderHooks {
    return getHttpForwarderHooks(gateway);
  }

  constructor(gateway: GatewayApi, options: HttpForwarderOptions, logger: Logger) {
    this.#gateway = gateway;
    this.#options = options;
    this.#logger = logger;
    this.#baseDir = gateway.baseDir;
    const fh = getHttpForwarderHooks(gateway);
    let attempts: boolean | undefined;
    this.#attemptsUsed = () => (attempts ??= fh.prepare.isUsed() || fh.attemptFailed.isUsed());
    this.#attemptBackends = fh.attemptBackends;
    // TLS contexts to servers are built now, once: a CA or key file that cannot be read is a
    // load error (plugin apply), not a 500 on the first request.
    for (const be of gateway.backends.values()) for (const server of be.servers) if (server.config.tls) this.poolFor(server);
  }

  poolFor(server: ServerState): Upstream {
    let pool = this.#pools.get(server);
    if (pool === undefined) {
      const t = this.#gateway.backends.get(server.backend)!.config.timeouts;
      const alpn = server.config.tls?.alpn;
      if (!alpn?.includes('h2')) {
        pool = new UpstreamPool({
          host: server.host,
          port: server.port,
          tls: server.config.tls ? upstreamTlsConnect(server, this.#baseDir) : null,
          connectTimeout: t.connect,
          timeout: t.server,
          keepAliveTimeout: this.#options.keepAliveTimeout,
          maxConnections: this.#options.connectionsPerServer,
        });
        this.#pools.set(server, pool);
        return pool;
      }
      const hostPart = server.host.includes(':') ? `[${server.host}]` : server.host;
      const secure = upstreamTlsOptions(server, this.#baseDir);
      // undici only for h2 servers: required here, so a config without one never loads it (idle RSS).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Pool } = require('undici') as { Pool: typeof UndiciPool };
      pool = new Pool(secure?.origin ?? `http://${hostPart}:${server.port}`, {
        ...(secure ? { connect: secure.connect, allowH2: secure.allowH2 } : {}),
        connections: this.#options.connectionsPerServer > 0 ? this.#options.connectionsPerServer : null,
        pipelining: 1,
        keepAliveTimeout: this.#options.keepAliveTimeout,
        keepAliveMaxTimeout: Math.max(this.#options.keepAliveTimeout, 600_000),
        headersTimeout: t.server,
        bodyTimeout: t.server,
        connectTimeout: t.connect,
        strictContentLength: true,
      });
      this.#pools.set(server, pool);
    }
    return pool;
  }

  /** A server removed at run time: close its pool once its requests in flight are done. */
  dropPool(server: ServerState): void {
    for (const p of this.#destinationPools.get(server)?.values() ?? []) closeUpstream(p);
    this.#destinationPools.delete(server);
    const pool = this.#pools.get(server);
    if (pool === undefined) return;
    this.#pools.delete(server);
    if (pool instanceof UpstreamPool) pool.close();
    else pool.close().catch(() => pool.destroy());
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values(), ...[...this.#destinationPools.values()].flatMap((m) => [...m.values()])];
    this.#pools.clear();
    this.#destinationPools.clear();
    await Promise.all(pools.map((p) => (p instanceof UpstreamPool ? p.close() : p.close().catch(() => p.destroy()))));
  }

  /** The upstream for this exchange's server: a per-client-connection dispatcher (send-proxy), else the server's pool. */
  #upstreamOf(ex: HttpExchange): Upstream {
    const server = ex.server!;
    const perConnection = ex.connection.data.get(UPSTREAM_DISPATCHER) as ((s: ServerState) => Dispatcher | undefined) | undefined;
    return (perConnection !== undefined ? perConnection(server) : undefined) ?? (isAnyAddress(server.host) ? this.#destinationPool(server, ex.connection.localAddress) : this.poolFor(server));
  }

  /** A server on 0.0.0.0 / :: (HAProxy: "the client's destination address"): one pool per local address. */
  #destinationPool(server: ServerState, local: string): Upstream {
    let byAddress = this.#destinationPools.get(server);
    if (byAddress === undefined) this.#destinationPools.set(server, (byAddress = new Map()));
    let pool = byAddress.get(local);
    if (pool === undefined) {
      const t = this.#gateway.backends.get(server.backend)!.config.timeouts;
      pool = new UpstreamPool({
        host: local,
        port: server.port,
        tls: server.config.tls ? upstreamTlsConnect(server, this.#baseDir) : null,
        connectTimeout: t.connect,
        timeout: t.server,
        keepAliveTimeout: this.#options.keepAliveTimeout,
        maxConnections: this.#options.connectionsPerServer,
      });
      byAddress.set(local, pool);
    }
    return pool;
  }

  forward(ex: HttpExchange): void {
    const pool = this.#upstreamOf(ex);
    let method = ex.method;
    let path = ex.url;
    let headers: string[];
    if (ex.upstreamTouched || ex.target !== ex.url) {
      const head = ex.upstream;
      method = head.method;
      path = head.path;
      headers = requestHeaderObjectToList(head.headers);
    } else {
      headers = requestHeaderList(ex.rawHeaders);
    }
    const timeouts = ex.backend!.config.timeouts;
    if (ex.upgrade) {
      send(pool, { method, path, headers, body: null, upgrade: ex.headers.upgrade ?? 'websocket' }, new UpgradeHandler(ex, timeouts, this.#logger), timeouts.server);
      return;
    }
    const hasBody = ex.hasBody;
    if (this.#attemptsUsed() && this.#attemptBackends.has(ex.backend!.name)) {
      this.#forwardWithAttempts(ex, method, path, headers, hasBody, timeouts).catch((err: unknown) => {
        // Nothing may escape as an unhandled rejection: a throw fails this one request.
        this.#logger.error({ err, server: ex.server?.id }, 'forwarding attempt failed unexpectedly');
        ex.fail(isSwitchyardError(err) ? err : forwardError(err, ex.server!.id, timeouts));
      });
      return;
    }
    send(pool, { method, path, headers, body: hasBody ? ex.body : null }, new ResponseHandler(ex, timeouts, null, this.#options.bufferSize), timeouts.server);
  }

  /** The path when a plugin taps the forwarder hooks: a replay plan, then attempts until one answers or no tap retries. */
  async #forwardWithAttempts(ex: HttpExchange, method: string, path: string, headers: string[], hasBody: boolean, timeouts: BackendTimeouts): Promise<void> {
    const hooks = getHttpForwarderHooks(this.#gateway);
    let plan: ReplayPlan | undefined;
    try {
      plan = await hooks.prepare.promise(ex);
    } catch (err) {
      ex.fail(isSwitchyardError(err) ? err : forwardError(err, ex.server!.id, timeouts));
      return;
    }
    if (ex.clientGone) {
      ex.termination = 'client-abort';
      return;
    }
    const attempt: Attempt = {
      n: 1,
      plan,
      failed: (failedEx, status, error) => {
        const server = failedEx.server!;
        const cause = attemptCause(error.code, status);
        const failure: ForwardAttemptFailure = {
          error,
          cause,
          status,
          attempt: attempt.n,
          server,
          notSent: cause === 'conn-failure',
          bodyReplayable: !hasBody || (plan !== undefined && plan.body !== null),
        };
        hooks.attemptFailed.promise(failedEx, failure, plan).then(
          (again) => {
            if (again !== true) failedEx.fail(error);
            else if (failedEx.clientGone) failedEx.termination = 'client-abort';
            else {
              attempt.n++;
              sendAttempt();
            }
          },
          (err: unknown) => {
            this.#logger.error({ err, server: server.id }, 'an attemptFailed tap threw; the request fails');
            failedEx.fail(error);
          },
        );
      },
    };
    const sendAttempt = (): void => {
      try {
        const body = plan !== undefined ? plan.body : hasBody ? ex.body : null;
        send(this.#upstreamOf(ex), { method, path, headers, body }, new ResponseHandler(ex, timeouts, attempt, this.#options.bufferSize), timeouts.server);
      } catch (err) {
        this.#logger.error({ err, server: ex.server?.id }, 'could not send a request attempt');
        ex.fail(isSwitchyardError(err) ? err : forwardError(err, ex.server!.id, timeouts));
      }
    };
    sendAttempt();
  }
}

type BackendTimeouts = { connect: number; server: number };

/** A server's own pool (net + llhttp), or an undici dispatcher (h2 to the server, send-proxy). */
type Upstream = UpstreamPool | Dispatcher;

function send(upstream: Upstream, req: UpstreamRequest, handler: UpstreamHandler, headersTimeout: number): void {
  if (upstream instanceof UpstreamPool) {
    upstream.dispatch(req, handler);
    return;
  }
  upstream.dispatch(
    { method: req.method, path: req.path, headers: req.headers, body: req.body, idempotent: false, ...(req.upgrade !== undefined ? { upgrade: req.upgrade, headersTimeout } : {}) },
    handler as unknown as Dispatcher.DispatchHandler,
  );
}

/** One exchange's attempts, when the forwarder hooks are tapped. */
interface Attempt {
  n: number;
  readonly plan: ReplayPlan | undefined;
  /** The attempt failed before the response head reached the client (status > 0: a discarded retry status). */
  failed(ex: HttpExchange, status: number, error: SwitchyardError): void;
}

function attemptCause(code: string, status: number): AttemptFailureCause {
  if (status > 0) return 'status';
  switch (code) {
    case 'SWY_ERR_FORWARD_REFUSED':
    case 'SWY_ERR_FORWARD_CONNECT_TIMEOUT':
      return 'conn-failure';
    case 'SWY_ERR_FORWARD_RESET':
      return 'empty-response';
    case 'SWY_ERR_FORWARD_TIMEOUT':
      return 'response-timeout';
    case 'SWY_ERR_FORWARD_BAD_RESPONSE':
      return 'junk-response';
    default:
      return 'other';
  }
}

/**
 * Streams one response back to the client (undici's raw-header handler interface). The
 * head goes to the core (`ex.sendHead`), which runs `respond` and tells where the body goes.
 */
class ResponseHandler implements UpstreamHandler {
  readonly #ex: HttpExchange;
  readonly #timeouts: { connect: number; server: number };
  #abort: ((err?: Error) => void) | null = null;
  #sink: Writable | null = null;
  #resume: (() => void) | null = null;
  #done = false;
  /** The core failed the exchange (a respond tap threw): the upstream request is dropped, nothing else. */
  #dropped = false;
  readonly #attempt: Attempt | null;
  #retryStatus = 0;

  readonly #bufferSize: number;

  constructor(ex: HttpExchange, timeouts: { connect: number; server: number }, attempt: Attempt | null, bufferSize: number) {
    this.#ex = ex;
    this.#timeouts = timeouts;
    this.#attempt = attempt;
    this.#bufferSize = bufferSize;
    ex.onClose(() => {
      if (!this.#done) this.#abort?.(new Error('client closed the connection'));
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#ex.clientGone) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: ReadonlyArray<Buffer | string>, resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: Node answers 100-continue to the client itself
    const plan = this.#attempt?.plan;
    if (plan !== undefined && plan.attemptsLeft > 0 && plan.retryStatuses !== null && plan.retryStatuses.has(statusCode)) {
      // A retry-on status: drop this response before the client sees any of it.
      this.#retryStatus = statusCode;
      this.#abort?.(new Error(`status ${statusCode}`));
      return false;
    }
    this.#resume = resume;
    const sink = this.#ex.sendHead(statusCode, statusText || undefined, responseHeaderList(rawHeaders));
    if (sink === null) {
      this.#dropped = true;
      this.#done = true;
      this.#abort?.(new Error('the response was refused by the gateway'));
      return false;
    }
    this.#sink = sink;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#ex.bytesOut += chunk.length;
    const sink = this.#sink!;
    // Backpressure: past the client's high-water mark and the configured buffer, the server's
    // socket pauses until the client drains; listen for drain only now, not per response.
    if (sink.write(chunk) || sink.writableLength < this.#bufferSize) return true;
    sink.once('drain', () => this.#resume?.());
    return false;
  }

  onComplete(trailers: string[] | Buffer[] | null): void {
    this.#done = true;
    let list: string[] | null = null;
    if (trailers && trailers.length > 0) {
      list = [];
      for (let i = 0; i < trailers.length; i++) list.push(String(trailers[i]));
    }
    this.#ex.endResponse(list);
  }

  onError(err: Error): void {
    this.#done = true;
    if (this.#dropped) return;
    const ex = this.#ex;
    if (ex.clientGone) {
      ex.termination = 'client-abort';
      return;
    }
    const coded = forwardError(err, ex.server!.id, this.#timeouts);
    if (this.#attempt !== null && !ex.headSent && coded.code !== 'SWY_ERR_FORWARD_CLIENT_ABORT') {
      this.#attempt.failed(ex, this.#retryStatus, coded);
      return;
    }
    const headSent = ex.headSent;
    ex.fail(coded);
    if (headSent) ex.abort();
  }
}

/** A WebSocket (or other) upgrade: 101 from the server → pipe both sockets; anything else → relay it. */
class UpgradeHandler implements UpstreamHandler {
  readonly #ex: HttpExchange;
  readonly #timeouts: { connect: number; server: number; tunnel: number };
  readonly #logger: Logger;
  #headSent = false;

  constructor(ex: HttpExchange, timeouts: { connect: number; server: number; tunnel: number }, logger: Logger) {
    this.#ex = ex;
    this.#timeouts = timeouts;
    this.#logger = logger;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#ex.socket.destroyed) abort(new Error('client closed the connection'));
    else this.#ex.socket.once('close', () => abort(new Error('client closed the connection')));
  }

  #writeHead(statusCode: number, rawHeaders: ReadonlyArray<Buffer | string>, keepHopByHop: boolean): void {
    let head = `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}\r\n`;
    const list = keepHopByHop ? rawHeaders.map(latin1) : responseHeaderList(rawHeaders);
    for (let i = 0; i < list.length; i += 2) head += `${list[i]}: ${list[i + 1]}\r\n`;
    if (!keepHopByHop) head += 'connection: close\r\n';
    this.#ex.socket.write(head + '\r\n');
    this.#ex.status = statusCode;
    this.#headSent = true;
  }

  onUpgrade(statusCode: number, rawHeaders: ReadonlyArray<Buffer | string> | null, upstream: Socket): void {
    const ex = this.#ex;
    const client = ex.socket;
    this.#writeHead(statusCode, rawHeaders ?? [], true);
    if (ex.head && ex.head.length > 0) upstream.write(ex.head);
    const tunnel = this.#timeouts.tunnel;
    client.setTimeout(tunnel, () => client.destroy());
    upstream.setTimeout(tunnel, () => upstream.destroy());
    client.on('data', (c: Buffer) => (ex.bytesIn += c.length));
    upstream.on('data', (c: Buffer) => (ex.bytesOut += c.length));
    upstream.on('error', (err) => this.#logger.debug({ err, server: ex.server?.id }, 'upstream tunnel error'));
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }

  onHeaders(statusCode: number, rawHeaders: ReadonlyArray<Buffer | string>): boolean {
    if (statusCode < 200) return true;
    this.#writeHead(statusCode, rawHeaders, false);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#ex.bytesOut += chunk.length;
    return this.#ex.socket.write(chunk);
  }

  onComplete(): void {
    this.#ex.socket.end();
  }

  onError(err: Error): void {
    const ex = this.#ex;
    if (this.#headSent) {
      ex.socket.destroy();
      return;
    }
    ex.fail(forwardError(err, ex.server!.id, this.#timeouts));
  }
}
