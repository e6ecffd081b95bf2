import cluster, { type Worker } from 'node:cluster';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { CLUSTER_MASTER_SLOT, type ClusterMasterSetup, type Logger, type ReloadResult, type ServerChange } from '@switchyard/sdk';
import { loadConfig } from './config/load';
import { Gateway } from './gateway';
import { createLogger, setLogFormat, type LogFormat } from './log-format';
import { errorLines } from './reload';
import { serveControl, type ControlChannel } from './reload-control';
import { carryOver, snapshotOf, type ServerSnapshot } from './reload-state';

/**
 * Master/worker process model (node:cluster). The master validates configs, forks workers,
 * replaces the ones that die, and reloads without dropping a connection: new workers start
 * on the new config and take over the shared listening sockets before the old ones stop
 * accepting and drain. The master never proxies.
 */

/** The master's CLI flags that shape how a config is read and logged: every worker gets them. */
export interface WorkerFlags {
  adapter?: string;
  lenient?: boolean;
  /** --log-level; without it workers log at the config's global.logLevel. */
  logLevel?: string;
  /** --log-format as the master resolved it (a worker's stdout is the master's). */
  logFormat?: LogFormat;
}

type ToWorker =
  | { type: 'config'; file: string; text: string; flags: WorkerFlags; states: Record<string, ServerSnapshot> }
  | { type: 'drain'; graceMs: number }
  | { type: 'server-state'; id: string; state: ServerSnapshot }
  | { type: 'reopen-logs' }
  | { type: 'reload-result'; requestId: number; result: ReloadResult };

type FromWorker =
  | { type: 'want-config' }
  | { type: 'listening'; addresses: Array<{ frontend: string; host: string; port: number }> }
  | { type: 'server-state'; id: string; state: ServerSnapshot }
  | { type: 'reload'; requestId: number }
  /** A draining worker has closed its listeners: new connections go to the others. */
  | { type: 'draining' }
  | { type: 'failed'; message: string };

const ROLE_ENV = 'SWITCHYARD_ROLE';

export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[ROLE_ENV] === 'worker';
}

interface WorkerInfo {
  worker: Worker;
  generation: number;
  listening: boolean;
  draining: boolean;
}

export interface MasterOptions {
  file: string;
  workers: number;
  logger: Logger;
  /** How the config is read and logged, here and in every worker. */
  flags: WorkerFlags;
  /** Extra CLI arguments the workers get. */
  workerArgs: string[];
  /** Called once the first generation listens (tests, the CLI's banner). */
  onReady?: (addresses: Array<{ frontend: string; host: string; port: number }>) => void;
}

export class Master {
  readonly #opts: MasterOptions;
  readonly #log: Logger;
  readonly #workers = new Map<number, WorkerInfo>();
  readonly #states: Record<string, ServerSnapshot> = {};
  #generation = 0;
  #configText = '';
  #graceMs = 10_000;
  #pidFile: string | undefined;
  #stopping = false;
  #reloading: Promise<ReloadResult> | null = null;
  #queuedReload: Promise<ReloadResult> | null = null;
  #control: ControlChannel | null = null;
  #recentDeaths: number[] = [];
  #done!: (code: number) => void;

  constructor(opts: MasterOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ role: 'master' });
  }

  /** Validates the config, starts the workers; resolves with the exit code when stopped. */
  async run(): Promise<number> {
    const first = this.#validate();
    if (!first.ok) {
      for (const e of first.errors) process.stderr.write(`error: ${e}\n`);
      return 1;
    }
    // Workers accept on the shared listening socket themselves (SCHED_NONE): with the
    // master handing out connections (round-robin), a connection in transit to a worker
    // that is closing its listener during a reload can be lost. NODE_CLUSTER_SCHED_POLICY=rr
    // restores node's default.
    if (process.env.NODE_CLUSTER_SCHED_POLICY !== 'rr') cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: process.argv[1], args: [...process.argv.slice(2), ...this.#opts.workerArgs], silent: false });
    await this.#setupPlugins();
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    cluster.on('message', (worker, msg: FromWorker) => this.#onMessage(worker, msg));
    const started = await this.#startGeneration();
    if (!started.ok) {
      this.#log.error(started.message);
      await this.#stopAll(0);
      return 1;
    }
    if (this.#pidFile) fs.writeFileSync(this.#pidFile, `${process.pid}\n`);
    this.#control = await serveControl(() => this.reload(), this.#log).catch((err: unknown) => {
      this.#log.warn({ err }, 'no control socket: `switchyard reload --wait` cannot reach this master');
      return null;
    });
    this.#log.info({ workers: this.#opts.workers, pid: process.pid }, `master ${process.pid}: ${this.#opts.workers} workers serving`);
    const done = new Promise<number>((resolve) => (this.#done = resolve));
    process.on('SIGHUP', () => void this.reload());
    process.once('SIGTERM', () => void this.#shutdown('SIGTERM', this.#graceMs));
    process.once('SIGINT', () => void this.#shutdown('SIGINT', this.#graceMs));
    // Soft stop: stop listening, let everything in flight finish however long it takes.
    process.once('SIGUSR1', () => void this.#shutdown('SIGUSR1', 24 * 3_600_000));
    process.on('SIGUSR2', () => this.#broadcast({ type: 'reopen-logs' }));
    return done;
  }

  /** Runs every plugin's `cluster.master` set-up (first config only), before forking. */
  async #setupPlugins(): Promise<void> {
    const loaded = loadConfig(this.#input(this.#configText), { logger: this.#log });
    for (const e of loaded.slots.entries.filter((x) => x.slot === CLUSTER_MASTER_SLOT)) {
      try {
        await loaded.slots.get<ClusterMasterSetup>(CLUSTER_MASTER_SLOT, e.name)?.setup();
        this.#log.info({ plugin: e.owner }, `master set-up done: ${e.name}`);
      } catch (err) {
        this.#log.error({ err, plugin: e.owner }, `master set-up ${e.name} failed`);
      }
    }
  }

  #validate(): ReloadResult {
    let text: string;
    try {
      text = fs.readFileSync(this.#opts.file, 'utf8');
    } catch (err) {
      return { ok: false, message: `cannot read ${this.#opts.file}`, errors: [(err as Error).message] };
    }
    try {
      const loaded = loadConfig(this.#input(text), { logger: this.#log });
      for (const w of loaded.warnings) this.#log.warn(w);
      this.#configText = text;
      this.#graceMs = loaded.config.global.gracePeriod;
      const pidFile = loaded.config.global.pidFile as string | undefined;
      this.#pidFile = pidFile ? path.resolve(path.dirname(this.#opts.file), pidFile) : undefined;
      return { ok: true, message: 'valid', errors: [] };
    } catch (err) {
      return { ok: false, message: 'the new config is invalid; the running one keeps serving', errors: errorLines(err) };
    }
  }

  #input(text: string): { file: string; text: string; adapter?: string; lenient?: boolean } {
    return { file: this.#opts.file, text, adapter: this.#opts.flags.adapter, lenient: this.#opts.flags.lenient };
  }

  #fork(generation: number): WorkerInfo {
    const worker = cluster.fork({ [ROLE_ENV]: 'worker', SWITCHYARD_GENERATION: String(generation) });
    const info: WorkerInfo = { worker, generation, listening: false, draining: false };
    this.#workers.set(worker.id, info);
    return info;
  }

  /** Forks a full generation and waits until every new worker listens (or one fails). */
  #startGeneration(): Promise<ReloadResult> {
    const generation = ++this.#generation;
    const infos = Array.from({ length: this.#opts.workers }, () => this.#fork(generation));
    return new Promise<ReloadResult>((resolve) => {
      let pending = infos.length;
      const timer = setTimeout(() => finish({ ok: false, message: `generation ${generation} did not start within 60 s`, errors: [] }), 60_000);
      const finish = (r: ReloadResult): void => {
        clearTimeout(timer);
        for (const i of infos) {
          i.worker.off('message', onMessage);
          i.worker.off('exit', onExit);
        }
        if (!r.ok) for (const i of infos) if (!i.worker.isDead()) i.worker.kill('SIGKILL');
        resolve(r);
      };
      const onMessage = (msg: FromWorker): void => {
        if (msg.type === 'failed') finish({ ok: false, message: `a new worker failed to start: ${msg.message}`, errors: [msg.message] });
        else if (msg.type === 'listening' && --pending === 0) finish({ ok: true, message: `generation ${generation} serving`, errors: [] });
      };
      const onExit = (): void => finish({ ok: false, message: `a worker of generation ${generation} exited while starting`, errors: [] });
      for (const i of infos) {
        i.worker.on('message', onMessage);
        i.worker.once('exit', onExit);
      }
    });
  }

  /** SIGHUP, `switchyard reload`, or a worker's runtime API: validate, start new workers, drain old ones. */
  reload(): Promise<ReloadResult> {
    if (this.#stopping) return Promise.resolve({ ok: false, message: 'stopping', errors: [] });
    if (this.#reloading === null) {
      this.#reloading = this.#doReload().finally(() => (this.#reloading = null));
      return this.#reloading;
    }
    // Asked during a reload: one more after it (it reads the file as it is then).
    this.#queuedReload ??= this.#reloading.then(() => {
      this.#queuedReload = null;
      return this.reload();
    });
    return this.#queuedReload;
  }

  async #doReload(): Promise<ReloadResult> {
    const validation = this.#validate();
    if (!validation.ok) {
      this.#log.error({ errors: validation.errors }, `reload refused: ${validation.errors.join('; ')}`);
      return validation;
    }
    const old = [...this.#workers.values()].filter((w) => !w.draining);
    this.#log.info(`reload: starting generation ${this.#generation + 1}`);
    const started = await this.#startGeneration();
    if (!started.ok) {
      this.#log.error(`reload failed, the running workers keep serving: ${started.message}`);
      return started;
    }
    // Done once the old workers stopped accepting: from then on new connections reach the new generation only.
    await Promise.all(old.map((w) => this.#drain(w, this.#graceMs)));
    this.#log.info(`reload done: generation ${this.#generation} serving, ${old.length} old workers draining`);
    return { ok: true, message: `reloaded: generation ${this.#generation} serving`, errors: [] };
  }

  /** Resolves when the worker says it stopped accepting (or exits, or 5 s pass). */
  #drain(info: WorkerInfo, graceMs: number): Promise<void> {
    if (info.draining || info.worker.isDead()) return Promise.resolve();
    info.draining = true;
    const closed = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        info.worker.off('message', onMessage);
        info.worker.off('exit', done);
        resolve();
      };
      const onMessage = (msg: FromWorker): void => {
        if (msg?.type === 'draining') done();
      };
      const timer = setTimeout(done, 5_000);
      info.worker.on('message', onMessage);
      info.worker.once('exit', done);
    });
    this.#send(info.worker, { type: 'drain', graceMs });
    // A worker that does not finish in time plus a margin is ended.
    setTimeout(() => {
      if (!info.worker.isDead()) info.worker.kill('SIGKILL');
    }, graceMs + 5_000).unref();
    return closed;
  }

  #send(worker: Worker, msg: ToWorker): void {
    if (worker.isConnected()) worker.send(msg);
  }

  #broadcast(msg: ToWorker, except?: Worker): void {
    for (const i of this.#workers.values()) if (i.worker !== except && !i.draining) this.#send(i.worker, msg);
  }

  #onMessage(worker: Worker, msg: FromWorker): void {
    const info = this.#workers.get(worker.id);
    if (!info || typeof msg !== 'object' || msg === null) return;
    switch (msg.type) {
      case 'want-config':
        this.#send(worker, { type: 'config', file: this.#opts.file, text: this.#configText, flags: this.#opts.flags, states: this.#states });
        break;
      case 'listening':
        info.listening = true;
        if (info.generation === 1) this.#opts.onReady?.(msg.addresses);
        break;
      case 'server-state':
        // Runtime changes made on one worker reach every worker, and outlive reloads.
        this.#states[msg.id] = msg.state;
        this.#broadcast({ type: 'server-state', id: msg.id, state: msg.state }, worker);
        break;
      case 'reload':
        void this.reload().then((result) => this.#send(worker, { type: 'reload-result', requestId: msg.requestId, result }));
        break;
      default:
        break;
    }
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const info = this.#workers.get(worker.id);
    this.#workers.delete(worker.id);
    if (this.#stopping) {
      if (this.#workers.size === 0) this.#finish();
      return;
    }
    if (!info || info.draining || !info.listening) return;
    const now = Date.now();
    this.#recentDeaths = this.#recentDeaths.filter((t) => now - t < 10_000);
    this.#recentDeaths.push(now);
    const delay = this.#recentDeaths.length > 5 ? 1_000 : 0;
    this.#log.error({ worker: worker.process.pid, code, signal }, `worker ${worker.process.pid} died (${signal ?? `exit ${code}`}); starting a replacement${delay ? ' after 1 s (repeated deaths)' : ''}`);
    setTimeout(() => {
      if (this.#stopping) return;
      const replacement = this.#fork(info.generation);
      replacement.worker.on('message', (m: FromWorker) => {
        if (m.type === 'listening') this.#log.info({ worker: replacement.worker.process.pid }, `replacement worker ${replacement.worker.process.pid} serving`);
      });
    }, delay);
  }

  async #shutdown(signal: string, graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#log.info({ signal }, `${signal}: stopping ${this.#workers.size} workers gracefully`);
    await this.#stopAll(graceMs);
  }

  #stopAll(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#workers.size === 0) {
      this.#finish();
      return Promise.resolve();
    }
    for (const i of this.#workers.values()) {
      i.draining = false;
      void this.#drain(i, graceMs);
    }
    return Promise.resolve();
  }

  #finish(): void {
    if (this.#pidFile) fs.rmSync(this.#pidFile, { force: true });
    this.#control?.close();
    this.#done?.(0);
  }
}

/** Worker side: get the validated config from the master, serve, follow its orders. */
export async function runWorker(cliLogger: Logger): Promise<number> {
  const send = (msg: FromWorker): void => {
    if (process.connected) process.send!(msg);
  };
  const config = await new Promise<Extract<ToWorker, { type: 'config' }>>((resolve) => {
    const onMsg = (msg: ToWorker): void => {
      if (msg.type === 'config') {
        process.off('message', onMsg);
        resolve(msg);
      }
    };
    process.on('message', onMsg);
    send({ type: 'want-config' });
  });
  let gw: Gateway;
  let logger = cliLogger;
  try {
    const { adapter, lenient, logLevel } = config.flags;
    if (config.flags.logFormat) setLogFormat(config.flags.logFormat);
    const loaded = loadConfig({ file: config.file, text: config.text, adapter, lenient }, { logger });
    logger = createLogger(logLevel ?? loaded.config.global.logLevel);
    gw = await Gateway.prepare(loaded, { logger, reload: () => requestReload() });
    carryOver(gw, config.states);
    await gw.listen();
  } catch (err) {
    const message = errorLines(err).join('; ');
    send({ type: 'failed', message });
    logger.error({ err }, `worker failed to start: ${message}`);
    return 1;
  }
  let remote = false;
  gw.events.on('server-change', (change: ServerChange) => {
    if (remote) return;
    const state = snapshotOf(change);
    if (state) send({ type: 'server-state', id: change.server.id, state });
  });
  const pendingReloads = new Map<number, (r: ReloadResult) => void>();
  let nextRequest = 1;
  const requestReload = (): Promise<ReloadResult> =>
    new Promise((resolve) => {
      const id = nextRequest++;
      pendingReloads.set(id, resolve);
      send({ type: 'reload', requestId: id });
    });
  const addresses = [...gw.frontends.values()].flatMap((fe) => fe.addresses.map((a) => ({ frontend: fe.name, host: a.host, port: a.port })));
  send({ type: 'listening', addresses });
  // The master coordinates stops: a terminal's Ctrl-C reaches the whole process group.
  process.on('SIGINT', () => undefined);
  process.on('SIGUSR2', () => undefined);
  return await new Promise<number>((resolve) => {
    const stop = (graceMs: number): void => {
      gw.stop(graceMs).then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('message', (msg: ToWorker) => {
      switch (msg.type) {
        case 'drain':
          // stop() closes the listeners before its first await.
          stop(msg.graceMs);
          send({ type: 'draining' });
          break;
        case 'server-state':
          remote = true;
          try {
            carryOver(gw, { [msg.id]: msg.state });
          } finally {
            remote = false;
          }
          break;
        case 'reopen-logs':
          gw.events.emit('reopen-logs');
          break;
        case 'reload-result':
          pendingReloads.get(msg.requestId)?.(msg.result);
          pendingReloads.delete(msg.requestId);
          break;
        default:
          break;
      }
    });
    process.once('SIGTERM', () => stop(gw.config.global.gracePeriod));
    // If the master dies, stop serving rather than linger as an orphan.
    process.once('disconnect', () => stop(gw.config.global.gracePeriod));
  });
}
