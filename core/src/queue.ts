import type { Exchange, Hooks } from '@switchyard/sdk';
import { CoreErrors } from './errors';
import type { BackendRuntime, ServerRuntime } from './state';

/** An exchange waiting in a backend's FIFO for a server slot (HAProxy's backend queue). */
export interface Waiter {
  exchange: Exchange;
  resolve: (server: ServerRuntime) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

/** What the queue marks on an exchange: a held slot, given back exactly once, and whether it ended. */
interface Slotted {
  slotHeld: boolean;
  ended: boolean;
}

/**
 * Server choice and slots: the `selectServer` hook, then the backend's policy over
 * primaries, then backups; at maxconn the exchange waits in the backend's queue.
 */
export class ServerQueue {
  readonly #hooks: Hooks;
  readonly #backends: ReadonlyMap<string, BackendRuntime>;
  /** Whether `selectServer` is tapped (set once, after every plugin applied). */
  selectTapped = false;

  constructor(hooks: Hooks, backends: ReadonlyMap<string, BackendRuntime>) {
    this.#hooks = hooks;
    this.#backends = backends;
  }

  select(ex: Exchange, be: BackendRuntime): ServerRuntime | undefined {
    if (this.selectTapped) {
      const s = this.#hooks.selectServer.call(ex) as ServerRuntime | undefined;
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
    (ex as unknown as Slotted).slotHeld = true;
  }

  /** A server now, or a promise of one once a slot frees up; throws a coded 503 when there is none. */
  acquire(ex: Exchange, be: BackendRuntime): ServerRuntime | Promise<ServerRuntime> {
    const s = be.queued === 0 ? this.select(ex, be) : undefined;
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
      this.drain(be);
    });
  }

  release(ex: Exchange): void {
    const s = ex.server as ServerRuntime | null;
    const held = ex as unknown as Slotted;
    if (!s || !held.slotHeld) return;
    held.slotHeld = false;
    s.active--;
    const be = this.#backends.get(s.backend);
    if (be && be.queued > 0) this.drain(be);
  }

  /** A client that goes away while queued gives its place up at once. */
  leave(ex: Exchange, be: BackendRuntime): void {
    for (let i = be.waitingHead; i < be.waiting.length; i++) {
      const w = be.waiting[i]!;
      if (w.exchange !== ex) continue;
      clearTimeout(w.timer!);
      be.waiting.splice(i, 1);
      return;
    }
  }

  drain(be: BackendRuntime): void {
    while (be.queued > 0) {
      const w = be.waiting[be.waitingHead]!;
      if ((w.exchange as unknown as Slotted).ended) {
        clearTimeout(w.timer!);
        be.waitingHead++;
        continue;
      }
      const s = this.select(w.exchange, be);
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

  /** Every waiter of the backend gets a 503 (no server left, or the gateway stops). */
  rejectAll(be: BackendRuntime): void {
    while (be.queued > 0) {
      const w = be.waiting[be.waitingHead++]!;
      clearTimeout(w.timer!);
      w.reject(CoreErrors.NO_SERVER(be.name));
    }
  }

  /** A server changed state: waiters get a server that came back, or a 503 if none is left. */
  serverChanged(be: BackendRuntime): void {
    if (be.queued === 0) return;
    if (!be.hasAvailable()) this.rejectAll(be);
    else this.drain(be);
  }
}
