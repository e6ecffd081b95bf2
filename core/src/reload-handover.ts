import type * as net from 'node:net';
import type { BindConfig } from '@switchyard/sdk';

/**
 * Listening sockets handed from one gateway generation to the next on a single-process
 * reload (HAProxy's `-x` socket transfer, inside one process): a bind that stays keeps its
 * net.Server, so its port is never closed, and only its 'connection' handler changes hands.
 */

/** Listening servers of a generation by bind key. */
export type ListeningServers = ReadonlyMap<string, net.Server>;

/**
 * Gives each bind of a config a key that is the same for the same bind in the next config:
 * `host:port`, with `#n` for the n-th repeat of the same address (several `:0` binds).
 */
export class BindKeys {
  readonly #seen = new Map<string, number>();

  next(bind: Pick<BindConfig, 'host' | 'port'>): string {
    const base = `${bind.host}:${bind.port}`;
    const n = (this.#seen.get(base) ?? 0) + 1;
    this.#seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  }
}

interface AcceptOptions {
  allowHalfOpen: boolean;
  noDelay: boolean;
}

/**
 * Moves a listening server to a new owner in one synchronous step: the previous owner's
 * 'connection' and 'error' handlers leave and the new ones arrive within the same tick, so
 * no accepted connection can fall between the two generations.
 */
export function takeOver(server: net.Server, onConnection: (s: net.Socket) => void, onError: (e: Error) => void, accept: AcceptOptions): void {
  server.removeAllListeners('connection');
  server.removeAllListeners('error');
  // Per-socket options net.Server applies at accept (a bind may move from an HTTP frontend to a TCP one).
  const s = server as net.Server & { allowHalfOpen?: boolean; noDelay?: boolean };
  s.allowHalfOpen = accept.allowHalfOpen;
  s.noDelay = accept.noDelay;
  server.on('connection', onConnection);
  server.on('error', onError);
}

/** True while `onConnection` still receives the server's connections (nobody took it over). */
export function stillOwns(server: net.Server, onConnection: (s: net.Socket) => void): boolean {
  return server.listeners('connection').includes(onConnection);
}
