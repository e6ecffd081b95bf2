import pino from 'pino';
import { Stage, type Exchange, type GatewayApi, type Logger, type GatewayEvents } from '@switchyard/sdk';
import type { AccessLogFormat } from './schema';
import { bytesIn, bytesOut, compileFormat, HTTPLOG, TCPLOG, type LineContext } from './format';
import type { Sink } from './sinks';

const PLUGIN = '@switchyard/plugin-access-log';

export type { AccessLogFormat };

/** One JSON access-log record (format: json). */
export interface AccessRecord {
  id: number;
  mode: 'http' | 'tcp';
  client: string;
  clientPort: number;
  frontend: string;
  backend: string | null;
  server: string | null;
  method?: string;
  host?: string;
  url?: string;
  httpVersion?: string;
  status?: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  termination: string;
  retries: number;
  error: string | null;
  start: string;
}

/** Writes one line per ended exchange from the `log` hook. */
export class AccessLog {
  readonly #sink: Sink;
  readonly #gateway: GatewayApi;
  readonly #frontends: ReadonlySet<string> | null;
  readonly #http: ((ex: Exchange, ctx: LineContext) => string) | null;
  readonly #tcp: ((ex: Exchange, ctx: LineContext) => string) | null;
  readonly #json: Logger | null;
  readonly #ctx: LineContext;
  #onSignal: (() => void) | null = null;
  #events: GatewayEvents | null = null;

  constructor(gateway: GatewayApi, sink: Sink, options: { format: AccessLogFormat; template?: string; frontends?: string[] }) {
    this.#gateway = gateway;
    this.#sink = sink;
    this.#frontends = options.frontends ? new Set(options.frontends) : null;
    this.#ctx = { ms: 0, gateway };
    const f = options.format;
    if (f === 'json') {
      this.#http = this.#tcp = null;
      this.#json = pino(
        { base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: () => ({ log: 'access' }) } },
        { write: (s: string) => sink.write(s.endsWith('\n') ? s.slice(0, -1) : s) },
      ) as unknown as Logger;
    } else {
      this.#json = null;
      const slots = gateway.slots;
      if (f === 'custom') {
        this.#http = this.#tcp = compileFormat(options.template ?? '', slots);
      } else {
        this.#http = compileFormat(f === 'tcplog' ? TCPLOG : HTTPLOG, slots);
        this.#tcp = compileFormat(f === 'httplog' ? HTTPLOG : TCPLOG, slots);
      }
    }
  }

  tap(): void {
    this.#gateway.hooks.log.tap({ name: PLUGIN, stage: Stage.OBSERVE + 10 }, (ex: Exchange) => this.log(ex));
  }

  log(ex: Exchange): void {
    if (this.#frontends !== null && !this.#frontends.has(ex.frontend.name)) return;
    const ms = Number(process.hrtime.bigint() - ex.startHr) / 1e6;
    if (this.#json !== null) {
      this.#json.info(this.record(ex, ms));
      return;
    }
    this.#ctx.ms = ms;
    this.#sink.write((ex.kind === 'http' ? this.#http! : this.#tcp!)(ex, this.#ctx));
  }

  record(ex: Exchange, ms: number): AccessRecord {
    const r: AccessRecord = {
      id: ex.id,
      mode: ex.kind,
      client: ex.clientAddress,
      clientPort: ex.clientPort,
      frontend: ex.frontend.name,
      backend: ex.backend?.name ?? null,
      server: ex.server?.name ?? null,
      bytesIn: bytesIn(ex),
      bytesOut: bytesOut(ex),
      durationMs: Math.round(ms * 1000) / 1000,
      termination: ex.termination,
      retries: ex.retries,
      error: ex.error?.code ?? null,
      start: new Date(ex.startTime).toISOString(),
    };
    if (ex.kind === 'http') {
      r.method = ex.method;
      r.host = ex.host;
      r.url = ex.url;
      r.httpVersion = ex.httpVersion;
      r.status = ex.status;
    }
    return r;
  }

  reopen(): void {
    this.#sink.reopen();
  }

  /**
   * Reopens the file when the gateway says log files should be reopened: SIGUSR2 to the
   * process (or to the master under --workers), as HAProxy operators expect — SIGUSR1 is
   * the soft stop.
   */
  listenForSignal(events: GatewayEvents): void {
    if (this.#onSignal) return;
    this.#onSignal = () => this.reopen();
    this.#events = events;
    events.on('reopen-logs', this.#onSignal);
  }

  async close(): Promise<void> {
    if (this.#onSignal) this.#events?.off('reopen-logs', this.#onSignal);
    this.#onSignal = null;
    await this.#sink.close();
  }
}
