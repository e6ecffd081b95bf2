import { splitAddress } from './config/schema';
import type { Waiter } from './queue';
import type {
  AdminState, BackendConfig, BackendState, BalancePolicy, BalancePolicyClass, Exchange, FrontendConfig,
  FrontendState, HealthState, ServerChange, ServerConfig, ServerCounters, ServerGroup, ServerState,
} from '@switchyard/sdk';

type ChangeListener = (change: ServerChange) => void;

export class ServerRuntime implements ServerState {
  readonly backend: string;
  readonly name: string;
  readonly id: string;
  host: string;
  port: number;
  readonly backup: boolean;
  readonly config: ServerConfig;
  readonly maxconn: number;
  readonly counters: ServerCounters = { sessions: 0, errors: 0, bytesIn: 0, bytesOut: 0, responses: [0, 0, 0, 0, 0, 0] };
  readonly data = new Map<string | symbol, unknown>();
  weight: number;
  admin: AdminState = 'ready';
  health: HealthState = 'up';
  active = 0;
  lastChange = Date.now();
  available: boolean;
  #onChange: ChangeListener;

  constructor(backend: string, config: ServerConfig, onChange: ChangeListener) {
    this.backend = backend;
    this.name = config.name;
    this.id = `${backend}/${config.name}`;
    this.host = config.host;
    this.port = config.port;
    this.backup = config.backup;
    this.config = config;
    this.maxconn = config.maxconn;
    this.weight = config.weight;
    this.available = this.#computeAvailable();
    this.#onChange = onChange;
  }

  get usable(): boolean {
    return this.available && (this.maxconn === 0 || this.active < this.maxconn);
  }

  #computeAvailable(): boolean {
    return this.health === 'up' && this.admin === 'ready' && this.weight > 0;
  }

  setWeight(weight: number, reason?: string): void {
    const w = Math.max(0, Math.min(256, Math.round(weight)));
    if (w === this.weight) return;
    const from = this.weight;
    this.weight = w;
    this.#changed('weight', from, w, reason);
  }

  setAdmin(state: AdminState, reason?: string): void {
    if (state === this.admin) return;
    const from = this.admin;
    this.admin = state;
    this.lastChange = Date.now();
    this.#changed('admin', from, state, reason);
  }

  setHealth(state: HealthState, reason?: string): void {
    if (state === this.health) return;
    const from = this.health;
    this.health = state;
    this.lastChange = Date.now();
    this.#changed('health', from, state, reason);
  }

  setAddress(host: string, port: number = this.port, reason?: string): void {
    const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (h === '' || /[\s/]/.test(h)) throw new Error(`"${host}" is not a host name or IP address`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not 1-65535`);
    if (h === this.host && port === this.port) return;
    const fmt = (x: string, p: number): string => (x.includes(':') ? `[${x}]:${p}` : `${x}:${p}`);
    const from = fmt(this.host, this.port);
    this.host = h;
    this.port = port;
    this.lastChange = Date.now();
    this.#changed('addr', from, fmt(h, port), reason);
  }

  #changed(what: ServerChange['what'], from: string | number, to: string | number, reason: string | undefined): void {
    this.available = this.#computeAvailable();
    this.#onChange({ server: this, what, from, to, reason });
  }
}

export class BackendRuntime implements BackendState {
  readonly name: string;
  readonly mode: BackendConfig['mode'];
  readonly config: BackendConfig;
  readonly servers: ServerRuntime[];
  readonly data = new Map<string | symbol, unknown>();
  readonly primaries: ServerRuntime[];
  readonly backups: ServerRuntime[];
  primaryPolicy!: BalancePolicy;
  backupPolicy: BalancePolicy | null = null;
  /** FIFO of exchanges waiting for a slot; a plain array with a head index (no shift per dequeue). */
  readonly waiting: Waiter[] = [];
  waitingHead = 0;
  #byName = new Map<string, ServerRuntime>();
  #forward: ChangeListener;
  #onChange: ChangeListener;
  #Policy: BalancePolicyClass | null = null;

  constructor(name: string, config: BackendConfig, onChange: ChangeListener) {
    this.name = name;
    this.mode = config.mode;
    this.config = config;
    const forward: ChangeListener = (change) => {
      this.primaryPolicy?.update?.();
      this.backupPolicy?.update?.();
      onChange(change);
    };
    this.#forward = forward;
    this.#onChange = onChange;
    this.servers = config.servers.map((s) => new ServerRuntime(name, s, forward));
    for (const s of this.servers) this.#byName.set(s.name, s);
    this.primaries = this.servers.filter((s) => !s.backup);
    this.backups = this.servers.filter((s) => s.backup);
  }

  /** Builds the policy instances once, from the class the `balance` slot resolved to. */
  usePolicy(Policy: BalancePolicyClass): void {
    this.#Policy = Policy;
    const primary: ServerGroup = { backend: this, servers: this.primaries, role: 'primary' };
    this.primaryPolicy = new Policy(primary, this.config);
    this.primaryPolicy.update?.();
    if (this.backups.length > 0) {
      const backup: ServerGroup = { backend: this, servers: this.backups, role: 'backup' };
      this.backupPolicy = new Policy(backup, this.config);
      this.backupPolicy.update?.();
    }
  }

  addServer(spec: { name: string; address: string; weight?: number; maxconn?: number; backup?: boolean }): ServerRuntime {
    if (!/^[A-Za-z0-9_.:-]+$/.test(spec.name)) throw new Error(`server name "${spec.name}" may only use letters, digits and _ . : -`);
    if (this.#byName.has(spec.name)) throw new Error(`backend ${this.name} already has a server ${spec.name}`);
    const { host, port } = splitAddress(spec.address, '127.0.0.1');
    if (!host || !(port > 0 && port < 65536)) throw new Error(`"${spec.address}" is not host:port`);
    const weight = spec.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 0 || weight > 256) throw new Error('weight must be 0-256');
    const config = { name: spec.name, address: spec.address, host, port, weight, maxconn: spec.maxconn ?? 0, backup: spec.backup ?? false };
    const server = new ServerRuntime(this.name, config, this.#forward);
    // In place: policies hold these arrays and rebuild from them in update().
    this.servers.push(server);
    this.#byName.set(server.name, server);
    if (server.backup) {
      this.backups.push(server);
      if (this.backupPolicy === null && this.#Policy) {
        this.backupPolicy = new this.#Policy({ backend: this, servers: this.backups, role: 'backup' }, this.config);
      }
    } else {
      this.primaries.push(server);
    }
    this.primaryPolicy?.update?.();
    this.backupPolicy?.update?.();
    this.#onChange({ server, what: 'added', from: '', to: server.id, reason: 'runtime API' });
    return server;
  }

  removeServer(name: string): ServerRuntime {
    const server = this.#byName.get(name);
    if (!server) throw new Error(`backend ${this.name} has no server ${name}`);
    for (const list of [this.servers, this.primaries, this.backups]) {
      const i = list.indexOf(server);
      if (i !== -1) list.splice(i, 1);
    }
    this.#byName.delete(name);
    this.primaryPolicy?.update?.();
    this.backupPolicy?.update?.();
    this.#onChange({ server, what: 'removed', from: server.id, to: '', reason: 'runtime API' });
    return server;
  }

  get queued(): number {
    return this.waiting.length - this.waitingHead;
  }

  server(name: string): ServerRuntime | undefined {
    return this.#byName.get(name);
  }

  hasAvailablePrimary(): boolean {
    for (const s of this.primaries) if (s.available) return true;
    return false;
  }

  hasAvailable(): boolean {
    for (const s of this.servers) if (s.available) return true;
    return false;
  }
}

export class FrontendRuntime implements FrontendState {
  readonly name: string;
  readonly mode: FrontendConfig['mode'];
  readonly config: FrontendConfig;
  readonly data = new Map<string | symbol, unknown>();
  readonly addresses: Array<{ host: string; port: number; tls: boolean }> = [];
  connections = 0;
  defaultBackend: BackendRuntime | null = null;

  constructor(name: string, config: FrontendConfig) {
    this.name = name;
    this.mode = config.mode;
    this.config = config;
  }
}
