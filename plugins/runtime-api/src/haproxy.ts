import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, parseDuration, type HaproxyAdaptContext, type HaproxyDirective, type SlotRegistry } from '@switchyard/sdk';
import { LEVELS } from './levels';

const NAME = '@switchyard/plugin-runtime-api';

/** Bind options of a stats socket that change nothing here. */
const IGNORED = new Set(['expose-fd', 'name', 'process', 'thread', 'severity-output', 'accept-netscaler-cip', 'defer-accept', 'nice']);
/** …and those of them that take an argument. */
const WITH_ARG = new Set(['expose-fd', 'name', 'process', 'thread', 'severity-output', 'accept-netscaler-cip', 'nice']);

/**
 * `stats socket <address> [level user|operator|admin] [mode <octal>] [user <u>] [group <g>] [uid <n>] [gid <n>]`
 * → `runtimeApi.sockets[]`; `stats timeout <t>` → every socket's timeout; `stats maxconn` is a warning.
 */
function statsDirective(ctx: HaproxyAdaptContext): void {
  const [what, address, ...rest] = ctx.args;
  const state = ctx.local('runtime-api.stats', () => ({ timeout: undefined as number | undefined, sockets: [] as Array<Record<string, unknown>> }));
  if (what === 'timeout') {
    const d = ctx.duration(address);
    if (d === undefined) return;
    state.timeout = typeof d === 'number' ? d : parseDuration(d);
    for (const s of state.sockets) s.timeout = state.timeout;
    return;
  }
  if (what === 'maxconn') {
    ctx.warn('"stats maxconn" ignored: CLI sessions are not limited in number');
    return;
  }
  if (what !== 'socket') {
    ctx.problem(`unknown global stats setting "${what ?? ''}"`);
    return;
  }
  if (!address) {
    ctx.problem('stats socket needs an address (a unix socket path, ipv4@host:port or fd@N)');
    return;
  }
  const socket: Record<string, unknown> = {};
  const fd = /^fd@(\d+)$/.exec(address);
  const tcp = /^(?:ipv4@|ipv6@|tcp@|tcp4@|tcp6@)(.*)$/.exec(address);
  if (fd) socket.fd = Number(fd[1]);
  else if (address.startsWith('fd@')) return ctx.problem(`stats socket "${address}": fd@ needs a descriptor number`);
  else if (tcp) socket.address = tcp[1]!.replace(/^\*:/, '0.0.0.0:');
  else if (/^(abns|sockpair|udp[46]?)@/.test(address)) return ctx.problem(`stats socket "${address}": only unix sockets, ipv4@/ipv6@ addresses and fd@N are supported`);
  else if (/^[^/]*:\d+$/.test(address)) socket.address = address.replace(/^\*:/, '0.0.0.0:');
  else socket.path = ctx.resolveFile(address.replace(/^unix@/, ''));
  for (let i = 0; i < rest.length; i++) {
    const o = rest[i]!;
    const arg = rest[i + 1];
    switch (o) {
      case 'level':
        if (!arg || !(LEVELS as ReadonlyArray<string>).includes(arg)) return ctx.problem('stats socket level must be user, operator or admin');
        socket.level = arg;
        i++;
        break;
      case 'mode':
        if (!arg || !/^[0-7]{1,4}$/.test(arg)) return ctx.problem('stats socket mode must be an octal file mode');
        socket.mode = arg.padStart(3, '0');
        i++;
        break;
      case 'user':
      case 'uid':
        if (!arg) return ctx.problem(`stats socket ${o} needs a value`);
        socket.user = /^\d+$/.test(arg) ? Number(arg) : arg;
        i++;
        break;
      case 'group':
      case 'gid':
        if (!arg) return ctx.problem(`stats socket ${o} needs a value`);
        socket.group = /^\d+$/.test(arg) ? Number(arg) : arg;
        i++;
        break;
      default:
        if (IGNORED.has(o)) {
          ctx.warn(`stats socket option "${o}" ignored`);
          if (WITH_ARG.has(o)) i++;
          break;
        }
        return ctx.problem(`stats socket option "${o}" is not supported`);
    }
  }
  if (state.timeout !== undefined) socket.timeout = state.timeout;
  if (state.sockets.length === 0) {
    // `show stat` is the stats plugin's CSV: load its collector, without a page of its own
    // unless the file asks for one (`stats enable` / `stats uri` in a proxy).
    ctx.use('@switchyard/plugin-stats');
    ctx.onFinish(() => {
      if (ctx.get(['stats', 'enabled']) === undefined) ctx.set(['stats', 'enabled'], false);
    });
  }
  state.sockets.push(socket);
  ctx.push(['runtimeApi', 'sockets'], socket);
}

/** The haproxy.cfg directives this plugin understands. */
export function provideHaproxyDirectives(slots: SlotRegistry): void {
  const stats: HaproxyDirective = {
    scope: 'global',
    keyword: 'stats',
    plugin: NAME,
    description: 'stats socket / stats timeout: HAProxy\'s CLI on the runtime API',
    handle: statsDirective,
  };
  slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName('global', 'stats'), stats, { description: stats.description });
}
