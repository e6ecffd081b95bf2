import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Logger, PluginListenAddress, PluginListener } from '@switchyard/sdk';
import { stillOwns, takeOver } from './reload-handover';

/**
 * Listening sockets that plugins open on their own addresses (the stats page, the Prometheus
 * endpoint, the runtime API and its CLI sockets), kept across a reload the way the frontends'
 * binds are (./reload-handover): the next generation's same plugin asking for the same address
 * takes the listening socket over in one synchronous step, so a fixed port is never closed,
 * never refused, and never left to the old generation. A socket the next generation does not
 * ask for stays with the old one and closes when that one's plugin closes it (at its stop).
 */

/** A generation's plugin sockets by key (`owner address`), for the next generation. */
export type PluginSockets = ReadonlyMap<string, net.Server>;

function keyOf(owner: string, where: PluginListenAddress): string {
  if ('path' in where) return `${owner} unix@${where.path}`;
  if ('fd' in where) return `${owner} fd@${where.fd}`;
  return `${owner} ${where.host}:${where.port}`;
}

interface Owned {
  readonly key: string;
  readonly server: net.Server;
  readonly onConnection: (s: net.Socket) => void;
}

export class PluginListeners {
  readonly #logger: Logger;
  #inherited: PluginSockets = new Map();
  readonly #seen = new Map<string, number>();
  readonly #owned: Owned[] = [];

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The previous generation's plugin sockets (reload): each is taken over when asked for again. */
  inherit(from: PluginSockets): void {
    this.#inherited = from;
  }

  async open(owner: string, where: PluginListenAddress, onConnection: (s: net.Socket) => void): Promise<PluginListener> {
    const base = keyOf(owner, where);
    const n = (this.#seen.get(base) ?? 0) + 1;
    this.#seen.set(base, n);
    const key = n === 1 ? base : `${base}#${n}`;
    const onError = (err: Error): void => this.#logger.error({ err, owner }, `${owner}: listener error`);
    const kept = this.#inherited.get(key);
    let server: net.Server;
    let inherited = false;
    if (kept?.listening) {
      // Synchronous: no connection can arrive between the two generations' handlers.
      takeOver(kept, onConnection, onError, { allowHalfOpen: false, noDelay: true });
      server = kept;
      inherited = true;
    } else {
      server = net.createServer({ noDelay: true });
      if ('path' in where) removeStaleSocket(where.path);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(where, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('connection', onConnection);
      server.on('error', onError);
    }
    const entry: Owned = { key, server, onConnection };
    this.#owned.push(entry);
    const a = server.address();
    const address: PluginListener['address'] =
      a && typeof a === 'object' ? { host: a.address, port: a.port, family: a.family } : 'path' in where ? { path: where.path } : 'fd' in where ? { fd: where.fd } : { host: where.host, port: where.port, family: '' };
    return {
      address,
      inherited,
      close: () => {
        this.#close(entry);
        return Promise.resolve();
      },
    };
  }

  /** The sockets this generation still owns (for the next generation). */
  sockets(): PluginSockets {
    const out = new Map<string, net.Server>();
    for (const o of this.#owned) if (o.server.listening && stillOwns(o.server, o.onConnection)) out.set(o.key, o.server);
    return out;
  }

  /** Closes what a plugin left open (the end of a generation's stop). */
  closeAll(): void {
    for (const o of this.#owned) this.#close(o);
  }

  /**
   * Closes the listening socket unless the next generation took it over. Accepted connections
   * are not waited for (they belong to the plugin); the port is released at once, and libuv
   * removes a unix socket's file.
   */
  #close(o: Owned): void {
    if (!stillOwns(o.server, o.onConnection)) return;
    o.server.removeListener('connection', o.onConnection);
    if (o.server.listening) o.server.close();
  }
}

/** A socket file left by a previous run is replaced (HAProxy does the same); any other file is not. */
function removeStaleSocket(file: string): void {
  try {
    if (fs.lstatSync(file).isSocket()) fs.unlinkSync(file);
  } catch {
    /* absent */
  }
}
