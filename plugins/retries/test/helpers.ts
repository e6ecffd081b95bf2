import type * as http from 'node:http';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

/** Starts an in-process gateway from a config object (the SDK harness). */
export function startGateway(config: Record<string, unknown>): Promise<TestGateway> {
  return startTestGateway(config);
}

export interface Recorded {
  method: string;
  url: string;
  body: string;
}

/** An upstream that records every request with its body; `mode` decides how it answers. */
export async function recordingUpstream(
  name: string,
  mode: () => 'ok' | 'reset' | number,
): Promise<Upstream & { seen: Recorded[] }> {
  const seen: Recorded[] = [];
  const up = await startUpstream({
    name,
    handler: (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString() });
        const m = mode();
        if (m === 'reset') {
          req.socket.destroy();
          return;
        }
        const status = m === 'ok' ? 200 : m;
        res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream': name });
        res.end(`${name} ${status}`);
      });
    },
  });
  return Object.assign(up, { seen });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
