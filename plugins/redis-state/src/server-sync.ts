import type { AdminState, GatewayApi, Logger, ServerChange, ServerState } from '@switchyard/sdk';
import type { RedisConnection } from './connection';

/** A server-state message on the channel (and a field value of the hash). */
export interface ServerStateMessage {
  /** Instance that made the change. */
  from: string;
  /** `backend/server`. */
  id: string;
  what: 'admin' | 'weight';
  to: AdminState | number;
  reason: string;
  /** ms since epoch at the sender. */
  at: number;
}

/** Reason given to changes applied from another gateway: never published again. */
export const REMOTE_REASON = 'redis: from ';

const ADMIN = new Set(['ready', 'drain', 'maint']);

function parse(text: string): ServerStateMessage | null {
  try {
    const m = JSON.parse(text) as Partial<ServerStateMessage>;
    if (typeof m.from !== 'string' || typeof m.id !== 'string') return null;
    if (m.what === 'admin' && typeof m.to === 'string' && ADMIN.has(m.to)) return m as ServerStateMessage;
    if (m.what === 'weight' && typeof m.to === 'number' && Number.isInteger(m.to) && m.to >= 0 && m.to <= 256) return m as ServerStateMessage;
    return null;
  } catch {
    return null;
  }
}

/**
 * Shares operator changes to server state (drain, maint, ready, weight) between gateways:
 * a change whose reason starts with one of `serverState.reasons` is published on
 * `<prefix>:<channel>` (and kept in the hash `<prefix>:<channel>:last` when `persist`);
 * messages from other instances are applied with setAdmin / setWeight under the reason
 * `redis: from <instance>`, which is never published — with the instance id check, no echo.
 * Changes made while Redis is away are published once it is back.
 */
export class ServerStateSync {
  readonly #gateway: GatewayApi;
  readonly #conn: RedisConnection;
  readonly #logger: Logger;
  readonly #channel: string;
  readonly #hash: string;
  readonly #reasons: ReadonlyArray<string>;
  readonly #persist: boolean;
  /** Operator changes not yet published (Redis was away), by `id/what`. */
  readonly #pending = new Map<string, ServerStateMessage>();
  readonly #onChange = (c: ServerChange): void => this.#local(c);
  readonly #onMessage = (channel: string, text: string): void => {
    if (channel === this.#channel) this.#remote(text);
  };
  #offConn: (() => void) | null = null;

  constructor(gateway: GatewayApi, conn: RedisConnection, logger: Logger) {
    const cfg = conn.config.serverState;
    this.#gateway = gateway;
    this.#conn = conn;
    this.#logger = logger;
    this.#channel = conn.key(cfg.channel);
    this.#hash = conn.key(cfg.channel, 'last');
    this.#reasons = cfg.reasons;
    this.#persist = cfg.persist;
  }

  async start(): Promise<void> {
    this.#gateway.events.on('server-change', this.#onChange);
    const sub = this.#conn.subscriber();
    sub.on('message', this.#onMessage);
    sub.subscribe(this.#channel).catch((err: unknown) => this.#logger.warn({ err }, 'redis subscribe failed'));
    // The subscriber reconnects (and re-subscribes) on its own schedule: read the stored state
    // again once it is back, so a change published before it re-subscribed is not missed.
    sub.on('ready', this.#onSubscriberReady);
    this.#offConn = this.#conn.onChange((up) => {
      if (up) void this.#resync();
    });
    if (this.#conn.connected) await this.#resync();
  }

  stop(): void {
    this.#gateway.events.off('server-change', this.#onChange);
    this.#conn.subscriber().off('message', this.#onMessage);
    this.#conn.subscriber().off('ready', this.#onSubscriberReady);
    this.#offConn?.();
  }

  readonly #onSubscriberReady = (): void => {
    if (this.#conn.connected) void this.#resync();
  };

  #operator(reason: string | undefined): boolean {
    if (reason === undefined || reason.startsWith(REMOTE_REASON)) return false;
    for (const r of this.#reasons) if (reason.startsWith(r)) return true;
    return false;
  }

  #local(c: ServerChange): void {
    // Only admin state and weight travel; health is each instance's own, and servers added or
    // removed at run time stay local (every instance's config file is the source of truth).
    if ((c.what !== 'admin' && c.what !== 'weight') || !this.#operator(c.reason)) return;
    const msg: ServerStateMessage = {
      from: this.#conn.instanceId, id: c.server.id, what: c.what, to: c.what === 'admin' ? (c.to as AdminState) : Number(c.to), reason: c.reason ?? '', at: Date.now(),
    };
    this.#pending.set(`${msg.id}/${msg.what}`, msg);
    if (this.#conn.connected) void this.#flush();
  }

  async #flush(): Promise<void> {
    const batch = [...this.#pending.entries()];
    for (const [k, msg] of batch) {
      const text = JSON.stringify(msg);
      try {
        const m = this.#conn.client.multi();
        if (this.#persist) m.hset(this.#hash, `${msg.id}/${msg.what}`, text);
        await m.publish(this.#channel, text).exec();
        if (this.#pending.get(k) === msg) this.#pending.delete(k);
        this.#logger.info({ server: msg.id, [msg.what]: msg.to }, 'server state change published to the other gateways');
      } catch (err) {
        this.#logger.warn({ err, server: msg.id }, 'server state change not published (redis unreachable); it will be once redis is back');
        return;
      }
    }
  }

  /** On (re)connection: publish what changed here meanwhile, then apply what others stored. */
  async #resync(): Promise<void> {
    await this.#flush();
    if (!this.#persist || !this.#conn.connected) return;
    try {
      const all = await this.#conn.client.hgetall(this.#hash);
      for (const text of Object.values(all)) this.#remote(text);
    } catch (err) {
      this.#logger.warn({ err }, 'could not read the shared server state from redis');
    }
  }

  #server(id: string): ServerState | undefined {
    const slash = id.indexOf('/');
    if (slash <= 0) return undefined;
    return this.#gateway.backends.get(id.slice(0, slash))?.server(id.slice(slash + 1));
  }

  #remote(text: string): void {
    const msg = parse(text);
    if (msg === null || msg.from === this.#conn.instanceId) return;
    // A newer local change not yet published wins over an older stored one.
    const mine = this.#pending.get(`${msg.id}/${msg.what}`);
    if (mine !== undefined && mine.at >= msg.at) return;
    const server = this.#server(msg.id);
    if (server === undefined) return;
    const reason = `${REMOTE_REASON}${msg.from}${msg.reason ? ` (${msg.reason})` : ''}`;
    try {
      if (msg.what === 'admin' && server.admin !== msg.to) {
        server.setAdmin(msg.to as AdminState, reason);
        this.#logger.info({ server: msg.id, admin: msg.to, from: msg.from }, 'server state applied from another gateway');
      } else if (msg.what === 'weight' && server.weight !== msg.to) {
        server.setWeight(msg.to as number, reason);
        this.#logger.info({ server: msg.id, weight: msg.to, from: msg.from }, 'server weight applied from another gateway');
      }
    } catch (err) {
      this.#logger.warn({ err, server: msg.id }, 'could not apply a server state change from another gateway');
    }
  }
}
