/**
 * A testing harness for plugin authors: real upstream servers on 127.0.0.1 and an
 * in-process gateway started from a config object or YAML text, with its log captured.
 *
 *   const up = await startUpstream();
 *   const gw = await startTestGateway({ plugins: [...], frontends: {...}, backends: {...} });
 *   const res = await fetch(gw.url('/'));
 *   await gw.stop(); await up.close();
 *
 * It needs @switchyard/core installed beside the SDK (a dev dependency of your plugin).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { Writable } from 'node:stream';
import type { GatewayApi, Logger } from '../plugin';
import { formatError } from '../errors';

export interface Upstream {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:port`, for a server's address. */
  readonly address: string;
  readonly url: string;
  /** Requests received so far. */
  hits: number;
  /** The last requests' heads (method, url, headers), newest last. */
  readonly requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  readonly server: http.Server;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream) => void;

/**
 * An HTTP server on 127.0.0.1 with a free port. The default handler answers 200 with
 * `{"upstream": name, ...}` and an `x-upstream` header.
 */
export async function startUpstream(options: { name?: string; handler?: UpstreamHandler; port?: number } = {}): Promise<Upstream> {
  const name = options.name ?? 'upstream';
  const sockets = new Set<net.Socket>();
  const up: Upstream = {
    name,
    port: 0,
    address: '',
    url: '',
    hits: 0,
    requests: [],
    server: http.createServer((req, res) => {
      up.hits++;
      up.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (up.requests.length > 1000) up.requests.shift();
      if (options.handler) return options.handler(req, res, up);
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ upstream: name, method: req.method, url: req.url }) + '\n';
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        up.server.close(() => resolve());
      }),
  };
  up.server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    up.server.once('error', reject);
    up.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (up.server.address() as net.AddressInfo).port;
  Object.assign(up, { port, address: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` });
  return up;
}

/** A port that was free a moment ago (prefer binding to 0 where you can). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface TestGateway {
  /** The running gateway (the core's Gateway, seen through the plugin API). */
  readonly gateway: GatewayApi & {
    stop(graceMs?: number): Promise<void>;
    address(frontend: string, index?: number): { host: string; port: number };
  };
  /** Log records the gateway wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** The same log records as written (one JSON line each), to check what `logs` cannot show (a key written twice). */
  readonly logLines: string[];
  /** Port of a frontend's first bind (default: the first frontend). */
  port(frontend?: string): number;
  /** `http://127.0.0.1:<port><path>` for a frontend. */
  url(path?: string, frontend?: string): string;
  stop(graceMs?: number): Promise<void>;
}

export interface TestGatewayOptions {
  /** Resolve plugin paths and packages from here (default: the working directory). */
  baseDir?: string;
  /** Config file name to report in errors (YAML text only). */
  file?: string;
  logLevel?: string;
}

interface CoreModule {
  loadConfig(input: Record<string, unknown>, options: { logger: Logger }): unknown;
  Gateway: { start(loaded: unknown, options: { logger: Logger }): Promise<TestGateway['gateway']> };
}

/**
 * Starts a gateway in this process. Binds in the config may use port 0: `port()` tells
 * which port was chosen.
 */
export async function startTestGateway(config: Record<string, unknown> | string, options: TestGatewayOptions = {}): Promise<TestGateway> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = require('@switchyard/core') as CoreModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as (opts: Record<string, unknown>, dest: Writable) => Logger;
  const logs: Array<Record<string, unknown>> = [];
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        logLines.push(line);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ msg: line });
        }
      }
      cb();
    },
  });
  const logger = pino({ level: options.logLevel ?? 'debug' }, sink);
  const input =
    typeof config === 'string'
      ? { text: config, file: options.file ?? `${options.baseDir ?? process.cwd()}/test-config.yaml` }
      : { object: config, baseDir: options.baseDir ?? process.cwd() };
  let gateway: TestGateway['gateway'];
  try {
    gateway = await core.Gateway.start(core.loadConfig(input, { logger }), { logger });
  } catch (err) {
    // What `switchyard validate` would print: file:line: key path: [plugin:] message (code).
    const list = (err as { errors?: unknown[] }).errors;
    if (err instanceof Error) err.message = Array.isArray(list) ? list.map(formatError).join('\n') : formatError(err);
    throw err;
  }
  const firstFrontend = (): string => {
    const name = gateway.frontends.keys().next().value;
    if (name === undefined) throw new Error('the config has no frontend');
    return name;
  };
  return {
    gateway,
    logs,
    logLines,
    port: (frontend) => gateway.address(frontend ?? firstFrontend()).port,
    url: (path = '/', frontend) => `http://127.0.0.1:${gateway.address(frontend ?? firstFrontend()).port}${path}`,
    stop: (graceMs = 0) => gateway.stop(graceMs),
  };
}
