import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { GatewayApi, Logger } from '@switchyard/sdk';
import type { StatsCollector } from './collector';
import { toCsv } from './csv';
import { StatsErrors } from './errors';
import { renderPage } from './page';

/** Bytes an SSE client may leave unread before it is dropped. */
const MAX_BUFFERED = 1024 * 1024;

export interface StatsConfig {
  enabled: boolean;
  /** `host:port` the stats page listens on. */
  listen: string;
  path: string;
  title: string;
  auth?: { username: string; password: string; realm: string };
  historySeconds: number;
  latencyWindow: number;
}

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
  readonly #pages = new Map<string, string>();
  readonly #expectedAuth: string | null;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #streams = new Set<http.ServerResponse>();
  #pushQueued = false;
  #address: { host: string; port: number; url: string } | null = null;

  constructor(gateway: GatewayApi, collector: StatsCollector, config: StatsConfig) {
    this.#config = config;
    this.#collector = collector;
    this.#logger = gateway.logger;
    this.#expectedAuth = config.auth ? `${config.auth.username}:${config.auth.password}` : null;
    this.#server = http.createServer((req, res) => this.serve(req, res, this.#config.path));
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

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = splitListen(this.#config.listen);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(StatsErrors.LISTEN.with({ cause: err }, this.#config.listen, err.message));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const a = this.#server.address() as AddressInfo;
    const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    this.#address = { host: a.address, port: a.port, url: `http://${shown}:${a.port}${this.#config.path}` };
    return this.#address;
  }

  async close(): Promise<void> {
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }

  #authorized(req: http.IncomingMessage): boolean {
    if (this.#expectedAuth === null) return true;
    const h = req.headers.authorization;
    if (!h || !/^basic /i.test(h)) return false;
    const given = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    return sameSecret(given, this.#expectedAuth);
  }

  #page(base: string): string {
    let page = this.#pages.get(base);
    if (page === undefined) {
      page = renderPage({ path: base, title: this.#config.title, historySeconds: this.#config.historySeconds });
      this.#pages.set(base, page);
    }
    return page;
  }

  /** Whether `path` is the page or one of its `;csv` / `;json` / `;events` forms under `base`. */
  static matches(path: string, base: string): boolean {
    if (!path.startsWith(base)) return false;
    const c = path.charCodeAt(base.length);
    return Number.isNaN(c) || c === 59 /* ; */ || (c === 47 /* / */ && path.length === base.length + 1);
  }

  /** Answers one request for the page under `base` (its own listener, or a frontend's route tap). */
  serve(req: http.IncomingMessage, res: http.ServerResponse, base: string): void {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      if (!this.#authorized(req)) {
        const realm = (this.#config.auth?.realm ?? 'stats').replace(/["\\\r\n]/g, '');
        res.writeHead(401, { 'www-authenticate': `Basic realm="${realm}", charset="UTF-8"`, 'content-type': 'text/plain' }).end('authentication required\n');
        return;
      }
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const target = q === -1 ? url : url.slice(0, q);
      const query = q === -1 ? '' : url.slice(q + 1);
      if (!target.startsWith(base)) return this.#notFound(res, base);
      const rest = target.slice(base.length);
      const noStore = { 'cache-control': 'no-store' };
      if (rest === '' || rest === '/') {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          ...noStore,
          // Self-contained: nothing may load from elsewhere.
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
        });
        res.end(req.method === 'HEAD' ? undefined : this.#page(base));
        return;
      }
      if (rest === ';csv' || rest === ';csv;norefresh') {
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', ...noStore });
        res.end(req.method === 'HEAD' ? undefined : toCsv(this.#collector.snapshot()));
        return;
      }
      if (rest === ';json') {
        const history = /(^|&)history(=|&|$)/.test(query);
        res.writeHead(200, { 'content-type': 'application/json', ...noStore });
        res.end(req.method === 'HEAD' ? undefined : JSON.stringify(this.#collector.snapshot(history)));
        return;
      }
      if (rest === ';events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', ...noStore, 'x-accel-buffering': 'no' });
        res.write('retry: 2000\n\n');
        this.#streams.add(res);
        res.once('close', () => this.#streams.delete(res));
        res.write(this.#message(false));
        return;
      }
      this.#notFound(res, base);
    } catch (err) {
      this.#logger.error({ err }, 'stats page request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }

  #notFound(res: http.ServerResponse, base: string): void {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; the stats page is at ${base}\n`);
  }

  #message(withPoint: boolean): string {
    const payload = { snapshot: this.#collector.snapshot(), point: withPoint ? this.#collector.point() : null };
    return `event: stats\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  #push(withPoint: boolean): void {
    if (this.#streams.size === 0) return;
    const msg = this.#message(withPoint);
    for (const s of this.#streams) {
      // A client that does not read (a stuck tab) is dropped instead of buffering without bound.
      if (s.writableLength > MAX_BUFFERED) {
        this.#streams.delete(s);
        s.destroy();
        continue;
      }
      s.write(msg);
    }
  }
}
