import type * as http2 from 'node:http2';
import type * as net from 'node:net';
import { SwitchyardError, type Hooks, type Logger } from '@switchyard/sdk';
import type { ConnectionImpl } from './connection';
import { CoreErrors } from './errors';
import { TcpExchangeImpl, type ExchangeHost, type FailureReporter } from './exchange';
import type { HookUse } from './hooks';
import { H1Exchange, type H1Host } from './listeners/http1';
import { H2Exchange } from './listeners/h2-exchange';
import type { ServerQueue } from './queue';
import type { BackendRuntime, FrontendRuntime, ServerRuntime } from './state';

type AnyExchange = H1Exchange | H2Exchange | TcpExchangeImpl;

/** What the pipeline needs from its gateway. */
export interface PipelineHost {
  readonly hooks: Hooks;
  readonly backends: ReadonlyMap<string, BackendRuntime>;
  readonly logger: Logger;
  readonly stopping: boolean;
}

/**
 * The one request path, owned by the core: route → select-server (queue) → forward, then
 * `respond` once through the exchange's sendHead, then `log` once when the exchange ends.
 * Each stage runs once, in that order; a stage nobody taps is skipped without a closure or
 * a promise. Every failure takes one path: `fail()` with a coded error.
 */
export class Pipeline implements ExchangeHost, H1Host {
  readonly #host: PipelineHost;
  readonly #queue: ServerQueue;
  #use!: HookUse;
  /**
   * The forward taps, when every one is synchronous (the HTTP and TCP forwarders, header
   * rewrites): called in order without a promise per request. Null: tapable's promise path.
   * The hook's own tap array, read at call time: a `register` interceptor added later (the
   * Prometheus hook timer wraps taps on `started`) replaces its entries in place.
   */
  #forwardSync: ReadonlyArray<{ fn: (ex: AnyExchange) => unknown }> | null = null;
  respond: Hooks['respond'] | null = null;

  constructor(host: PipelineHost, queue: ServerQueue) {
    this.#host = host;
    this.#queue = queue;
  }

  /** Called once every plugin tapped: which stages run from now on. */
  compile(use: HookUse): void {
    this.#use = use;
    this.respond = use.respond ? this.#host.hooks.respond : null;
    this.#queue.selectTapped = use.selectServer;
    // tapable keeps taps sorted by stage; their fns are already wrapped to blame their plugin.
    const taps = (this.#host.hooks.forward as unknown as { taps: Array<{ type: string; fn: (ex: AnyExchange) => unknown }> }).taps;
    this.#forwardSync = taps.length > 0 && taps.every((t) => t.type === 'sync') ? taps : null;
  }

  get use(): HookUse {
    return this.#use;
  }

  get stopping(): boolean {
    return this.#host.stopping;
  }

  readonly logDebug = (obj: object, msg: string): void => {
    this.#host.logger.debug(obj, msg);
  };

  /** HTTP/1.x from the core's own front end (./listeners/http1): a parsed request, answered in order. */
  startH1(ex: H1Exchange, refusal: SwitchyardError | null): void {
    if (refusal !== null) {
      // Refused before any stage runs: no server ever sees it.
      ex.fail(refusal);
      return;
    }
    this.run(ex);
  }

  // ---------------------------------------------------------------- entry points

  /** HTTP/2 on node:http2's stream API: one stream, one exchange (its 'close' ends it). */
  onH2Stream(conn: ConnectionImpl, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    const ex = new H2Exchange(this, conn, stream, headers, rawHeaders);
    this.run(ex);
  }

  onTcpSession(conn: ConnectionImpl, socket: net.Socket, clientTimeout: number): void {
    const ex = new TcpExchangeImpl(this, conn);
    socket.setTimeout(clientTimeout, () => {
      if (ex.server === null) socket.destroy();
    });
    socket.once('close', () => this.end(ex));
    void this.run(ex);
  }

  // ---------------------------------------------------------------- stages

  /**
   * Runs the stages. Without route taps, with a server free and synchronous forward taps
   * (the common case) it allocates no promise: each stage that awaits is entered only when
   * it has something to await.
   */
  run(ex: AnyExchange): void {
    if (this.#use.route || this.#forwardSync === null) {
      void this.#runAsync(ex);
      return;
    }
    try {
      const backend = (ex.backend as BackendRuntime | null) ?? (ex.frontend as FrontendRuntime).defaultBackend;
      if (!backend) throw CoreErrors.NO_BACKEND(ex.frontend.name);
      ex.backend = backend;
      if (ex.server === null) {
        const got = this.#queue.acquire(ex, backend);
        if (got instanceof Promise) {
          got.then(
            () => {
              if (!ex.ended) this.#forward(ex);
            },
            (err: unknown) => this.fail(ex, err),
          );
          return;
        }
      }
      this.#forward(ex);
    } catch (err) {
      this.fail(ex, err);
    }
  }

  /** The forward stage through the synchronous taps (see #forwardSync). */
  #forward(ex: AnyExchange): void {
    try {
      const taps = this.#forwardSync!;
      for (let i = 0; i < taps.length; i++) {
        const taken = taps[i]!.fn(ex);
        if (taken === undefined) continue;
        if (taken !== true && !ex.ended) throw CoreErrors.NO_FORWARDER(ex.kind, ex.kind);
        return;
      }
      if (!ex.ended) throw CoreErrors.NO_FORWARDER(ex.kind, ex.kind);
    } catch (err) {
      this.fail(ex, err);
    }
  }

  async #runAsync(ex: AnyExchange): Promise<void> {
    try {
      const hooks = this.#host.hooks;
      let backend: BackendRuntime | null = null;
      if (this.#use.route) {
        const decision = await hooks.route.promise(ex);
        if (ex.ended) return;
        if (decision !== undefined) {
          if ('handled' in decision) return;
          backend = this.#host.backends.get(decision.backend) ?? null;
          if (!backend) throw CoreErrors.UNKNOWN_BACKEND(decision.backend);
        }
      }
      backend ??= (ex.backend as BackendRuntime | null) ?? (ex.frontend as FrontendRuntime).defaultBackend;
      if (!backend) throw CoreErrors.NO_BACKEND(ex.frontend.name);
      ex.backend = backend;
      if (!this.#use.forward) throw CoreErrors.NO_FORWARDER(ex.kind, ex.kind);
      if (ex.server === null) {
        const got = this.#queue.acquire(ex, backend);
        if (got instanceof Promise) await got;
        if (ex.ended) return;
      }
      const taken = await hooks.forward.promise(ex);
      if (taken !== true && !ex.ended) throw CoreErrors.NO_FORWARDER(ex.kind, ex.kind);
    } catch (err) {
      this.fail(ex, err);
    }
  }

  /** The core's error path: a coded failure for the exchange (a plugin's throw is already blamed on it). */
  fail(ex: AnyExchange, err: unknown): void {
    const coded = err instanceof SwitchyardError
      ? err
      : CoreErrors.HOOK_FAILED.with({ cause: err }, 'a plugin', 'a', err instanceof Error ? err.message : String(err));
    try {
      ex.fail(coded);
    } catch (failErr) {
      this.#host.logger.error({ err: failErr }, 'could not answer a failed exchange');
      if (ex.kind === 'http') ex.abort();
      else ex.socket.destroy();
    }
  }

  /** Logs a failed exchange with frontend, backend and server (bound once, shared by exchanges). */
  readonly report: FailureReporter = (ex, coded: SwitchyardError): void => {
    const clientGone = coded.code === 'SWY_ERR_FORWARD_CLIENT_ABORT';
    this.#host.logger[clientGone ? 'debug' : 'warn'](
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

  /** The exchange is over (any outcome): counters, the server slot, then `log`, once. */
  end(ex: AnyExchange): void {
    if (ex.ended) return;
    ex.ended = true;
    if (ex.kind === 'http') {
      ex.settle();
    } else if (ex.kind === 'tcp') {
      // The session's bytes, final now that the client socket closed.
      ex.bytesIn = Math.max(ex.bytesIn, ex.socket.bytesRead);
      ex.bytesOut = Math.max(ex.bytesOut, ex.socket.bytesWritten);
    }
    const server = ex.server as ServerRuntime | null;
    if (server) {
      // A plugin's failure (a tap that threw, an internal error) is never counted against the server.
      const ours = ex.error !== null && ex.termination === 'internal-error';
      if (ex.error !== null && !ours) server.counters.errors++;
      server.counters.bytesIn += ex.bytesIn;
      server.counters.bytesOut += ex.bytesOut;
      if (ex.kind === 'http' && ex.status > 0 && !ours) {
        const cls = Math.floor(ex.status / 100);
        server.counters.responses[cls >= 1 && cls <= 5 ? cls : 0]++;
      }
    }
    if (ex.slotHeld) this.#queue.release(ex);
    else if (ex.server === null && ex.backend !== null) this.#queue.leave(ex, ex.backend as BackendRuntime);
    if (this.#use.log) {
      try {
        this.#host.hooks.log.call(ex);
      } catch (err) {
        this.#host.logger.error({ err }, 'a log tap failed');
      }
    }
  }
}
