import type * as http from 'node:http';
import { Agent, request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An upstream whose answer per path the test sets, counting requests per path. */
export interface Origin {
  upstream: Upstream;
  routes: Map<string, Route>;
  hits(path: string): number;
  reset(): void;
}

export async function startOrigin(): Promise<Origin> {
  const routes = new Map<string, Route>();
  const counts = new Map<string, number>();
  const upstream = await startUpstream({
    name: 'origin',
    handler: (req, res) => {
      const path = req.url ?? '/';
      counts.set(path, (counts.get(path) ?? 0) + 1);
      const route = routes.get(path);
      req.resume();
      if (route) return route(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no route\n');
    },
  });
  return { upstream, routes, hits: (p) => counts.get(p) ?? 0, reset: () => counts.clear() };
}

export async function startCachingGateway(origin: Origin, cache: Record<string, unknown> = {}, extraPlugins: string[] = [], extra: Record<string, unknown> = {}): Promise<TestGateway> {
  return startTestGateway({
    plugins: ['@switchyard/preset-standard', ...extraPlugins, '@switchyard/plugin-cache'],
    global: { logLevel: 'warn' },
    cache,
    ...extra,
    frontends: { web: { mode: 'http', bind: [{ host: '127.0.0.1', port: 0 }], defaultBackend: 'app' } },
    backends: { app: { mode: 'http', servers: [{ name: 'a', address: origin.upstream.address }] } },
  });
}

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The tests' HTTP client: its keep-alive connections are closed by closeClient() in afterAll. */
export const client = new Agent({ keepAliveTimeout: 1000 });

export function closeClient(): Promise<void> {
  return client.close();
}

export async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  const res = await request(url, { method, headers, dispatcher: client });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
