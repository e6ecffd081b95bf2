import * as net from 'node:net';
import type * as http from 'node:http';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import type { ServerChange, GatewayApi } from '@switchyard/sdk';

/** An upstream whose /health answers `state.health` and whose other paths answer 200 with its name. */
export async function flippableUpstream(name: string): Promise<Upstream & { state: { health: number; body: string } }> {
  const state = { health: 200, body: 'OK' };
  const up = await startUpstream({
    name,
    handler: (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/health') {
          res.writeHead(state.health, { 'content-type': 'text/plain' });
          res.end(state.body);
          return;
        }
        res.writeHead(200, { 'x-upstream': name, 'content-type': 'text/plain' });
        res.end(name);
      });
    },
  });
  return Object.assign(up, { state });
}

/** Resolves with the time (ms since epoch) a server's health becomes `to`; rejects after `ms`. */
export function waitForHealth(gateway: GatewayApi, id: string, to: 'up' | 'down', ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      gateway.events.off('server-change', on);
      reject(new Error(`${id} did not become ${to} within ${ms} ms`));
    }, ms);
    const on = (c: ServerChange): void => {
      if (c.server.id === id && c.what === 'health' && c.to === to) {
        clearTimeout(timer);
        gateway.events.off('server-change', on);
        resolve(Date.now());
      }
    };
    gateway.events.on('server-change', on);
  });
}

/** A plain TCP server answering each connection with `reply()` then closing (an agent), counting connections. */
export async function startAgent(reply: () => string): Promise<{ port: number; connections: number[]; close(): Promise<void> }> {
  const connections: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections.push(Date.now());
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.end(reply());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts an in-process gateway from a config object (the SDK harness). */
export function startGateway(config: Record<string, unknown>): Promise<TestGateway> {
  return startTestGateway(config);
}
