import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Small upstreams for the quick start: each answers with its own name. */
export async function startDemoUpstreams(names: string[]): Promise<{ servers: http.Server[]; ports: number[] }> {
  const servers: http.Server[] = [];
  const ports: number[] = [];
  for (const name of names) {
    const server = http.createServer((req, res) => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, host: req.headers.host }) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    ports.push((server.address() as AddressInfo).port);
  }
  return { servers, ports };
}
