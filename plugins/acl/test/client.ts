import * as http from 'node:http';
import * as https from 'node:https';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh connection (no keep-alive), to 127.0.0.1 or [::1]. */
export function send(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string | string[]>; host?: string; tls?: { servername: string } } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const mod = options.tls ? https : http;
    const req = mod.request(
      {
        host: options.host ?? '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { connection: 'close', ...(options.headers ?? {}) },
        agent: false,
        ...(options.tls ? { servername: options.tls.servername, rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts a gateway with a fresh module registry. The core keeps one ajv instance per process
 * and refuses to compile the composed schema ($id) a second time, so a test file that loads
 * a second config goes through here (see the report on core/src/config/load.ts).
 */
export function isolatedGateway(config: Record<string, unknown>): Promise<import('@switchyard/sdk/testing').TestGateway> {
  let started: Promise<import('@switchyard/sdk/testing').TestGateway> | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const testing = require('@switchyard/sdk/testing') as typeof import('@switchyard/sdk/testing');
    started = testing.startTestGateway(config);
  });
  return started!;
}
