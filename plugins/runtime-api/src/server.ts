import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { endConnections, RUNTIME_COMMAND_SLOT, SwitchyardError, type GatewayApi, type PluginListener, type RuntimeCommand } from '@switchyard/sdk';
import { BUILTIN_COMMANDS } from './commands';
import { RuntimeErrors } from './errors';
import { splitListen } from './listen';

export { splitListen };
import { levelAtLeast, levelOf, type Level } from './levels';

/** A bearer token and the level it grants. */
export interface ApiToken {
  token: string;
  level: Level;
}

/** Every command this gateway offers: the built-ins, then the `runtime.command` slot (which wins on a name clash). */
export function commandTable(gateway: GatewayApi): Map<string, RuntimeCommand & { source: string }> {
  const table = new Map<string, RuntimeCommand & { source: string }>();
  for (const [name, c] of Object.entries(BUILTIN_COMMANDS)) table.set(name, { ...c, run: c.run, source: '@switchyard/plugin-runtime-api' });
  for (const name of gateway.slots.names(RUNTIME_COMMAND_SLOT)) {
    const c = gateway.slots.get<RuntimeCommand>(RUNTIME_COMMAND_SLOT, name);
    if (c) table.set(name, { summary: c.summary, args: c.args, run: c.run.bind(c), source: 'runtime.command slot' });
  }
  return table;
}

/** Runs one command with string arguments; errors come back coded. */
export async function runCommand(gateway: GatewayApi, table: Map<string, RuntimeCommand>, name: string, args: Record<string, string>): Promise<unknown> {
  const c = table.get(name);
  if (!c) throw RuntimeErrors.UNKNOWN_COMMAND(name);
  try {
    return await c.run(gateway, args);
  } catch (err) {
    if (err instanceof SwitchyardError) throw err;
    throw RuntimeErrors.COMMAND_FAILED.with({ cause: err }, name, err instanceof Error ? err.message : String(err));
  }
}


const MAX_BODY = 64 * 1024;

/**
 * The runtime API over HTTP (JSON):
 *   GET  /v1/commands              the commands, their summaries and arguments
 *   POST /v1/commands/<name>       run one; body: JSON object of string arguments
 *   GET  /v1/servers, /v1/stats    shortcuts for `show servers` / `show stats`
 * Every request needs `Authorization: Bearer <token>`.
 */
export class RuntimeApiServer {
  readonly #gateway: GatewayApi;
  /** sha256 of each token → its level. */
  readonly #tokens: Array<{ hash: Buffer; level: Level }>;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  #table: Map<string, RuntimeCommand & { source: string }> | null = null;

  constructor(gateway: GatewayApi, tokens: string | ReadonlyArray<ApiToken>, readonly listenOn: string) {
    this.#gateway = gateway;
    const list = typeof tokens === 'string' ? [{ token: tokens, level: 'admin' as Level }] : tokens;
    this.#tokens = list.map((t) => ({ hash: crypto.createHash('sha256').update(t.token).digest(), level: t.level }));
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  get table(): Map<string, RuntimeCommand & { source: string }> {
    return (this.#table ??= commandTable(this.#gateway));
  }

  #opening: Promise<PluginListener> | null = null;
  #listener: PluginListener | null = null;

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = splitListen(this.listenOn);
    // The core owns the port (a reload hands it to the next generation without closing it).
    this.#opening = this.#gateway.openListener('@switchyard/plugin-runtime-api', { host, port }, (s) => this.#server.emit('connection', s));
    try {
      this.#listener = await this.#opening;
    } catch (err) {
      throw RuntimeErrors.LISTEN.with({ cause: err }, this.listenOn, (err as Error).message);
    }
    // node:http checks request timeouts only once 'listening' was emitted.
    this.#server.emit('listening');
    const a = this.#listener.address as { host: string; port: number; family: string };
    const shown = a.family === 'IPv6' ? `[${a.host}]` : a.host;
    return { host: a.host, port: a.port, url: `http://${shown}:${a.port}` };
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    if (!this.#listener) return;
    await this.#listener.close();
    this.#listener = null;
    this.#server.close();
    await endConnections(this.#sockets, 2000, () => this.#server.closeIdleConnections());
  }

  /** The level the request's bearer token grants, or null without a known token. */
  #levelOf(req: http.IncomingMessage): Level | null {
    const h = req.headers.authorization;
    if (!h || !/^bearer /i.test(h)) return null;
    const given = crypto.createHash('sha256').update(h.slice(7).trim()).digest();
    let level: Level | null = null;
    // Compare with every token (constant time each), so timing tells nothing about which matched.
    for (const t of this.#tokens) if (crypto.timingSafeEqual(given, t.hash) && (level === null || levelAtLeast(t.level, level))) level = t.level;
    return level;
  }

  #check(level: Level, name: string, need: Level): void {
    if (!levelAtLeast(level, need)) {
      this.#gateway.logger.warn({ command: name, need, have: level }, 'runtime API: permission denied');
      throw RuntimeErrors.FORBIDDEN(name, need, level);
    }
  }

  #send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body, null, 2) + '\n';
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  #fail(res: http.ServerResponse, err: unknown): void {
    const e = err instanceof SwitchyardError ? err : RuntimeErrors.COMMAND_FAILED('?', err instanceof Error ? err.message : String(err));
    this.#send(res, e.status >= 400 ? e.status : 500, { ok: false, error: { code: e.code, message: e.message } });
  }

  async #readArgs(req: http.IncomingMessage): Promise<Record<string, string>> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) throw RuntimeErrors.BAD_ARGUMENT(`body larger than ${MAX_BODY} bytes`);
      chunks.push(c);
    }
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (text === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw RuntimeErrors.BAD_ARGUMENT('the body must be a JSON object of arguments');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw RuntimeErrors.BAD_ARGUMENT('the body must be a JSON object of arguments');
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (v === null || typeof v === 'object') throw RuntimeErrors.BAD_ARGUMENT(`argument "${k}" must be a string, number or boolean`);
      out[k] = String(v);
    }
    return out;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const level = this.#levelOf(req);
      if (level === null) {
        res.setHeader('www-authenticate', 'Bearer realm="switchyard"');
        throw RuntimeErrors.UNAUTHORIZED();
      }
      const url = new URL(req.url ?? '/', 'http://runtime');
      const p = url.pathname;
      if (req.method === 'GET' && (p === '/v1/commands' || p === '/v1/commands/')) {
        const list = [...this.table].map(([name, c]) => ({ name, summary: c.summary, args: c.args, level: levelOf(name, c), allowed: levelAtLeast(level, levelOf(name, c)), source: c.source }));
        return this.#send(res, 200, { ok: true, result: list });
      }
      if (req.method === 'GET' && (p === '/v1/servers' || p === '/v1/stats')) {
        const args: Record<string, string> = {};
        for (const [k, v] of url.searchParams) args[k] = v;
        const result = await runCommand(this.#gateway, this.table, p === '/v1/servers' ? 'show servers' : 'show stats', args);
        return this.#send(res, 200, { ok: true, result });
      }
      if (p.startsWith('/v1/commands/')) {
        if (req.method !== 'POST') {
          res.setHeader('allow', 'POST');
          return this.#send(res, 405, { ok: false, error: { code: 'SWY_ERR_RUNTIME_BAD_ARGUMENT', message: 'run a command with POST' } });
        }
        const name = decodeURIComponent(p.slice('/v1/commands/'.length));
        const c = this.table.get(name);
        if (c) this.#check(level, name, levelOf(name, c));
        const args = await this.#readArgs(req);
        const result = await runCommand(this.#gateway, this.table, name, args);
        this.#gateway.logger.info({ command: name, args }, `runtime API: ${name}`);
        return this.#send(res, 200, { ok: true, result: result ?? null });
      }
      this.#send(res, 404, { ok: false, error: { code: 'SWY_ERR_RUNTIME_UNKNOWN_COMMAND', message: `no route ${req.method} ${p}` } });
    } catch (err) {
      this.#fail(res, err);
    }
  }
}
