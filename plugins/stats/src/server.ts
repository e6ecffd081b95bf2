import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { endConnections, type GatewayApi, type Logger, type PluginListener } from '@switchyard/sdk';
import type { StatsConfig } from './schema';
import type { StatsCollector } from './collector';
import { toCsv } from './csv';
import { StatsErrors } from './errors';
import { renderPage, renderTables, type AdminForms } from './page';

/** Bytes an SSE client may leave unread before it is dropped. */
const MAX_BUFFERED = 1024 * 1024;

export type { StatsConfig };

/** What one request to the page may do. */
export interface ServeContext {
  /** Show admin forms and accept `;admin` posts (auth is still required). */
  admin: boolean;
}

/** Largest `;admin` form body read. */
const MAX_FORM = 8192;
const ADMIN_STATES = new Set(['ready', 'drain', 'maint']);

/** Splits `host:port`, `[v6]:port` or `port`. */
export function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (m) return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
  return { host: '127.0.0.1', port: Number(listen) };
}

function sameSecret(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

/** The stats HTTP server: HTML page, `;csv`, `;json`, `;events` (server-sent events). */
export class StatsServer {
  readonly #config: StatsConfig;
  readonly #collector: StatsCollector;
  readonly #logger: Logger;
  readonly #expectedAuth: string | null;
  readonly #gateway: GatewayApi;
  /** Anti-CSRF token of the admin forms (a cross-site page cannot read it). */
  readonly #token = crypto.randomBytes(18).toString('base64url');
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  /** Open `;events` streams, and whether each may see the admin forms. */
  readonly #streams = new Map<Writable, { base: string; admin: boolean }>();
  #pushQueued = false;
  #address: { host: string; port: number; url: string } | null = null;

  constructor(gateway: GatewayApi, collector: StatsCollector, config: StatsConfig) {
    this.#config = config;
    this.#gateway = gateway;
    this.#collector = collector;
    this.#logger = gateway.logger;
    this.#expectedAuth = config.auth ? `${config.auth.username}:${config.auth.password}` : null;
    this.#server = http.createServer((req, res) => this.serve(fromNode(req, res), this.#config.path, { admin: this.#config.admin }));
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    collector.onTick(() => this.#push(true));
    // A server going DOWN shows at once, not at the next tick.
    gateway.events.on('server-change', () => {
      if (this.#pushQueued || this.#streams.size === 0) return;
      this.#pushQueued = true;
      setImmediate(() => {
        this.#pushQueued = false;
        this.#push(false);
      });
    });
  }

  get address(): { host: string; port: number; url: string } | null {
    return this.#address;
  }

  #opening: Promise<PluginListener> | null = null;
  #listener: PluginListener | null = null;

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = splitListen(this.#config.listen);
    // The core owns the port (a reload hands it to the next generation without closing it).
    // Kept so a close() that comes before the listener is open waits for it (else the port stays open).
    this.#opening = this.#gateway.openListener('@switchyard/plugin-stats', { host, port }, (s) => this.#server.emit('connection', s));
    try {
      this.#listener = await this.#opening;
    } catch (err) {
      throw StatsErrors.LISTEN.with({ cause: err }, this.#config.listen, (err as Error).message);
    }
    // node:http checks request timeouts only once 'listening' was emitted.
    this.#server.emit('listening');
    const a = this.#listener.address as { host: string; port: number; family: string };
    const shown = a.family === 'IPv6' ? `[${a.host}]` : a.host;
    this.#address = { host: a.host, port: a.port, url: `http://${shown}:${a.port}${this.#config.path}` };
    return this.#address;
  }

  async close(): Promise<void> {
    for (const s of this.#streams.keys()) s.end();
    this.#streams.clear();
    await this.#opening?.catch(() => undefined);
    if (!this.#listener) return;
    await this.#listener.close();
    this.#listener = null;
    this.#server.close();
    await endConnections(this.#sockets, 2000, () => this.#server.closeIdleConnections());
  }

  #authorized(req: StatsRequest): boolean {
    if (this.#expectedAuth === null) return true;
    const h = req.headers.authorization;
    if (!h || !/^basic /i.test(h)) return false;
    const given = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    return sameSecret(given, this.#expectedAuth);
  }

  /** Whether `path` is the page or one of its `;csv` / `;json` / `;events` forms under `base`. */
  static matches(path: string, base: string): boolean {
    if (!path.startsWith(base)) return false;
    const c = path.charCodeAt(base.length);
    return Number.isNaN(c) || c === 59 /* ; */ || (c === 47 /* / */ && path.length === base.length + 1);
  }

  /** Answers one request for the page under `base` (its own listener, or a frontend's route tap). */
  serve(req: StatsRequest, base: string, ctx: ServeContext): void {
    try {
      const url = req.url;
      const q = url.indexOf('?');
      const target = q === -1 ? url : url.slice(0, q);
      const query = q === -1 ? '' : url.slice(q + 1);
      const rest = target.startsWith(base) ? target.slice(base.length) : null;
      const post = rest === ';admin';
      if (post ? req.method !== 'POST' : req.method !== 'GET' && req.method !== 'HEAD') {
        req.answer(405, { allow: post ? 'POST' : 'GET, HEAD', 'content-type': 'text/plain' })?.end('method not allowed\n');
        return;
      }
      if (!this.#authorized(req)) {
        const realm = (this.#config.auth?.realm ?? 'stats').replace(/["\\\r\n]/g, '');
        req.answer(401, { 'www-authenticate': `Basic realm="${realm}", charset="UTF-8"`, 'content-type': 'text/plain' })?.end('authentication required\n');
        return;
      }
      if (rest === null) return this.#notFound(req, base);
      // Admin needs authentication as well as permission: without `auth` nobody acts.
      const forms: AdminForms | null = ctx.admin && this.#expectedAuth !== null ? { token: this.#token } : null;
      const noStore = { 'cache-control': 'no-store' };
      if (rest === '' || rest === '/') {
        const result = new URLSearchParams(query).get('result') ?? undefined;
        const out = req.answer(200, {
          'content-type': 'text/html; charset=utf-8',
          ...noStore,
          // Self-contained: nothing may load from elsewhere; forms post only here.
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; form-action 'self'",
        });
        const page = { path: base, title: this.#config.title, historySeconds: this.#config.historySeconds };
        out?.end(req.method === 'HEAD' ? undefined : renderPage(page, this.#collector.snapshot(), forms, result));
        return;
      }
      if (rest === ';tables') {
        req.answer(200, { 'content-type': 'text/html; charset=utf-8', ...noStore })?.end(req.method === 'HEAD' ? undefined : renderTables(this.#collector.snapshot(), base, forms));
        return;
      }
      if (post) return this.#admin(req, base, forms);
      if (rest === ';csv' || rest === ';csv;norefresh') {
        req.answer(200, { 'content-type': 'text/csv; charset=utf-8', ...noStore })?.end(req.method === 'HEAD' ? undefined : toCsv(this.#collector.snapshot()));
        return;
      }
      if (rest === ';json') {
        const history = /(^|&)history(=|&|$)/.test(query);
        req.answer(200, { 'content-type': 'application/json', ...noStore })?.end(req.method === 'HEAD' ? undefined : JSON.stringify(this.#collector.snapshot(history)));
        return;
      }
      if (rest === ';events') {
        const out = req.answer(200, { 'content-type': 'text/event-stream', ...noStore, 'x-accel-buffering': 'no' });
        if (out === null) return;
        out.write('retry: 2000\n\n');
        const view = { base, admin: forms !== null };
        this.#streams.set(out, view);
        req.onClose(() => this.#streams.delete(out));
        out.write(this.#message(false, view));
        return;
      }
      this.#notFound(req, base);
    } catch (err) {
      this.#logger.error({ err }, 'stats page request failed');
      if (!req.headSent) req.answer(500, { 'content-type': 'text/plain' })?.end('internal error\n');
      else req.abort();
    }
  }

  /**
   * `POST <base>;admin` (a form of the page): `server=<backend>/<server>`, `action=ready|drain|maint`
   * or `action=weight` with `weight=<0-256>`, and the page's token. Applied through the core's
   * server state API (`setAdmin` / `setWeight`, as the runtime API does), so every listener of
   * `server-change` — under `--workers` the master, which passes it to every worker — sees it.
   */
  #admin(req: StatsRequest, base: string, forms: AdminForms | null): void {
    const answer = (status: number, text: string): void => {
      req.answer(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })?.end(`${text}\n`);
    };
    if (forms === null) return answer(403, this.#expectedAuth === null ? 'admin actions need stats.auth' : 'admin actions are not allowed here (stats admin)');
    // A form of another site cannot post here: browsers send Origin with a POST.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null' && new URL(origin).host !== req.headers.host) return answer(403, 'cross-origin admin request refused');
    let body = '';
    let size = 0;
    const stream = req.body;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      size += chunk.length;
      if (size > MAX_FORM) {
        answer(413, 'form too large');
        stream.destroy();
        return;
      }
      body += chunk;
    });
    stream.on('end', () => {
      if (req.headSent) return;
      const form = new URLSearchParams(body);
      const token = form.get('token') ?? '';
      if (!sameSecret(token, forms.token)) return answer(403, 'stale or missing form token: reload the page');
      const id = form.get('server') ?? '';
      const slash = id.indexOf('/');
      const server = slash > 0 ? this.#gateway.backends.get(id.slice(0, slash))?.server(id.slice(slash + 1)) : undefined;
      if (!server) return answer(404, `no server ${id}`);
      const action = form.get('action') ?? '';
      let done: string;
      if (ADMIN_STATES.has(action)) {
        server.setAdmin(action as 'ready' | 'drain' | 'maint', 'stats page');
        done = `${id}: ${action}`;
      } else if (action === 'weight') {
        const w = Number(form.get('weight'));
        if (!Number.isInteger(w) || w < 0 || w > 256) return answer(400, 'weight must be a whole number from 0 to 256');
        server.setWeight(w, 'stats page');
        done = `${id}: weight ${w}`;
      } else return answer(400, 'action must be ready, drain, maint or weight');
      this.#logger.info({ server: id, action, user: this.#config.auth?.username }, `stats page admin: ${done}`);
      // Post/redirect/get: the page again, saying what was done.
      req.answer(303, { location: `${base}?result=${encodeURIComponent(done)}`, 'cache-control': 'no-store' })?.end();
    });
  }

  #notFound(req: StatsRequest, base: string): void {
    req.answer(404, { 'content-type': 'text/plain' })?.end(`not found; the stats page is at ${base}\n`);
  }

  #message(withPoint: boolean, view: { base: string; admin: boolean }, snapshot = this.#collector.snapshot()): string {
    const payload = {
      snapshot,
      point: withPoint ? this.#collector.point() : null,
      tables: renderTables(snapshot, view.base, view.admin ? { token: this.#token } : null),
    };
    return `event: stats\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  #push(withPoint: boolean): void {
    if (this.#streams.size === 0) return;
    const snapshot = this.#collector.snapshot();
    // One message per kind of viewer (base path, admin or not), not one per client.
    const messages = new Map<string, string>();
    for (const [s, view] of this.#streams) {
      // A client that does not read (a stuck tab) is dropped instead of buffering without bound.
      if (s.writableLength > MAX_BUFFERED) {
        this.#streams.delete(s);
        s.destroy();
        continue;
      }
      const key = `${view.admin ? 1 : 0}${view.base}`;
      let msg = messages.get(key);
      if (msg === undefined) {
        msg = this.#message(withPoint, view, snapshot);
        messages.set(key, msg);
      }
      s.write(msg);
    }
  }
}

/**
 * One request to the page, from its own listener (node:http) or from a frontend's exchange
 * (the exchange API: no node:http objects).
 */
export interface StatsRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Readable;
  readonly headSent: boolean;
  /** Writes the head and returns where the body goes; null when the client is gone. */
  answer(status: number, headers: http.OutgoingHttpHeaders): Writable | null;
  onClose(fn: () => void): void;
  abort(): void;
}

/** The page's own listener: a node:http request and response as a StatsRequest. */
function fromNode(req: http.IncomingMessage, res: http.ServerResponse): StatsRequest {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    body: req,
    get headSent() {
      return res.headersSent;
    },
    answer(status, headers) {
      if (res.headersSent || res.destroyed) return null;
      return res.writeHead(status, headers);
    },
    onClose(fn) {
      res.once('close', fn);
    },
    abort() {
      res.destroy();
    },
  };
}
