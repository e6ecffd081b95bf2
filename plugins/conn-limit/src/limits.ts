import type { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Connection, Exchange, FrontendState, Logger, RouteDecision } from '@switchyard/sdk';
import type { ConnLimitConfig, FrontendConnLimits, RateSpec } from './types';

interface Waiter {
  conn: Connection;
  resolve(verdict: false | undefined): void;
  timer: NodeJS.Timeout | null;
}

interface FrontendLimits {
  rate: RateLimiterMemory | null;
  ratePerClient: RateLimiterMemory | null;
  maxconnPerClient: number;
  maxRequestsPerClient: number;
  perClientConns: Map<string, number>;
  perClientRequests: Map<string, number>;
}

type Flexible = typeof import('rate-limiter-flexible');
/** rate-limiter-flexible only when a rate is configured: maxconn alone never loads it (idle RSS). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const flexible = (): Flexible => require('rate-limiter-flexible') as Flexible;

function limiter(spec: RateSpec | undefined, prefix: string): RateLimiterMemory | null {
  if (!spec) return null;
  return new (flexible().RateLimiterMemory)({ keyPrefix: prefix, points: spec.limit, duration: Math.max(1, Math.ceil(spec.period / 1000)) });
}

const isDenial = (err: unknown): boolean => err instanceof flexible().RateLimiterRes;

/** Counts and limits connections and in-flight requests; every decision is made in accept/route taps. */
export class ConnectionLimits {
  readonly #global: number;
  readonly #wait: number;
  readonly #logger: Logger;
  readonly #byFrontend = new Map<FrontendState, FrontendLimits>();
  readonly #waiting: Waiter[] = [];
  readonly #countedRequests = new WeakSet<Exchange>();
  #open = 0;
  /** Refusals so far, by reason (for tests, stats and logs). */
  readonly refused = { rate: 0, ratePerClient: 0, maxconnPerClient: 0, maxconnWait: 0, maxRequestsPerClient: 0 };

  constructor(config: ConnLimitConfig, frontends: ReadonlyMap<string, FrontendState>, logger: Logger) {
    this.#global = config.maxconn;
    this.#wait = config.maxconnWait;
    this.#logger = logger;
    for (const fe of frontends.values()) {
      const c = fe.config.connLimits as FrontendConnLimits | undefined;
      if (!c) continue;
      const fl: FrontendLimits = {
        rate: limiter(c.rate, `fe:${fe.name}`),
        ratePerClient: limiter(c.ratePerClient, `src:${fe.name}`),
        maxconnPerClient: c.maxconnPerClient,
        maxRequestsPerClient: c.maxRequestsPerClient,
        perClientConns: new Map(),
        perClientRequests: new Map(),
      };
      if (fl.rate || fl.ratePerClient || fl.maxconnPerClient > 0 || fl.maxRequestsPerClient > 0) this.#byFrontend.set(fe, fl);
    }
  }

  get needsAccept(): boolean {
    for (const fl of this.#byFrontend.values()) if (fl.rate || fl.ratePerClient || fl.maxconnPerClient > 0) return true;
    return this.#global > 0;
  }

  get needsRequests(): boolean {
    for (const fl of this.#byFrontend.values()) if (fl.maxRequestsPerClient > 0) return true;
    return false;
  }

  /** Connections open now that count against the global maxconn. */
  get open(): number {
    return this.#open;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** The accept tap: refuse (false) over a rate or per-client cap; wait for a global slot. */
  async accept(conn: Connection): Promise<false | undefined> {
    const fl = this.#byFrontend.get(conn.frontend);
    if (fl !== undefined) {
      const addr = conn.remoteAddress;
      if (fl.maxconnPerClient > 0 && (fl.perClientConns.get(addr) ?? 0) >= fl.maxconnPerClient) return this.#refuse(conn, 'maxconnPerClient');
      if (fl.rate !== null) {
        try {
          await fl.rate.consume(conn.frontend.name);
        } catch (err) {
          if (isDenial(err)) return this.#refuse(conn, 'rate');
          throw err;
        }
      }
      if (fl.ratePerClient !== null) {
        try {
          await fl.ratePerClient.consume(addr);
        } catch (err) {
          if (isDenial(err)) return this.#refuse(conn, 'ratePerClient');
          throw err;
        }
      }
      if (fl.maxconnPerClient > 0) {
        // Checked again: another connection from the address may have been counted meanwhile.
        const n = fl.perClientConns.get(addr) ?? 0;
        if (n >= fl.maxconnPerClient) return this.#refuse(conn, 'maxconnPerClient');
        fl.perClientConns.set(addr, n + 1);
        conn.socket.once('close', () => {
          const left = (fl.perClientConns.get(addr) ?? 1) - 1;
          if (left <= 0) fl.perClientConns.delete(addr);
          else fl.perClientConns.set(addr, left);
        });
      }
    }
    if (this.#global === 0 || conn.socket.destroyed) return undefined;
    if (this.#open < this.#global) {
      this.#take(conn);
      return undefined;
    }
    return this.#enqueue(conn);
  }

  #refuse(conn: Connection, reason: keyof ConnectionLimits['refused']): false {
    this.refused[reason]++;
    this.#logger.debug({ frontend: conn.frontend.name, client: conn.remoteAddress, reason }, 'connection refused by a connection limit');
    return false;
  }

  #take(conn: Connection): void {
    this.#open++;
    conn.socket.once('close', () => {
      this.#open--;
      this.#next();
    });
  }

  #enqueue(conn: Connection): Promise<false | undefined> {
    // Like the core above a frontend's maxconn: the connection waits unread.
    conn.socket.pause();
    return new Promise((resolve) => {
      const w: Waiter = { conn, resolve, timer: null };
      const onClose = (): void => this.#drop(w, undefined);
      conn.socket.once('close', onClose);
      if (this.#wait > 0) {
        w.timer = setTimeout(() => {
          conn.socket.off('close', onClose);
          this.#drop(w, false);
          this.refused.maxconnWait++;
          this.#logger.debug({ frontend: conn.frontend.name, client: conn.remoteAddress }, 'connection waited maxconnWait for a global slot; closed');
        }, this.#wait);
      }
      w.resolve = (verdict) => {
        conn.socket.off('close', onClose);
        resolve(verdict);
      };
      this.#waiting.push(w);
    });
  }

  #drop(w: Waiter, verdict: false | undefined): void {
    const i = this.#waiting.indexOf(w);
    if (i !== -1) this.#waiting.splice(i, 1);
    if (w.timer) clearTimeout(w.timer);
    w.resolve(verdict);
  }

  #next(): void {
    while (this.#open < this.#global && this.#waiting.length > 0) {
      const w = this.#waiting.shift()!;
      if (w.timer) clearTimeout(w.timer);
      if (w.conn.socket.destroyed) {
        w.resolve(false);
        continue;
      }
      this.#take(w.conn);
      w.resolve(undefined);
      // Resume only once the core has handed the socket to its HTTP server (after the accept
      // hook's promise chain): resumed earlier, bytes read meanwhile would have no reader.
      const socket = w.conn.socket;
      setImmediate(() => socket.resume());
    }
  }

  /** The route tap: 429 when the client already has maxRequestsPerClient requests in flight. */
  request(ex: Exchange): RouteDecision | undefined {
    if (ex.kind !== 'http') return undefined;
    const fl = this.#byFrontend.get(ex.frontend);
    if (fl === undefined || fl.maxRequestsPerClient === 0) return undefined;
    const addr = ex.clientAddress;
    const n = fl.perClientRequests.get(addr) ?? 0;
    if (n >= fl.maxRequestsPerClient) {
      this.refused.maxRequestsPerClient++;
      ex.respond(429, 'Too Many Requests\n', { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1', 'cache-control': 'no-store' });
      return { handled: true };
    }
    fl.perClientRequests.set(addr, n + 1);
    this.#countedRequests.add(ex);
    return undefined;
  }

  /** The log tap: the exchange is over, give its request slot back. */
  done(ex: Exchange): void {
    if (!this.#countedRequests.delete(ex)) return;
    const fl = this.#byFrontend.get(ex.frontend)!;
    const addr = ex.clientAddress;
    const left = (fl.perClientRequests.get(addr) ?? 1) - 1;
    if (left <= 0) fl.perClientRequests.delete(addr);
    else fl.perClientRequests.set(addr, left);
  }

  /** Closes every waiting connection (gateway stop). */
  close(): void {
    for (const w of this.#waiting.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve(false);
    }
  }
}
