import { definePlugin, RUNTIME_COMMAND_SLOT, type BackendState, type GatewayApi, type Logger, type RuntimeCommand, type ServerState } from '@switchyard/sdk';
import { AgentHealthCheck, parseAgentReply } from './agent-check';
import { ServerAgentCheck, ServerHealthCheck, transitionLine, type CheckTiming } from './checker';
import { HealthErrors } from './errors';
import { HttpHealthCheck } from './http-check';
import { backendAgentSchema, healthCheckSchema, onMarkedDownSchema, onMarkedUpSchema, serverAgentSchema, serverCheckSchema } from './schema';
import { TcpHealthCheck } from './tcp-check';
import { SessionActions } from './sessions';
import { registerHaproxyDirectives } from './haproxy';
import { protocolKinds, TcpRulesHealthCheck } from './tcpcheck/kinds';
import {
  HEALTH_CHECK_SLOT, HEALTH_CONTROL_KEY, type AgentCheckOptions, type HealthCheckKind, type HealthCheckOptions, type HealthProbe,
  type ServerCheckOptions,
} from './types';

export * from './types';
export { parseTcpCheckLine, haproxyDirectives } from './haproxy';
export { SessionActions, type SessionActionOptions, type ShutdownCause } from './sessions';
export { compileRules, stepOf, CHECK_STATUS, type CheckStatus, type Ruleset, type Rule } from './tcpcheck/rules';
export { runTcpCheck, type TcpCheckResult } from './tcpcheck/engine';
export { TcpRulesHealthCheck, ProtocolHealthCheck } from './tcpcheck/kinds';
export { HealthErrors, ServerHealthCheck, ServerAgentCheck, TcpHealthCheck, HttpHealthCheck, AgentHealthCheck, parseAgentReply, transitionLine };

export const NAME = '@switchyard/plugin-health-check';

/** What a server-level `check: true` uses when its backend has no healthCheck block. */
export const DEFAULT_HEALTH_CHECK: Readonly<HealthCheckOptions> = Object.freeze({
  type: 'tcp',
  inter: 2000,
  rise: 2,
  fall: 3,
  jitter: 0,
  http: { method: 'GET', path: '/', headers: {}, expect: {}, maxBody: 16384 },
  tls: { enabled: false, verify: false },
  agent: {},
});

type Checked = { check?: boolean | ServerCheckOptions; agentCheck?: boolean | AgentCheckOptions };

function serverOptions<T extends { enabled?: boolean }>(v: boolean | T | undefined): { on: boolean | undefined; opts: Partial<T> } {
  if (v === undefined) return { on: undefined, opts: {} };
  if (typeof v === 'boolean') return { on: v, opts: {} };
  return { on: v.enabled ?? true, opts: v };
}

interface Planned {
  server: ServerState;
  start(delay: number): void;
  stop(): void;
  inter: number;
}

/** Builds every server's checks for one backend; probes are compiled once per backend. */
function planBackend(gateway: GatewayApi, be: BackendState, logger: Logger): Planned[] {
  const where = `backends.${be.name}`;
  const hc = be.config.healthCheck as HealthCheckOptions | undefined;
  const agentDefaults = be.config.agentCheck as AgentCheckOptions | undefined;
  const kindOf = (name: string): HealthCheckKind => {
    const k = gateway.slots.get<HealthCheckKind>(HEALTH_CHECK_SLOT, name);
    if (!k) throw HealthErrors.UNKNOWN_KIND(where, name, gateway.slots.names(HEALTH_CHECK_SLOT).join(', ') || 'none');
    return k;
  };
  const out: Planned[] = [];
  let probe: HealthProbe | undefined;
  let agentProbes: Map<string, HealthProbe> | undefined;
  for (const server of be.servers) {
    const cfg = server.config as typeof server.config & Checked;
    const check = serverOptions(cfg.check);
    const options = hc ?? DEFAULT_HEALTH_CHECK;
    let checker: ServerHealthCheck | null = null;
    if (check.on ?? hc !== undefined) {
      probe ??= kindOf(options.type).compile(options, where);
      const o = check.opts;
      const inter = o.inter ?? options.inter;
      const timing: CheckTiming = {
        inter,
        fastinter: o.fastinter ?? options.fastinter ?? inter,
        downinter: o.downinter ?? options.downinter ?? inter,
        rise: o.rise ?? options.rise,
        fall: o.fall ?? options.fall,
        timeout: o.timeout ?? options.timeout ?? inter,
        jitter: options.jitter,
      };
      // getters: a server moved at run time (set server addr, DNS) is checked where it is now
      const addr = o.address ?? options.address;
      const checkPort = o.port ?? options.port;
      const target = { server, get host() { return addr ?? server.host; }, get port() { return checkPort ?? server.port; }, timeout: timing.timeout };
      const c = new ServerHealthCheck(server, be, probe, target, timing, logger, options.type === 'agent');
      checker = c;
      server.data.set(HEALTH_CONTROL_KEY, c);
      out.push({ server, inter, start: (d) => c.start(d), stop: () => c.stop() });
    }
    const agent = serverOptions(cfg.agentCheck);
    if (agent.on ?? agentDefaults !== undefined) {
      const a = { ...(agentDefaults ?? {}), ...agent.opts };
      if (a.port === undefined) {
        throw HealthErrors.BAD_OPTION(where, `server ${server.name}: an agent check needs a port (agentCheck.port)`);
      }
      const send = a.send;
      agentProbes ??= new Map();
      let agentProbe = agentProbes.get(send ?? '');
      if (!agentProbe) {
        agentProbe = kindOf('agent').compile({ ...DEFAULT_HEALTH_CHECK, type: 'agent', agent: send === undefined ? {} : { send } }, where);
        agentProbes.set(send ?? '', agentProbe);
      }
      const inter = a.inter ?? hc?.inter ?? DEFAULT_HEALTH_CHECK.inter;
      const agentAddr = a.address;
      const target = { server, get host() { return agentAddr ?? server.host; }, port: a.port, timeout: a.timeout ?? inter };
      const loop = new ServerAgentCheck(server, agentProbe, target, inter, logger, checker);
      out.push({ server, inter, start: (d) => loop.start(d), stop: () => loop.stop() });
    }
  }
  return out;
}

/** One row of `health show`. */
export interface HealthStatusRow {
  server: string;
  health: string;
  admin: string;
  weight: number;
  checked: boolean;
  /** False while the checks are paused (runtime API `disable health`). */
  enabled: boolean;
  last: { ok: boolean; reason: string; code?: number | string; info?: string; durationMs: number; at: string } | null;
}

/** Runtime command `health show [backend=<name>]`: every server's state and last check. */
export const healthShowCommand: RuntimeCommand = {
  summary: 'Show each server\'s health, admin state, weight and last check result.',
  args: ['backend'],
  run(gateway, args) {
    const rows: HealthStatusRow[] = [];
    for (const be of gateway.backends.values()) {
      if (args.backend !== undefined && args.backend !== be.name) continue;
      for (const s of be.servers) {
        const c = s.data.get(HEALTH_CONTROL_KEY) as ServerHealthCheck | undefined;
        const l = c?.last ?? null;
        rows.push({
          server: s.id,
          health: s.health,
          admin: s.admin,
          weight: s.weight,
          checked: c !== undefined,
          enabled: c?.enabled ?? false,
          last: l === null ? null : { ok: l.ok, reason: l.reason, code: l.code, info: l.info, durationMs: l.duration, at: new Date(l.at).toISOString() },
        });
      }
    }
    return rows;
  },
};

export const plugin = definePlugin({
  name: NAME,
  version: '0.2.6',
  core: '>=0.1.2 <1.0.0',
  description: 'Active health checks (tcp, http, agent) that mark servers UP and DOWN with rise/fall, spread in time.',
  schema: {
    backend: { healthCheck: healthCheckSchema, agentCheck: backendAgentSchema },
    server: { check: serverCheckSchema, agentCheck: serverAgentSchema, onMarkedDown: onMarkedDownSchema, onMarkedUp: onMarkedUpSchema },
  },
  register({ slots }) {
    slots.provide(HEALTH_CHECK_SLOT, 'tcp', new TcpHealthCheck(), { description: 'TCP connect (TLS handshake with tls.enabled).' });
    slots.provide(HEALTH_CHECK_SLOT, 'http', new HttpHealthCheck(), { description: 'HTTP(S) request with expected status and body.' });
    slots.provide(HEALTH_CHECK_SLOT, 'agent', new AgentHealthCheck(), { description: 'HAProxy agent-check protocol over TCP.' });
    const rules = new TcpRulesHealthCheck();
    slots.provide(HEALTH_CHECK_SLOT, 'tcp-check', rules, { description: rules.description });
    for (const [name, kind] of Object.entries(protocolKinds())) slots.provide(HEALTH_CHECK_SLOT, name, kind, { description: kind.description });
    registerHaproxyDirectives(slots, NAME);
    slots.provide<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'health show', healthShowCommand, { description: healthShowCommand.summary });
  },
  apply(gateway) {
    const logger = gateway.logger.child({ plugin: NAME });
    SessionActions.apply(gateway, logger, NAME);
    const planned: Planned[] = [];
    for (const be of gateway.backends.values()) planned.push(...planBackend(gateway, be, logger));
    if (planned.length === 0) return;
    // Checks start once the gateway listens (not in `prepare` for CLI commands), spread
    // evenly over each one's interval so N servers are never probed in the same instant.
    const start = (): void => {
      planned.forEach((p, i) => p.start(Math.floor((i * p.inter) / planned.length)));
      logger.info({ checks: planned.length }, `health checks started for ${planned.length} server check(s)`);
    };
    gateway.events.once('started', start);
    gateway.onStop(() => {
      gateway.events.off('started', start);
      for (const p of planned) p.stop();
    });
  },
});

export default plugin;
