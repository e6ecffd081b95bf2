import type { Exchange, GatewayApi, Logger, ServerChange, ServerState } from '@switchyard/sdk';

/** `servers[i].onMarkedDown` / `onMarkedUp` (HAProxy's on-marked-down / on-marked-up). */
export interface SessionActionOptions {
  onMarkedDown?: 'shutdown-sessions';
  onMarkedUp?: 'shutdown-backup-sessions';
}

/** What closed sessions: HAProxy logs them with termination 'D' (down) or 'U' (up). */
export type ShutdownCause = 'down' | 'up';

// Before retries (900) and the forwarder (1000): every exchange that reaches a server passes here.
const TRACK_STAGE = 850;

/**
 * HAProxy's `on-marked-down shutdown-sessions` and `on-marked-up shutdown-backup-sessions`:
 * the sessions open on a server are closed when it goes DOWN (or into maintenance), so
 * clients reconnect to a server that is UP; when a primary server comes UP the sessions on
 * the backups are closed so traffic returns to it. Open sessions are tracked only on the
 * servers of backends that ask for one of these actions (nothing per exchange elsewhere).
 */
export class SessionActions {
  readonly #gateway: GatewayApi;
  readonly #logger: Logger;
  /** Servers whose open exchanges are tracked (those an action may close). */
  readonly #open = new Map<ServerState, Set<Exchange>>();
  readonly #onChange = (c: ServerChange): void => this.#changed(c);

  private constructor(gateway: GatewayApi, logger: Logger) {
    this.#gateway = gateway;
    this.#logger = logger;
  }

  /** Taps the gateway when some server asks for an action; returns null otherwise. */
  static apply(gateway: GatewayApi, logger: Logger, name: string): SessionActions | null {
    const a = new SessionActions(gateway, logger);
    for (const be of gateway.backends.values()) {
      const ups = be.servers.some((s) => !s.backup && (s.config as SessionActionOptions).onMarkedUp === 'shutdown-backup-sessions');
      for (const s of be.servers) {
        if ((s.config as SessionActionOptions).onMarkedDown === 'shutdown-sessions' || (ups && s.backup)) a.#open.set(s, new Set());
      }
    }
    if (a.#open.size === 0) return null;
    gateway.hooks.forward.tap({ name, stage: TRACK_STAGE }, (ex) => {
      const server = ex.server;
      if (server === null) return undefined;
      const set = a.#open.get(server);
      if (set === undefined || set.has(ex)) return undefined;
      set.add(ex);
      const gone = (): void => {
        set.delete(ex);
      };
      if (ex.kind === 'http') ex.onClose(gone);
      else ex.socket.once('close', gone);
      return undefined;
    });
    gateway.events.on('server-change', a.#onChange);
    gateway.onStop(() => {
      gateway.events.off('server-change', a.#onChange);
    });
    return a;
  }

  /** Sessions open on a tracked server now. */
  openSessions(server: ServerState): number {
    let n = 0;
    for (const ex of this.#open.get(server) ?? []) if (ex.server === server) n++;
    return n;
  }

  /** Closes every session open on `server` (tracked servers only); returns how many. */
  shutdownSessions(server: ServerState, cause: ShutdownCause): number {
    const set = this.#open.get(server);
    if (set === undefined) return 0;
    let n = 0;
    for (const ex of [...set]) {
      set.delete(ex);
      // A session retried onto another server since it was tracked is not this server's.
      if (ex.server !== server) continue;
      n++;
      if (ex.kind === 'http') ex.abort();
      else ex.socket.destroy();
    }
    if (n > 0) {
      const why = cause === 'down' ? 'on-marked-down shutdown-sessions' : 'on-marked-up shutdown-backup-sessions';
      this.#logger.warn({ backend: server.backend, server: server.name, sessions: n, termination: cause === 'down' ? 'D' : 'U' }, `Server ${server.id}: ${n} session(s) closed (${why})`);
    }
    return n;
  }

  #changed(c: ServerChange): void {
    const s = c.server;
    const cfg = s.config as SessionActionOptions;
    const down = (c.what === 'health' && c.to === 'down') || (c.what === 'admin' && c.to === 'maint');
    if (down) {
      if (cfg.onMarkedDown === 'shutdown-sessions') this.shutdownSessions(s, 'down');
      return;
    }
    // UP again (health up while not in maintenance, or out of maintenance while up), on a primary that takes traffic.
    const up = (c.what === 'health' && c.to === 'up' && s.admin !== 'maint') || (c.what === 'admin' && c.from === 'maint' && s.health === 'up');
    if (up && cfg.onMarkedUp === 'shutdown-backup-sessions' && !s.backup && s.weight > 0) {
      const be = this.#gateway.backends.get(s.backend);
      for (const b of be?.servers ?? []) if (b.backup) this.shutdownSessions(b, 'up');
    }
  }
}
