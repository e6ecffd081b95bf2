import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { defineErrors, definePlugin, type GatewayApi, type Logger } from '@switchyard/sdk';
import { STICK_TABLES, type StickEntry, type StickTable, type StickTables } from '@switchyard/plugin-rate-limit';
import { provideHaproxyDirectives } from './haproxy';
import { PeerSession, type SessionHost, type SharedTable } from './session';

export { PeerSession, keySize, netKeyType, type SharedTable } from './session';
export * as protocol from './protocol';

export const NAME = '@switchyard/plugin-peers';

export const PeersErrors = defineErrors({
  CONFIG: { code: 'SWY_ERR_PEERS_CONFIG', message: 'peers section %s: %s' },
  LISTEN: { code: 'SWY_ERR_PEERS_LISTEN', message: 'peers section %s cannot listen on %s: %s' },
});

export interface PeerConfig {
  name: string;
  /** host:port; absent for the local peer declared as `server <name>` with a `bind` line. */
  address?: string;
  /** TLS to this peer (HAProxy `ssl`); `verify: false` is `verify none`. */
  tls?: { verify: boolean; cert?: string; ca?: string };
}

export interface PeersSectionConfig {
  name: string;
  /** This process's peer name (HAProxy's -L); default: `peers.localName`, else the host name. */
  local?: string;
  /** Where to listen: `host:port`, or an inherited descriptor; default: the local peer's address. */
  bind?: { address?: string; fd?: number; tls?: { cert: string } };
  peers: PeerConfig[];
}

export interface PeersConfig {
  /** This process's peer name in every section that names none (haproxy.cfg `localpeer`). */
  localName?: string;
  sections: PeersSectionConfig[];
}

const tlsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['verify'],
  properties: {
    verify: { type: 'boolean', description: 'Check the peer\'s certificate (HAProxy `verify none` is false).' },
    cert: { type: 'string', description: 'PEM file with this side\'s certificate and key (HAProxy `crt`).' },
    ca: { type: 'string', description: 'PEM file of the CAs that sign the peer\'s certificate (HAProxy `ca-file`).' },
  },
  description: 'TLS to the peer.',
};

/** Reconnect delay after a failed or closed outgoing session (HAProxy's PEER_RECONNECT_TIMEOUT). */
const RECONNECT_MS = 5000;

const splitHostPort = (a: string): { host: string; port: number } => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(a.trim());
  if (!m) throw new Error(`"${a}" is not host:port`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' || host === '*' ? '0.0.0.0' : host, port: Number(m[3]) };
};

/**
 * One `peers` section at run time: listens for peers, dials the others, keeps one session
 * per peer (a new incoming session replaces an old one, and the side that gave way waits a
 * random 50–2050 ms before dialling again, as HAProxy does), and fans each local change of a
 * shared table out to every established session.
 */
export class PeersSection implements SessionHost {
  readonly localName: string;
  readonly tables: SharedTable[] = [];
  readonly #cfg: PeersSectionConfig & { local: string };
  readonly #gateway: GatewayApi;
  readonly #logger: Logger;
  readonly #sessions = new Map<string, PeerSession>();
  readonly #pendingOut = new Map<string, PeerSession>();
  readonly #reconnectAt = new Map<string, number>();
  readonly #all = new Set<PeerSession>();
  #server: net.Server | null = null;
  #timer: NodeJS.Timeout | undefined;
  #resyncAsked = false;
  #stopped = false;

  constructor(gateway: GatewayApi, cfg: PeersSectionConfig & { local: string }, tables: StickTable[], logger: Logger) {
    this.#gateway = gateway;
    this.#cfg = cfg;
    this.localName = cfg.local;
    this.#logger = logger;
    if (!cfg.peers.some((p) => p.name === cfg.local)) throw PeersErrors.CONFIG(cfg.name, `the local peer "${cfg.local}" is not one of its peers (${cfg.peers.map((p) => p.name).join(', ')})`);
    tables.forEach((table, i) => {
      const st: SharedTable = { table, localId: i + 1, syncName: table.config.syncName ?? table.name, updateId: 0, updateOf: new WeakMap() };
      this.tables.push(st);
      table.onUpdate((e) => this.#changed(st, e));
    });
  }

  get sessions(): ReadonlyMap<string, PeerSession> {
    return this.#sessions;
  }

  isPeer(name: string): boolean {
    return name !== this.localName && this.#cfg.peers.some((p) => p.name === name);
  }

  log(level: 'debug' | 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void {
    this.#logger[level]({ peers: this.#cfg.name, ...extra }, msg);
  }

  #changed(st: SharedTable, e: StickEntry): void {
    st.updateOf.set(e, (st.updateId = (st.updateId + 1) >>> 0 || 1));
    for (const s of this.#sessions.values()) s.queue(st, e);
  }

  established(s: PeerSession): void {
    const name = s.peerName!;
    this.#pendingOut.delete(name);
    const old = this.#sessions.get(name);
    if (old && old !== s) {
      // Two sessions with one peer: the newer wins; wait a random while before dialling again.
      this.#reconnectAt.set(name, Date.now() + 50 + Math.floor(Math.random() * 2000));
      old.close();
    }
    for (const [n, p] of this.#pendingOut) if (n === name && p !== s) p.close();
    this.#sessions.set(name, s);
    this.log('info', `peers: session with ${name} established (${s.outgoing ? 'outgoing' : 'incoming'})`);
    if (!this.#resyncAsked) {
      // Learn what the others know (HAProxy asks one peer for a full resync at start).
      this.#resyncAsked = true;
      s.requestResync();
    }
  }

  closed(s: PeerSession): void {
    this.#all.delete(s);
    const name = s.peerName;
    if (name === undefined) return;
    if (this.#pendingOut.get(name) === s) this.#pendingOut.delete(name);
    if (this.#sessions.get(name) === s) {
      this.#sessions.delete(name);
      this.log('info', `peers: session with ${name} closed`);
    }
    if (s.outgoing && !this.#reconnectAt.has(name)) this.#reconnectAt.set(name, Date.now() + RECONNECT_MS);
  }

  #tlsOptions(c: { cert?: string; ca?: string } | undefined): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
    const out: { cert?: Buffer; key?: Buffer; ca?: Buffer } = {};
    if (c?.cert) {
      const pem = fs.readFileSync(path.resolve(this.#gateway.baseDir, c.cert));
      out.cert = pem;
      out.key = pem;
    }
    if (c?.ca) out.ca = fs.readFileSync(path.resolve(this.#gateway.baseDir, c.ca));
    return out;
  }

  async start(): Promise<string> {
    const c = this.#cfg;
    const local = c.peers.find((p) => p.name === c.local)!;
    const onSocket = (socket: net.Socket): void => {
      const s = new PeerSession(socket, false, this);
      this.#all.add(s);
    };
    const bindTls = c.bind?.tls;
    this.#server = bindTls ? tls.createServer(this.#tlsOptions(bindTls), onSocket) : net.createServer(onSocket);
    let where: string;
    let options: net.ListenOptions;
    if (c.bind?.fd !== undefined) {
      options = { fd: c.bind.fd } as net.ListenOptions;
      where = `fd@${c.bind.fd}`;
    } else {
      const address = c.bind?.address ?? local.address;
      if (!address) throw PeersErrors.CONFIG(c.name, `the local peer "${c.local}" has no address and the section no bind line`);
      const { host, port } = splitHostPort(address);
      options = { host, port };
      where = address;
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(PeersErrors.LISTEN.with({ cause: err }, c.name, where, err.message));
      this.#server!.once('error', onError);
      this.#server!.listen(options, () => {
        this.#server!.off('error', onError);
        resolve();
      });
    });
    const a = this.#server.address();
    if (a && typeof a === 'object') where = `${a.address}:${a.port}`;
    this.#timer = setInterval(() => this.#dialAll(), 250);
    this.#timer.unref();
    this.#dialAll();
    return where;
  }

  #dialAll(): void {
    if (this.#stopped) return;
    const now = Date.now();
    for (const p of this.#cfg.peers) {
      if (p.name === this.localName || !p.address) continue;
      if (this.#sessions.has(p.name) || this.#pendingOut.has(p.name)) continue;
      const at = this.#reconnectAt.get(p.name);
      if (at !== undefined && at > now) continue;
      this.#reconnectAt.delete(p.name);
      let host: string;
      let port: number;
      try {
        ({ host, port } = splitHostPort(p.address));
      } catch {
        continue;
      }
      const socket = p.tls
        ? tls.connect({ host, port, rejectUnauthorized: p.tls.verify, servername: net.isIP(host) ? undefined : host, ...this.#tlsOptions(p.tls) })
        : net.connect({ host, port });
      const s = new PeerSession(socket, true, this, p.name);
      this.#all.add(s);
      this.#pendingOut.set(p.name, s);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const s of this.#all) s.close();
    if (this.#server?.listening) await new Promise<void>((r) => this.#server!.close(() => r()));
  }
}

/** Container token of the running sections (tests and `show peers` read it). */
export const PEERS_SERVICE = 'switchyard.peers.sections';

export const plugin = definePlugin<PeersConfig>({
  name: NAME,
  version: '0.1.1',
  core: '>=0.1.2 <1.0.0',
  description: 'HAProxy\'s peers protocol: stick tables (plugin-rate-limit) synchronised with other Switchyard instances and with HAProxy.',
  configKey: 'peers',
  schema: {
    config: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'HAProxy `peers` sections: who the peers are and where this process listens for them.',
      properties: {
        localName: { type: 'string', minLength: 1, description: 'This process\'s peer name in every section without `local` (haproxy.cfg global `localpeer`; HAProxy\'s default is the host name).' },
        sections: {
          type: 'array',
          default: [],
          description: 'One entry per haproxy.cfg `peers` section; a stick table joins one with `rateLimit.tables[].peers`.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'peers'],
            properties: {
              name: { type: 'string', minLength: 1, description: 'Section name (what `stick-table … peers <name>` names).' },
              local: { type: 'string', minLength: 1, description: 'This process\'s peer name (HAProxy\'s `-L`); default: `peers.localName`, else the host name.' },
              bind: {
                type: 'object',
                additionalProperties: false,
                description: 'Where to listen for peers (default: the local peer\'s address).',
                properties: {
                  address: { type: 'string', description: 'host:port.' },
                  fd: { type: 'integer', minimum: 0, description: 'An inherited, bound socket (`bind fd@N`).' },
                  tls: { type: 'object', additionalProperties: false, required: ['cert'], properties: { cert: { type: 'string', description: 'PEM with certificate and key.' } }, description: 'TLS on the listener (`bind … ssl crt <pem>`).' },
                },
              },
              peers: {
                type: 'array',
                minItems: 1,
                description: 'Every peer of the section, the local one included.',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name'],
                  properties: {
                    name: { type: 'string', minLength: 1, description: 'Peer name.' },
                    address: { type: 'string', description: 'host:port to dial.' },
                    tls: tlsSchema,
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  register({ slots }) {
    provideHaproxyDirectives(slots);
  },
  apply(gateway, config) {
    const sections = (config.sections ?? []).map((c) => ({ ...c, local: c.local ?? config.localName ?? os.hostname() }));
    if (sections.length === 0) return;
    const logger = gateway.logger.child({ plugin: NAME });
    // Checked here so `switchyard validate` refuses what run would.
    for (const cfg of sections) {
      if (!cfg.peers.some((p) => p.name === cfg.local)) throw PeersErrors.CONFIG.with({ location: { path: 'peers.sections' } }, cfg.name, `the local peer "${cfg.local}" is not one of its peers (${cfg.peers.map((p) => p.name).join(', ')})`);
      for (const p of cfg.peers) {
        if (p.name === cfg.local || !p.address) continue;
        try {
          splitHostPort(p.address);
        } catch (err) {
          throw PeersErrors.CONFIG(cfg.name, `peer ${p.name}: ${(err as Error).message}`);
        }
      }
    }
    const running: PeersSection[] = [];
    gateway.container.register(PEERS_SERVICE, { useValue: running });
    gateway.events.once('started', () => {
      const tables = gateway.container.isRegistered(STICK_TABLES) ? gateway.container.resolve<StickTables>(STICK_TABLES) : undefined;
      for (const cfg of sections) {
        const mine = (tables?.ordered ?? []).filter((t) => t.peers === cfg.name);
        let section: PeersSection;
        try {
          section = new PeersSection(gateway, cfg, mine, logger);
        } catch (err) {
          logger.error({ err }, (err as Error).message);
          continue;
        }
        running.push(section);
        section.start().then(
          (where) => logger.info({ peers: cfg.name, local: cfg.local, tables: mine.map((t) => t.name) }, `peers ${cfg.name}: ${cfg.local} listens on ${where}`),
          (err: unknown) => logger.error({ err }, `peers ${cfg.name} could not listen`),
        );
      }
    });
    gateway.onStop(async () => {
      await Promise.all(running.map((s) => s.stop()));
    });
  },
});

export default plugin;
