import { FAILED_ATTEMPTS, definePlugin, Stage, type Static, type BackendState, type Exchange, type GatewayApi, type Logger, type ServerState } from '@switchyard/sdk';
import { HEALTH_CONTROL } from '@switchyard/plugin-health-check';
import { passiveHealthSchema, serverPassiveSchema, type OnError, type PassiveHealthOptions } from './schema';

export const NAME = '@switchyard/plugin-passive-health';

export type { OnError, PassiveHealthOptions };

/** Failed attempts that @switchyard/plugin-retries retried (exchange.vars). */
const FAILED_ATTEMPTS_VAR = FAILED_ATTEMPTS.id;

/** Error codes that count at layer 4 (the connection to the server failed); a client abort never counts. */
const LAYER4_CODES: ReadonlySet<string> = new Set([
  'SWY_ERR_FORWARD_REFUSED', 'SWY_ERR_FORWARD_CONNECT_TIMEOUT', 'SWY_ERR_FORWARD_RESET', 'SWY_ERR_FORWARD_TIMEOUT', 'SWY_ERR_FORWARD_BAD_RESPONSE',
]);

/** One server's consecutive-error count and its rules. */
class ServerObserver {
  readonly server: ServerState;
  readonly #backend: BackendState;
  readonly #o: PassiveHealthOptions;
  readonly #logger: Logger;
  errors = 0;
  #recoverTimer: NodeJS.Timeout | null = null;

  constructor(server: ServerState, backend: BackendState, o: PassiveHealthOptions, logger: Logger) {
    this.server = server;
    this.#backend = backend;
    this.#o = o;
    this.#logger = logger;
  }

  /** Whether a response status is an error at this observe level. */
  isErrorStatus(status: number): boolean {
    return this.#o.observe === 'layer7' && status >= 500 && status !== 501 && status !== 505;
  }

  success(): void {
    this.errors = 0;
  }

  error(what: string): void {
    if (++this.errors < this.#o.errorLimit) return;
    const count = this.errors;
    this.errors = 0;
    const reason = `passive health: ${count} consecutive ${this.#o.observe} errors, last ${what}`;
    const control = HEALTH_CONTROL.get(this.server);
    const action = this.#o.onError;
    this.#logger.info({ server: this.server.id, action, errors: count, last: what }, `${this.server.id}: ${reason}; on-error ${action}`);
    if (control !== undefined) {
      if (action === 'fastinter') control.expedite();
      else control.observeFailure(action, reason);
      return;
    }
    // No active check: mark-down and sudden-death take the server out for `recover`, then try it again.
    if ((action === 'mark-down' || action === 'sudden-death') && this.server.health === 'up') this.#markDown(reason);
  }

  #markDown(reason: string): void {
    this.server.setHealth('down', reason);
    this.#logger.warn({ backend: this.server.backend, server: this.server.name }, `Server ${this.server.id} is DOWN, reason: ${reason}. ${this.#left('left')}`);
    this.#recoverTimer = setTimeout(() => {
      this.#recoverTimer = null;
      this.errors = 0;
      try {
        this.server.setHealth('up', `passive health: retried after ${this.#o.recover} ms`);
      } catch (err) {
        this.#logger.error({ err, server: this.server.id }, 'a server-change listener failed');
      }
      this.#logger.info({ backend: this.server.backend, server: this.server.name }, `Server ${this.server.id} is UP, reason: passive health retry after ${this.#o.recover}ms. ${this.#left('online')}`);
    }, this.#o.recover);
    this.#recoverTimer.unref();
  }

  #left(word: string): string {
    let active = 0;
    let backup = 0;
    for (const s of this.#backend.servers) if (s.available) (s.backup ? backup++ : active++);
    return `${active} active and ${backup} backup servers ${word}.`;
  }

  stop(): void {
    if (this.#recoverTimer) clearTimeout(this.#recoverTimer);
  }
}

type PassiveServerConfig = { passiveHealth?: Static<typeof serverPassiveSchema> };

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.4',
  core: '>=0.1.2 <1.0.0',
  description: 'Passive health checks: counts connection errors, resets, timeouts and 5xx per server from live traffic.',
  schema: {
    backend: { passiveHealth: passiveHealthSchema },
    defaults: { passiveHealth: passiveHealthSchema },
    server: { passiveHealth: serverPassiveSchema },
  },
  apply(gateway: GatewayApi) {
    const logger = gateway.logger.child({ plugin: NAME });
    const defaults = gateway.config.defaults.passiveHealth as PassiveHealthOptions | undefined;
    const observers = new Map<ServerState, ServerObserver>();
    for (const be of gateway.backends.values()) {
      const bo = (be.config.passiveHealth as PassiveHealthOptions | undefined) ?? defaults;
      for (const s of be.servers) {
        const so = (s.config as typeof s.config & PassiveServerConfig).passiveHealth;
        if (so === false || (bo === undefined && (so === undefined || so === true))) continue;
        const base: PassiveHealthOptions = bo ?? { observe: 'layer7', errorLimit: 10, onError: 'fail-check', recover: 10_000 };
        const o = typeof so === 'object' ? { ...base, ...so } : base;
        observers.set(s, new ServerObserver(s, be, o, logger));
      }
    }
    if (observers.size === 0) return;
    gateway.hooks.log.tap({ name: NAME, stage: Stage.OBSERVE }, (ex: Exchange) => {
      if (ex.retries > 0) {
        const failed = ex.vars.get(FAILED_ATTEMPTS_VAR) as Array<{ server: ServerState; code: string; status: number }> | undefined;
        if (failed !== undefined) {
          for (const f of failed) {
            const ob = observers.get(f.server);
            if (ob === undefined) continue;
            if (f.status > 0) {
              if (ob.isErrorStatus(f.status)) ob.error(`status ${f.status}`);
            } else if (LAYER4_CODES.has(f.code)) ob.error(f.code);
          }
        }
      }
      const server = ex.server;
      if (server === null) return;
      const ob = observers.get(server);
      if (ob === undefined) return;
      const err = ex.error;
      if (err !== null) {
        if (LAYER4_CODES.has(err.code)) ob.error(err.code);
        return; // other errors (client abort, queue…) say nothing about the server
      }
      if (ex.kind === 'http') {
        if (ex.status === 0) return;
        if (ob.isErrorStatus(ex.status)) ob.error(`status ${ex.status}`);
        else ob.success();
      } else if (ex.termination === 'ok') {
        ob.success();
      }
    });
    gateway.onStop(() => {
      for (const ob of observers.values()) ob.stop();
    });
  },
});

export default plugin;
