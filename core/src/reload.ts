import pino from 'pino';
import { formatError, type Logger, type ReloadResult, type ServerChange } from '@switchyard/sdk';
import { ConfigErrors, loadConfig, type ConfigInput, type LoadedConfig } from './config/load';
import { Gateway } from './gateway';
import { createLogger } from './log-format';
import { carryOver, snapshotOf, type ServerSnapshot } from './reload-state';

/**
 * Hitless reload in one process: each (re)load builds a new Gateway generation beside the
 * running one (its own DI child container, plugins, hooks and state). A config or a start-up
 * that fails leaves the running generation serving and says why. One that succeeds takes over
 * the running generation's listening sockets for the binds that stay (no port ever closes),
 * opens the new binds, and the old generation stops: it closes the binds that went away,
 * finishes its in-flight requests (answered with `Connection: close`, HTTP/2 sessions get
 * GOAWAY) and closes its idle keep-alive connections within `global.gracePeriod`.
 */

export interface ReloaderOptions {
  /** Where every (re)load reads the config: a file is read again on each reload. */
  input: ConfigInput;
  /** The --log-level logger; without one each generation logs at its config's `global.logLevel`. */
  logger?: Logger;
  /** Logs what happens before a config is known (the first load's problems). */
  baseLogger: Logger;
}

/** A refused config or a failed start, as `switchyard reload --wait` prints it. */
export function errorLines(err: unknown): string[] {
  const list = err instanceof ConfigErrors ? err.errors : [err];
  return list.map((e) => {
    let line = formatError(e);
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Error && !line.includes(cause.message)) line += ` (caused by: ${cause.message})`;
    return line;
  });
}

export class Reloader {
  readonly #opts: ReloaderOptions;
  #current!: Gateway;
  #generation = 0;
  readonly #states: Record<string, ServerSnapshot> = {};
  readonly #draining = new Set<Promise<void>>();
  #running: Promise<ReloadResult> | null = null;
  #queued: Promise<ReloadResult> | null = null;
  #stopping = false;

  private constructor(opts: ReloaderOptions) {
    this.#opts = opts;
  }

  /** Loads the config and starts generation 1 (throws what the config or start-up got wrong). */
  static async start(opts: ReloaderOptions): Promise<Reloader> {
    const r = new Reloader(opts);
    const loaded = loadConfig(opts.input, { logger: opts.baseLogger });
    for (const w of loaded.warnings) opts.baseLogger.warn(w);
    const gw = await Gateway.prepare(loaded, { logger: r.#loggerFor(loaded), reload: () => r.reload() });
    try {
      await gw.listen();
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    r.#serving(gw);
    return r;
  }

  /** The generation that takes new connections. */
  get gateway(): Gateway {
    return this.#current;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Old generations still finishing their work. */
  get draining(): number {
    return this.#draining.size;
  }

  /**
   * Reloads the config. A request made while a reload runs gets the one after it (which
   * reads the file as it is then), shared by every request made meanwhile.
   */
  reload(): Promise<ReloadResult> {
    if (this.#stopping) return Promise.resolve({ ok: false, message: 'stopping', errors: [] });
    if (this.#running === null) {
      this.#running = this.#doReload().finally(() => (this.#running = null));
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = null;
      return this.reload();
    });
    return this.#queued;
  }

  /** Stops the serving generation within `graceMs` and waits for the draining ones. */
  async stop(graceMs?: number): Promise<void> {
    this.#stopping = true;
    await this.#running?.catch(() => undefined);
    await this.#current.stop(graceMs);
    await Promise.all([...this.#draining]);
  }

  #loggerFor(loaded: LoadedConfig): Logger {
    return this.#opts.logger ?? createLogger(loaded.config.global.logLevel);
  }

  #serving(gw: Gateway): void {
    this.#generation++;
    this.#current = gw;
    gw.events.on('server-change', (change: ServerChange) => {
      const snap = snapshotOf(change);
      if (snap) this.#states[change.server.id] = snap;
    });
  }

  async #doReload(): Promise<ReloadResult> {
    const old = this.#current;
    const log = old.logger;
    const was = this.#generation;
    let loaded: LoadedConfig;
    try {
      loaded = loadConfig(this.#opts.input, { logger: log });
    } catch (err) {
      const errors = errorLines(err);
      log.error({ errors }, `reload refused: ${errors.join('; ')}`);
      return { ok: false, message: `the new config is invalid; generation ${was} keeps serving`, errors };
    }
    for (const w of loaded.warnings) log.warn(w);
    let next: Gateway | undefined;
    try {
      next = await Gateway.prepare(loaded, { logger: this.#loggerFor(loaded), reload: () => this.reload() });
      carryOver(next, this.#states);
      await next.listen({ inherit: old.listeningServers(), pluginSockets: old.pluginSockets() });
    } catch (err) {
      await next?.stop(0).catch(() => undefined);
      const errors = errorLines(err);
      log.error({ errors }, `reload failed, generation ${was} keeps serving: ${errors.join('; ')}`);
      return { ok: false, message: `the new config could not start; generation ${was} keeps serving`, errors };
    }
    this.#serving(next);
    const grace = loaded.config.global.gracePeriod;
    const drain: Promise<void> = old.stop(grace).then(
      () => {
        this.#draining.delete(drain);
        log.info(`generation ${was} stopped`);
      },
      (err: unknown) => {
        this.#draining.delete(drain);
        log.error({ err }, `generation ${was} did not stop cleanly`);
      },
    );
    this.#draining.add(drain);
    for (const fe of next.frontends.values()) {
      for (const a of fe.addresses) next.logger.info({ frontend: fe.name, address: a.host, port: a.port, tls: a.tls }, `frontend ${fe.name} listening on ${a.host}:${a.port}`);
    }
    const message = `reload done: generation ${this.#generation} serving, generation ${was} draining (grace ${grace} ms)`;
    next.logger.info({ generation: this.#generation }, message);
    return { ok: true, message, errors: [] };
  }
}
