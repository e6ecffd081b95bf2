import type { GatewayApi, ServerChange, ServerState } from '@switchyard/sdk';

export const REASON = 'slowstart';

interface Ramp {
  server: ServerState;
  /** The weight the ramp ends at: the config weight, or what an operator set since. */
  target: number;
  duration: number;
  started: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Ramps a returning server's weight from 1 up to its target over `slowstart` ms, by writing
 * the shared state with setWeight — policies just see a weight that grows. A server
 * "returns" when its health goes up while ready, or its admin state goes back to ready
 * while up. Going down or out of service mid-ramp ends the ramp at the full weight, so the
 * state shows the configured weight while the server takes no traffic anyway.
 */
export class SlowStart {
  readonly #ramps = new Map<ServerState, Ramp>();
  /** Target weight per server, tracked while no ramp runs (operators may change it). */
  readonly #targets = new Map<ServerState, number>();
  readonly #durations: ReadonlyMap<ServerState, number>;
  readonly #now: () => number;

  constructor(durations: ReadonlyMap<ServerState, number>, now: () => number = Date.now) {
    this.#durations = durations;
    this.#now = now;
    for (const s of durations.keys()) this.#targets.set(s, s.weight);
  }

  attach(gateway: GatewayApi): void {
    const onChange = (change: ServerChange): void => this.onChange(change);
    gateway.events.on('server-change', onChange);
    gateway.onStop(() => {
      gateway.events.off('server-change', onChange);
      this.stopAll();
    });
  }

  /** Ramps in progress: server id → current weight / target. */
  status(): Record<string, { weight: number; target: number }> {
    const out: Record<string, { weight: number; target: number }> = {};
    for (const r of this.#ramps.values()) out[r.server.id] = { weight: r.server.weight, target: r.target };
    return out;
  }

  onChange(change: ServerChange): void {
    const s = change.server;
    const duration = this.#durations.get(s);
    if (duration === undefined) return;
    const ramp = this.#ramps.get(s);
    if (change.what === 'weight') {
      if (change.reason === REASON) return;
      // An operator's weight: the new target (the ramp, if any, continues toward it).
      if (ramp) ramp.target = Number(change.to);
      else this.#targets.set(s, Number(change.to));
      return;
    }
    const back = s.health === 'up' && s.admin === 'ready';
    const cameBack =
      back && ((change.what === 'health' && change.from === 'down') || (change.what === 'admin' && change.from !== 'ready'));
    if (cameBack && !ramp) this.#start(s, duration);
    else if (!back && ramp) this.#finish(ramp);
  }

  #start(server: ServerState, duration: number): void {
    const target = this.#targets.get(server) ?? server.weight;
    if (target <= 1) return;
    const ramp: Ramp = { server, target, duration, started: this.#now(), timer: null };
    this.#ramps.set(server, ramp);
    this.#step(ramp);
    if (!this.#ramps.has(server)) return;
    const interval = Math.min(1000, Math.max(50, Math.floor(duration / 32)));
    ramp.timer = setInterval(() => this.#step(ramp), interval);
    ramp.timer.unref();
  }

  #step(ramp: Ramp): void {
    const elapsed = this.#now() - ramp.started;
    if (elapsed >= ramp.duration) {
      this.#finish(ramp);
      return;
    }
    const weight = Math.max(1, Math.ceil((ramp.target * elapsed) / ramp.duration));
    if (weight !== ramp.server.weight) ramp.server.setWeight(weight, REASON);
  }

  #finish(ramp: Ramp): void {
    if (ramp.timer) clearInterval(ramp.timer);
    this.#ramps.delete(ramp.server);
    this.#targets.set(ramp.server, ramp.target);
    if (ramp.server.weight !== ramp.target) ramp.server.setWeight(ramp.target, REASON);
  }

  stopAll(): void {
    for (const r of this.#ramps.values()) if (r.timer) clearInterval(r.timer);
    this.#ramps.clear();
  }
}
