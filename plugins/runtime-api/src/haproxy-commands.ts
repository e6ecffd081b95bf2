import * as net from 'node:net';
import { showSessions, shutdownSession } from './sessions';
import type { GatewayApi, ServerState } from '@switchyard/sdk';
import { SwitchyardError } from '@switchyard/sdk';
import { describeServer, dynamicWeights, HEALTH_CONTROL_KEY, HEALTH_DISABLED_KEY, parseWeight, statsServiceId } from './commands';
import type { Level } from './levels';

/** What a HAProxy CLI command answers: its text (without the final empty line). */
export type CliAnswer = string;

export interface CliCommandContext {
  readonly gateway: GatewayApi;
  readonly words: string[];
  readonly payload: string | undefined;
  readonly startedAt: number;
}

export interface HaproxyCliCommand {
  /** The words that name it: ['show', 'servers', 'state']. */
  readonly name: ReadonlyArray<string>;
  readonly usage: string;
  readonly help: string;
  readonly level: Level;
  run(ctx: CliCommandContext): CliAnswer | Promise<CliAnswer>;
}


interface StatsServiceLike {
  collector: { snapshot(withHistory?: boolean): unknown };
  /** The `;csv` / `show stat` text, when the stats plugin offers it. */
  csv?: () => string;
}

interface CheckLike {
  enabled?: boolean;
  last?: { ok?: boolean; status?: string } | null;
}

class CliError extends Error {}

/** Server keywords HAProxy knows (so `add server` says "not supported" rather than "unknown keyword"). */
const KNOWN_SERVER_KEYWORDS = new Set([
  'check', 'inter', 'fastinter', 'downinter', 'rise', 'fall', 'port', 'addr', 'agent-check', 'agent-addr', 'agent-port', 'agent-send', 'agent-inter',
  'send-proxy', 'send-proxy-v2', 'check-send-proxy', 'ssl', 'verify', 'crt', 'ca-file', 'sni', 'alpn', 'check-ssl', 'track', 'id', 'cookie', 'slowstart',
  'maxqueue', 'minconn', 'observe', 'on-error', 'error-limit', 'redir', 'source', 'tfo', 'pool-max-conn', 'pool-purge-delay', 'ws', 'no-check', 'init-addr', 'resolvers',
]);

const fail = (message: string): never => {
  throw new CliError(message);
};

/** `backend/server` → the server, with HAProxy's messages. */
function serverArg(gateway: GatewayApi, ref: string | undefined): ServerState {
  if (!ref) return fail("Require 'backend/server'.");
  const i = ref.indexOf('/');
  if (i === -1) return fail("Require 'backend/server'.");
  const be = gateway.backends.get(ref.slice(0, i));
  if (!be) return fail('No such backend.');
  const s = be.server(ref.slice(i + 1));
  if (!s) return fail('No such server.');
  return s;
}

/** Proxy ids as HAProxy numbers them (frontends, then backends, in config order, from 1). */
function proxyIds(gateway: GatewayApi): Map<string, number> {
  const ids = new Map<string, number>();
  let n = 0;
  for (const name of gateway.frontends.keys()) if (!ids.has(name)) ids.set(name, ++n);
  for (const name of gateway.backends.keys()) if (!ids.has(name)) ids.set(name, ++n);
  return ids;
}

function weightOrFail(s: ServerState, value: string | undefined, dynamic: boolean): number {
  try {
    return parseWeight(s, value, dynamic);
  } catch (err) {
    return fail(err instanceof SwitchyardError ? err.message : String(err));
  }
}

function showServersState(gateway: GatewayApi, only: string | undefined): CliAnswer {
  if (only !== undefined && !gateway.backends.has(only)) return fail(`Can't find backend.`);
  const ids = proxyIds(gateway);
  const lines = [
    '1',
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port',
  ];
  for (const be of gateway.backends.values()) {
    if (only !== undefined && be.name !== only) continue;
    be.servers.forEach((s, i) => {
      const ctl = s.data.get(HEALTH_CONTROL_KEY) as CheckLike | undefined;
      const checked = ctl !== undefined;
      const enabled = checked && s.data.get(HEALTH_DISABLED_KEY) !== true;
      // srv_op_state: 0 stopped, 2 running; srv_admin_state: 0x01 forced maint, 0x08 forced drain.
      const op = s.health === 'down' ? 0 : 2;
      const admin = s.admin === 'maint' ? 1 : s.admin === 'drain' ? 8 : 0;
      const since = Math.max(0, Math.floor((Date.now() - s.lastChange) / 1000));
      // check status/result/health/state as HAProxy codes them: 6 L4OK / 3 passed / 0x06 configured+enabled.
      const status = !checked ? 0 : ctl!.last ? (ctl!.last.ok ? 6 : 7) : 1;
      const result = !checked || !ctl!.last ? 0 : ctl!.last.ok ? 3 : 2;
      const state = !checked ? 0 : enabled ? 6 : 2;
      const tls = s.config.tls ? 1 : 0;
      lines.push(
        [ids.get(be.name), be.name, i + 1, s.name, s.host, op, admin, s.weight, s.config.weight, since, status, result, s.health === 'up' && checked ? 1 : 0, state, 0, 0, 0, '-', s.port, '-', tls, 0, '-', '-', 0].join(' '),
      );
    });
  }
  return lines.join('\n');
}

function showInfo(ctx: CliCommandContext): CliAnswer {
  const g = ctx.gateway;
  let conns = 0;
  for (const fe of g.frontends.values()) conns += fe.connections;
  const up = Math.floor((Date.now() - ctx.startedAt) / 1000);
  const d = Math.floor(up / 86400);
  const uptime = `${d}d ${Math.floor((up % 86400) / 3600)}h${String(Math.floor((up % 3600) / 60)).padStart(2, '0')}m${String(up % 60).padStart(2, '0')}s`;
  const worker = Number(process.env.NODE_UNIQUE_ID ?? '0') || 0;
  const maxconn = (g.config as { connLimit?: { maxconn?: number } }).connLimit?.maxconn ?? 0;
  const rows: Array<[string, string | number]> = [
    ['Name', 'Switchyard'],
    ['Version', g.coreVersion],
    ['Nbthread', 1],
    ['Nbproc', 1],
    ['Process_num', worker + 1],
    ['Pid', process.pid],
    ['Uptime', uptime],
    ['Uptime_sec', up],
    ['Memmax_MB', 0],
    ['Maxconn', maxconn],
    ['CurrConns', conns],
    ['Node', require('node:os').hostname()],
  ];
  return rows.map(([k, v]) => `${k}: ${v}`).join('\n');
}

function showStat(ctx: CliCommandContext): CliAnswer {
  const g = ctx.gateway;
  const statsId = statsServiceId();
  if (statsId === undefined || !g.container.isRegistered(statsId)) return fail('show stat needs @switchyard/plugin-stats (in the standard preset).');
  const svc = g.container.resolve<StatsServiceLike>(statsId);
  if (typeof svc.csv === 'function') return svc.csv().replace(/\n+$/, '');
  // One CSV builder, @switchyard/plugin-stats' (the page's ;csv): loaded lazily, so the
  // runtime API does not need the stats plugin unless `show stat` is used.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { toCsv } = require('@switchyard/plugin-stats') as { toCsv: (snap: unknown) => string };
  return toCsv(svc.collector.snapshot()).replace(/\n+$/, '');
}

function setState(s: ServerState, state: string | undefined): CliAnswer {
  if (state !== 'ready' && state !== 'drain' && state !== 'maint') return fail("'set server <srv> state' expects 'ready', 'drain' and 'maint'.");
  s.setAdmin(state, 'runtime API (CLI)');
  return '';
}

function setHealth(s: ServerState, value: string | undefined): CliAnswer {
  if (value === 'up') s.setHealth('up', 'runtime API (CLI)');
  else if (value === 'down' || value === 'stopping') s.setHealth('down', 'runtime API (CLI)');
  else fail("'set server <srv> health' expects 'up', 'stopping', or 'down'.");
  return '';
}

/** `set server <b>/<s> addr <ip> [port <p>]`, answered as HAProxy words it (srv_update_addr_port). */
function setAddr(s: ServerState, args: string[]): CliAnswer {
  const [addr, kw, portText] = args;
  if (addr === undefined) return fail('set server <b>/<s> addr requires an address and optionally a port.');
  if (net.isIP(addr) === 0) return fail(`Invalid addr '${addr}' by 'stats socket command'`);
  const parts: string[] = [];
  const oldHost = s.host;
  const oldPort = s.port;
  let port: number | undefined;
  let portProblem: string | undefined;
  if (kw === 'port' && portText !== undefined) {
    const n = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (Number.isInteger(n) && n > 0 && n < 65536) port = n;
    else portProblem = `problem converting port '${portText}' to an int`;
  }
  parts.push(oldHost === addr ? 'no need to change the addr' : `IP changed from '${oldHost}' to '${addr}'`);
  if (portProblem) parts.push(portProblem);
  else if (port !== undefined) parts.push(port === oldPort ? 'no need to change the port' : `port changed from '${oldPort}' to '${port}'`);
  if (oldHost !== addr || (port !== undefined && port !== oldPort)) s.setAddress(addr, port, 'runtime API (CLI)');
  return `${parts.join(', ')} by 'stats socket command'`;
}

function setFqdn(s: ServerState, value: string | undefined): CliAnswer {
  if (!value) return fail('set server <b>/<s> fqdn requires a FQDN.');
  // Resolution at run time belongs to a resolvers section; without one HAProxy refuses the same way.
  if ((s.config as { resolvers?: unknown }).resolvers === undefined) return fail('set server <b>/<s> fqdn failed because no resolution is configured.');
  return fail('set server <b>/<s> fqdn is not supported here: change the server\'s address with `set server <b>/<s> addr`.');
}

function setCheck(s: ServerState, what: 'check-port' | 'check-addr', value: string | undefined): CliAnswer {
  if (value === undefined) return fail(what === 'check-port' ? 'set server <b>/<s> check-port requires a port.' : 'set server <b>/<s> check-addr requires an address.');
  if (!s.data.has(HEALTH_CONTROL_KEY)) return fail('health checks are not enabled on this server');
  return fail(`set server <b>/<s> ${what} is not supported: the health check's address and port are set in the config`);
}

function setAgent(s: ServerState, what: string): CliAnswer {
  if (!s.data.has(HEALTH_CONTROL_KEY)) return fail('agent checks are not enabled on this server.');
  return fail(`set server <b>/<s> ${what} is not supported: agent checks are set in the config`);
}

function healthSwitch(s: ServerState, on: boolean): CliAnswer {
  const ctl = s.data.get(HEALTH_CONTROL_KEY) as { setEnabled?: (b: boolean) => void } | undefined;
  if (!ctl) return '';
  if (on) s.data.delete(HEALTH_DISABLED_KEY);
  else s.data.set(HEALTH_DISABLED_KEY, true);
  ctl.setEnabled?.(on);
  return '';
}

/** `add server <b>/<s> <addr>:<port> [weight <w>] [backup] [maxconn <n>] …` (unknown keywords refused). */
function addServer(ctx: CliCommandContext): CliAnswer {
  const ref = ctx.words[2];
  if (!ref || !ref.includes('/')) return fail("'server' expects <name> and <addr>[:<port>] as arguments.");
  const [bname, sname] = [ref.slice(0, ref.indexOf('/')), ref.slice(ref.indexOf('/') + 1)];
  const be = ctx.gateway.backends.get(bname);
  if (!be) return fail(`No such backend.`);
  if (!dynamicWeights(be)) return fail('Backend must use a dynamic load balancing to support dynamic servers.');
  const address = ctx.words[3];
  if (!address) return fail("'server' expects <name> and <addr>[:<port>] as arguments.");
  if (be.server(sname)) return fail(`Already exists a server with the same name in backend.`);
  let weight: number | undefined;
  let maxconn: number | undefined;
  let backup = false;
  for (let i = 4; i < ctx.words.length; i++) {
    const w = ctx.words[i]!;
    if (w === 'weight' || w === 'maxconn') {
      const n = Number(ctx.words[++i]);
      if (!Number.isInteger(n) || n < 0 || (w === 'weight' && n > 256)) return fail(`'${w}' expects an integer argument.`);
      if (w === 'weight') weight = n;
      else maxconn = n;
    } else if (w === 'backup') backup = true;
    else if (w === 'disabled' || w === 'enabled') continue;
    else if (w === 'proto') {
      const proto = ctx.words[++i];
      if (be.config.mode === 'tcp' && proto !== undefined && proto !== 'none') return fail('MUX protocol is not usable for server.');
      if (proto !== 'h1') return fail(`'proto ${proto ?? ''}' is not supported on dynamic servers here (only h1).`);
    } else if (KNOWN_SERVER_KEYWORDS.has(w)) return fail(`'${w}' is not supported on dynamic servers here (weight, maxconn, backup, proto h1).`);
    else return fail(`unknown keyword '${w}'`);
  }
  try {
    const s = be.addServer({ name: sname, address, weight, maxconn, backup });
    // HAProxy adds dynamic servers in maintenance: `enable server` puts them in rotation.
    s.setAdmin('maint', 'added by the runtime API (CLI); enable server to start it');
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  return 'New server registered.';
}

function delServer(ctx: CliCommandContext): CliAnswer {
  const s = serverArg(ctx.gateway, ctx.words[2]);
  if (s.admin !== 'maint') return fail('Only servers in maintenance mode can be deleted.');
  if (s.active > 0) return fail('Server still has connections attached to it, cannot remove it.');
  ctx.gateway.backends.get(s.backend)!.removeServer(s.name);
  return 'Server deleted.';
}

export const HAPROXY_CLI_COMMANDS: ReadonlyArray<HaproxyCliCommand> = [
  { name: ['show', 'info'], usage: 'show info', help: 'report information about the running process', level: 'user', run: showInfo },
  { name: ['show', 'stat'], usage: 'show stat', help: 'report counters for each proxy and server (CSV)', level: 'user', run: showStat },
  {
    name: ['show', 'servers', 'state'],
    usage: 'show servers state [<backend>]',
    help: 'dump volatile server information (all or for a single backend)',
    level: 'user',
    run: (ctx) => showServersState(ctx.gateway, ctx.words[3]),
  },
  {
    name: ['show', 'backend'],
    usage: 'show backend',
    help: 'list backends in the current running config',
    level: 'user',
    run: (ctx) => ['# name', ...ctx.gateway.backends.keys()].join('\n'),
  },
  {
    name: ['get', 'weight'],
    usage: 'get weight <bk>/<srv>',
    help: 'report a server\'s current weight',
    level: 'user',
    run: (ctx) => {
      const s = serverArg(ctx.gateway, ctx.words[2]);
      return `${s.weight} (initial ${s.config.weight})`;
    },
  },
  {
    name: ['set', 'weight'],
    usage: 'set weight <bk>/<srv> <weight>[%]',
    help: 'change a server\'s weight (deprecated)',
    level: 'operator',
    run: (ctx) => {
      const s = serverArg(ctx.gateway, ctx.words[2]);
      s.setWeight(weightOrFail(s, ctx.words[3], dynamicWeights(ctx.gateway.backends.get(s.backend))), 'runtime API (CLI)');
      return '';
    },
  },
  {
    name: ['set', 'server'],
    usage: 'set server <bk>/<srv> [opts]',
    help: 'change a server\'s state, weight, address or health (addr <ip> [port <p>] | state ready|drain|maint | weight <w>[%] | health up|stopping|down)',
    level: 'operator',
    run: (ctx) => {
      const s = serverArg(ctx.gateway, ctx.words[2]);
      const [what, value] = [ctx.words[3], ctx.words[4]];
      if (what === 'state') return setState(s, value);
      if (what === 'weight') {
        s.setWeight(weightOrFail(s, value, dynamicWeights(ctx.gateway.backends.get(s.backend))), 'runtime API (CLI)');
        return '';
      }
      if (what === 'health') return setHealth(s, value);
      if (what === 'addr') return setAddr(s, ctx.words.slice(4));
      if (what === 'fqdn') return setFqdn(s, value);
      if (what === 'check-port' || what === 'check-addr') return setCheck(s, what, value);
      if (what === 'agent' || what === 'agent-addr' || what === 'agent-port' || what === 'agent-send') return setAgent(s, what);
      if (what === 'ssl') return fail("'set server <srv> ssl' is not supported: a server's TLS is set in the config (servers[].tls)");
      return fail('usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight');
    },
  },
  {
    name: ['enable', 'server'],
    usage: 'enable server <bk>/<srv>',
    help: 'enable a disabled server (leave maintenance)',
    level: 'operator',
    run: (ctx) => setState(serverArg(ctx.gateway, ctx.words[2]), 'ready'),
  },
  {
    name: ['disable', 'server'],
    usage: 'disable server <bk>/<srv>',
    help: 'disable a server for maintenance',
    level: 'operator',
    run: (ctx) => setState(serverArg(ctx.gateway, ctx.words[2]), 'maint'),
  },
  {
    name: ['enable', 'health'],
    usage: 'enable health <bk>/<srv>',
    help: 'enable health checks',
    level: 'operator',
    run: (ctx) => healthSwitch(serverArg(ctx.gateway, ctx.words[2]), true),
  },
  {
    name: ['disable', 'health'],
    usage: 'disable health <bk>/<srv>',
    help: 'disable health checks',
    level: 'operator',
    run: (ctx) => healthSwitch(serverArg(ctx.gateway, ctx.words[2]), false),
  },
  { name: ['show', 'sess'], usage: 'show sess', help: 'report the list of current sessions', level: 'user', run: (ctx) => showSessions(ctx.gateway) },
  {
    name: ['shutdown', 'session'],
    usage: 'shutdown session <id>',
    help: 'kill a specific session',
    level: 'admin',
    run: (ctx) => {
      const out = shutdownSession(ctx.gateway, ctx.words[2]);
      return out === '' ? '' : fail(out ?? '');
    },
  },
  { name: ['add', 'server'], usage: 'add server <bk>/<srv> <addr>:<port> [weight <w>] [backup]', help: 'create a new server (in maintenance)', level: 'admin', run: addServer },
  { name: ['del', 'server'], usage: 'del server <bk>/<srv>', help: 'remove a server in maintenance', level: 'admin', run: delServer },
];

export function findCliCommand(words: ReadonlyArray<string>): HaproxyCliCommand | undefined {
  let best: HaproxyCliCommand | undefined;
  for (const c of HAPROXY_CLI_COMMANDS) {
    if (c.name.length <= words.length && c.name.every((w, i) => words[i] === w) && (!best || c.name.length > best.name.length)) best = c;
  }
  return best;
}

export { CliError, describeServer };
