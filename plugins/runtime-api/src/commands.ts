import cluster from 'node:cluster';
import type { AdminState, BackendState, GatewayApi, RuntimeCommand, ServerState } from '@switchyard/sdk';
import { RuntimeErrors } from './errors';

/**
 * @switchyard/plugin-health-check's keys, from its contract entry (no plugin code). It is an
 * optional peer: without it no server is checked, and a private symbol stands in for the keys.
 */
const health = ((): typeof import('@switchyard/plugin-health-check/contract') | undefined => {
  try {
    return require('@switchyard/plugin-health-check/contract') as typeof import('@switchyard/plugin-health-check/contract');
  } catch {
    return undefined;
  }
})();
/** @deprecated HEALTH_DISABLED's id: import HEALTH_DISABLED from @switchyard/plugin-health-check/contract. */
export const HEALTH_DISABLED_KEY: string | symbol = health?.HEALTH_DISABLED.id ?? Symbol('no plugin-health-check');
/** @deprecated HEALTH_CONTROL's id: import HEALTH_CONTROL from @switchyard/plugin-health-check/contract. */
export const HEALTH_CONTROL_KEY: string | symbol = health?.HEALTH_CONTROL.id ?? Symbol('no plugin-health-check');

/**
 * The id of @switchyard/plugin-stats' service token when that optional peer is installed
 * (its contract entry loads no plugin code); resolved through the string view because
 * commands run after the generation's typed services are sealed.
 */
export function statsServiceId(): string | undefined {
  try {
    return (require('@switchyard/plugin-stats/contract') as typeof import('@switchyard/plugin-stats/contract')).STATS.id;
  } catch {
    return undefined;
  }
}

interface HealthControlLike {
  last?: unknown;
  /** Optional (future) on/off switch of the health-check plugin; preferred when present. */
  setEnabled?: (enabled: boolean) => void;
  stop?: () => void;
}

export function findServer(gateway: GatewayApi, ref: string | undefined): ServerState {
  if (!ref) throw RuntimeErrors.BAD_ARGUMENT('argument "server" is required (backend/server)');
  const i = ref.indexOf('/');
  const s = i === -1 ? undefined : gateway.backends.get(ref.slice(0, i))?.server(ref.slice(i + 1));
  if (!s) throw RuntimeErrors.NO_SERVER(ref);
  return s;
}

function status(s: ServerState): string {
  if (s.admin === 'maint') return 'MAINT';
  if (s.health === 'down') return 'DOWN';
  if (s.admin === 'drain') return 'DRAIN';
  return 'UP';
}

function healthChecks(s: ServerState): 'enabled' | 'disabled' | 'none' {
  if (s.data.get(HEALTH_DISABLED_KEY) === true) return 'disabled';
  return s.data.has(HEALTH_CONTROL_KEY) ? 'enabled' : 'none';
}

export function describeServer(s: ServerState): Record<string, unknown> {
  const ctl = s.data.get(HEALTH_CONTROL_KEY) as HealthControlLike | undefined;
  return {
    server: s.id,
    backend: s.backend,
    name: s.name,
    address: `${s.host}:${s.port}`,
    status: status(s),
    admin: s.admin,
    health: s.health,
    healthChecks: healthChecks(s),
    lastCheck: ctl?.last ?? null,
    weight: s.weight,
    configuredWeight: s.config.weight,
    active: s.active,
    maxconn: s.maxconn,
    backup: s.backup,
    lastChange: new Date(s.lastChange).toISOString(),
    sessions: s.counters.sessions,
    errors: s.counters.errors,
  };
}

const ADMIN_STATES: ReadonlyArray<AdminState> = ['ready', 'drain', 'maint'];

/**
 * HAProxy's `set weight <b>/<s> <weight>[%]` (server_parse_weight_change_request): an
 * absolute 0–256, or a percentage of the initial (configured) weight — integer arithmetic,
 * so truncated: 50% of 1 is 0, 150% of 3 is 4 — capped at 25600% and at 256. A backend with
 * a static algorithm (static-rr, map-based hashing) takes only 0 and its initial weight.
 */
export function parseWeight(s: ServerState, value: string | undefined, dynamicLb = true): number {
  if (value === undefined || value === '') throw RuntimeErrors.BAD_ARGUMENT('Require <weight> or <weight%>.');
  // strtol: leading blanks and a sign, then digits.
  const m = /^\s*([+-]?\d+)(.*)$/.exec(value);
  if (!m) throw RuntimeErrors.BAD_ARGUMENT('Empty weight string empty or preceded by garbage');
  let w = Number(m[1]);
  const rest = m[2]!;
  const initial = s.config.weight;
  if (rest === '%') {
    if (w < 0) throw RuntimeErrors.BAD_ARGUMENT('Relative weight must be positive.');
    if (w > 25600) w = 25600;
    w = Math.floor((initial * w) / 100);
    if (w > 256) w = 256;
  } else if (w < 0 || w > 256) {
    throw RuntimeErrors.BAD_ARGUMENT('Absolute weight can only be between 0 and 256 inclusive.');
  } else if (rest !== '') {
    throw RuntimeErrors.BAD_ARGUMENT('Trailing garbage in weight string');
  }
  if (w !== 0 && w !== initial && !dynamicLb) {
    throw RuntimeErrors.BAD_ARGUMENT("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.");
  }
  return w;
}

/** HAProxy's BE_LB_PROP_DYN: may a server's weight change at run time? Not for static-rr nor map-based hashing. */
export function dynamicWeights(backend: BackendState | undefined): boolean {
  if (!backend) return true;
  const balance = backend.config.balance;
  if (balance === 'static-rr') return false;
  if (['source', 'uri', 'url_param', 'hdr', 'hash', 'rdp-cookie'].includes(balance)) return backend.config.hashType === 'consistent';
  return true;
}

/**
 * The runtime API's own commands. Commands other plugins put in the `runtime.command`
 * slot are offered beside them; a slot command with the same name (say a `reload` from
 * the HA plugin) replaces the built-in.
 */
export const BUILTIN_COMMANDS: Readonly<Record<string, RuntimeCommand>> = Object.freeze({
  'show servers': {
    summary: 'every server (or a backend\'s) with status, weight, sessions and health-check state',
    level: 'user',
    args: ['backend'],
    run(gateway, args) {
      const out: Array<Record<string, unknown>> = [];
      if (args.backend !== undefined && !gateway.backends.has(args.backend)) throw RuntimeErrors.BAD_ARGUMENT(`no backend "${args.backend}"`);
      for (const be of gateway.backends.values()) {
        if (args.backend !== undefined && be.name !== args.backend) continue;
        for (const s of be.servers) out.push(describeServer(s));
      }
      return out;
    },
  },
  'show stats': {
    summary: 'the stats page\'s numbers (with @switchyard/plugin-stats), else counters per server',
    level: 'user',
    args: [],
    run(gateway) {
      const statsId = statsServiceId();
      if (statsId !== undefined && gateway.container.isRegistered(statsId)) {
        const svc = gateway.container.resolve<{ collector: { snapshot(h?: boolean): unknown } }>(statsId);
        return svc.collector.snapshot();
      }
      const backends: Record<string, unknown> = {};
      for (const be of gateway.backends.values()) {
        backends[be.name] = { queued: be.queued, servers: be.servers.map((s) => ({ name: s.name, status: status(s), active: s.active, ...s.counters })) };
      }
      const frontends: Record<string, unknown> = {};
      for (const fe of gateway.frontends.values()) frontends[fe.name] = { connections: fe.connections };
      return { frontends, backends };
    },
  },
  'set server state': {
    summary: 'set a server ready, drain (no new sessions but sticky ones) or maint (no traffic)',
    level: 'operator',
    args: ['server', 'state'],
    run(gateway, args) {
      const s = findServer(gateway, args.server);
      const state = args.state as AdminState;
      if (!ADMIN_STATES.includes(state)) throw RuntimeErrors.BAD_ARGUMENT(`state must be ready, drain or maint (got ${String(args.state)})`);
      const from = s.admin;
      s.setAdmin(state, 'runtime API');
      return { server: s.id, from, to: s.admin };
    },
  },
  'set server weight': {
    summary: 'set a server\'s weight: 0-256, or a percentage of its configured weight (50%, truncated as HAProxy does)',
    level: 'operator',
    args: ['server', 'weight'],
    run(gateway, args) {
      const s = findServer(gateway, args.server);
      const from = s.weight;
      s.setWeight(parseWeight(s, args.weight, dynamicWeights(gateway.backends.get(s.backend))), 'runtime API');
      return { server: s.id, from, to: s.weight };
    },
  },
  'disable health': {
    summary: 'stop a server\'s health checks; the last result is ignored and the server counts as UP (HAProxy `disable health`)',
    level: 'operator',
    args: ['server'],
    run(gateway, args) {
      const s = findServer(gateway, args.server);
      const ctl = s.data.get(HEALTH_CONTROL_KEY) as HealthControlLike | undefined;
      s.data.set(HEALTH_DISABLED_KEY, true);
      if (ctl && typeof ctl.setEnabled === 'function') ctl.setEnabled(false);
      else if (ctl && typeof ctl.stop === 'function') ctl.stop();
      s.setHealth('up', 'health checks disabled by the runtime API');
      return describeServer(s);
    },
  },
  'enable health': {
    summary: 'resume a server\'s health checks (the next check decides UP or DOWN)',
    level: 'operator',
    args: ['server'],
    run(gateway, args) {
      const s = findServer(gateway, args.server);
      const ctl = s.data.get(HEALTH_CONTROL_KEY) as HealthControlLike | undefined;
      if (ctl && s.data.get(HEALTH_DISABLED_KEY) === true && typeof ctl.setEnabled !== 'function') {
        throw RuntimeErrors.NOT_AVAILABLE(
          'enable health',
          'the loaded health-check plugin cannot restart a stopped check (it needs HealthControl.setEnabled(boolean)); reload the config to restart checks',
        );
      }
      s.data.delete(HEALTH_DISABLED_KEY);
      if (ctl && typeof ctl.setEnabled === 'function') ctl.setEnabled(true);
      return describeServer(s);
    },
  },
  'add server': {
    summary: 'add a server to a backend: it takes traffic at once (until the next reload; health checks cover it after a reload)',
    level: 'admin',
    args: ['backend', 'name', 'address', 'weight', 'backup'],
    run(gateway, args) {
      const be = gateway.backends.get(args.backend ?? '');
      if (!be) throw RuntimeErrors.BAD_ARGUMENT(`no backend "${String(args.backend)}" (backends: ${[...gateway.backends.keys()].join(', ')})`);
      if (!args.name || !args.address) throw RuntimeErrors.BAD_ARGUMENT('add server needs name and address (host:port)');
      const weight = args.weight === undefined || args.weight === '' ? undefined : Number(args.weight);
      try {
        const s = be.addServer({ name: args.name, address: args.address, weight, backup: args.backup === 'true' || args.backup === '1' });
        return describeServer(s);
      } catch (err) {
        throw RuntimeErrors.BAD_ARGUMENT((err as Error).message);
      }
    },
  },
  'del server': {
    summary: 'remove a server from its backend: no new traffic, exchanges in flight finish',
    level: 'admin',
    args: ['server'],
    run(gateway, args) {
      const s = findServer(gateway, args.server);
      gateway.backends.get(s.backend)!.removeServer(s.name);
      return { removed: s.id, active: s.active };
    },
  },
  reload: {
    /** Worded for the mode this process runs in (under a master, or a single process). */
    get summary(): string {
      return cluster.isWorker
        ? 'reload the config without dropping connections: the master starts new workers on it, the old ones finish their work'
        : 'reload the config without dropping connections: a new generation in this process takes over the listening sockets, the old one finishes its work';
    },
    level: 'admin',
    args: [],
    async run(gateway) {
      const result = await gateway.reload();
      if (!result.ok && result.errors.length === 0) throw RuntimeErrors.NOT_AVAILABLE('reload', result.message);
      if (!result.ok) throw RuntimeErrors.BAD_ARGUMENT(`${result.message}: ${result.errors.join('; ')}`);
      return result;
    },
  },
});
