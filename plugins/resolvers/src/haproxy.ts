import * as net from 'node:net';
import type { HaproxyAdaptContext, HaproxyDirective } from '@switchyard/sdk';

const NAME = '@switchyard/plugin-resolvers';

const HOLD = new Set(['nx', 'refused', 'timeout', 'other', 'valid', 'obsolete']);

/** `resolvers <name>` and its lines → `resolvers.<name>`. */
const resolversSection: HaproxyDirective = {
  scope: 'section',
  keyword: 'resolvers',
  plugin: NAME,
  description: 'resolvers <name> (nameserver, parse-resolv-conf, resolve_retries, timeout resolve|retry, hold, accepted_payload_size) → resolvers.<name>',
  handle(ctx) {
    const name = ctx.section.name;
    if (!name) return ctx.problem('resolvers needs a name');
    const out: Record<string, unknown> = { nameservers: [] };
    const nameservers = out.nameservers as Array<{ name: string; address: string }>;
    for (const { words: w, line } of ctx.lines) {
      const at = `line ${line}: ${w.join(' ')}`;
      switch (w[0]) {
        case 'nameserver': {
          const [, id, addr] = w;
          if (!id || !addr) {
            ctx.problem(`${at}: nameserver needs a name and an address`);
            break;
          }
          if (w.length > 3) ctx.warn(`${at}: nameserver parameters after the address ignored (UDP queries to the address)`);
          let a = addr;
          const prefix = /^(udp|udp4|udp6|ipv4|ipv6|tcp|tcp4|tcp6)@/.exec(a);
          if (prefix) {
            a = a.slice(prefix[0].length);
            if (prefix[1]!.startsWith('tcp')) ctx.warn(`${at}: queried over UDP — Node.js's resolver (c-ares) goes to TCP by itself only for a truncated answer`);
          }
          const host = a.startsWith('[') ? a.slice(1, a.indexOf(']')) : net.isIPv6(a) ? a : a.replace(/:\d+$/, '');
          if (!net.isIP(host)) {
            ctx.problem(`${at}: the nameserver must be an IP address (Node.js's resolver takes no host names)`);
            break;
          }
          nameservers.push({ name: id, address: a });
          break;
        }
        case 'parse-resolv-conf':
          out.parseResolvConf = true;
          break;
        case 'resolve_retries': {
          const n = ctx.int(w[1]);
          if (n !== undefined && n >= 1) out.resolveRetries = n;
          else ctx.problem(`${at}: resolve_retries needs a number >= 1`);
          break;
        }
        case 'timeout': {
          if (w[1] !== 'resolve' && w[1] !== 'retry') {
            ctx.problem(`${at}: resolvers timeouts are "resolve" and "retry"`);
            break;
          }
          const d = ctx.duration(w[2]);
          if (d !== undefined) ((out.timeouts ??= {}) as Record<string, unknown>)[w[1]] = d;
          break;
        }
        case 'hold': {
          if (!w[1] || !HOLD.has(w[1])) {
            ctx.problem(`${at}: hold status must be one of nx, refused, timeout, other, valid, obsolete`);
            break;
          }
          const d = ctx.duration(w[2]);
          if (d !== undefined) ((out.hold ??= {}) as Record<string, unknown>)[w[1]] = d;
          break;
        }
        case 'accepted_payload_size': {
          const n = ctx.int(w[1]);
          if (n === undefined || n < 512 || n > 65535) ctx.problem(`${at}: accepted_payload_size must be 512-65535`);
          else {
            out.acceptedPayloadSize = n;
            ctx.warn(`${at}: accepted_payload_size is checked but not sent: Node.js's resolver (c-ares) sets its own EDNS payload size`);
          }
          break;
        }
        default:
          ctx.problem(`${at}: unknown resolvers directive "${w[0] ?? ''}"`);
      }
    }
    ctx.set(['resolvers', name], out);
  },
};

/** Server options: each writes one key of the server object. */
function serverOption(keyword: string, description: string, read: (ctx: HaproxyAdaptContext, value: string) => unknown): HaproxyDirective {
  return {
    scope: 'server',
    keyword,
    plugin: NAME,
    description,
    handle(ctx) {
      const v = ctx.take();
      if (v === undefined || !ctx.target) return;
      const out = read(ctx, v);
      if (out === undefined) return;
      const key = keyword === 'resolvers' ? 'resolvers' : keyword === 'init-addr' ? 'initAddr' : keyword === 'resolve-prefer' ? 'resolvePrefer' : keyword === 'resolve-opts' ? 'resolveOpts' : 'resolveNet';
      ctx.target[key] = out;
      const target = ctx.target;
      if (keyword === 'resolvers') {
        ctx.onFinish(() => {
          if (ctx.get(['resolvers', v]) === undefined) ctx.problem(`no resolvers section named "${v}"`);
        });
      } else {
        const state = ctx.local<{ warned: boolean }>(`resolvers.${keyword}`, () => ({ warned: false }));
        ctx.onFinish(() => {
          if (target.resolvers === undefined && !state.warned) {
            state.warned = true;
            ctx.warn(`server "${keyword}" without "resolvers": the name is resolved by the system resolver at each connection`);
          }
        });
      }
    },
  };
}

const INIT = /^(last|libc|none)$/;

export const directives: ReadonlyArray<HaproxyDirective> = [
  resolversSection,
  serverOption('resolvers', 'server … resolvers <id> → servers[].resolvers (DNS resolution at run time)', (_ctx, v) => v),
  serverOption('init-addr', 'server … init-addr last,libc,none,<ip> → servers[].initAddr', (ctx, v) => {
    const list = v.split(',').filter(Boolean);
    const bad = list.find((m) => !INIT.test(m) && !net.isIP(m));
    if (bad !== undefined || list.length === 0) {
      ctx.problem(`init-addr: "${bad ?? v}" is not last, libc, none or an IP address`);
      return undefined;
    }
    return list;
  }),
  serverOption('resolve-prefer', 'server … resolve-prefer ipv4|ipv6 → servers[].resolvePrefer', (ctx, v) => {
    if (v !== 'ipv4' && v !== 'ipv6') {
      ctx.problem('resolve-prefer must be ipv4 or ipv6');
      return undefined;
    }
    return v;
  }),
  serverOption('resolve-opts', 'server … resolve-opts allow-dup-ip,prevent-dup-ip,ignore-weight → servers[].resolveOpts', (ctx, v) => {
    const list = v.split(',').filter(Boolean);
    const bad = list.find((o) => !['allow-dup-ip', 'prevent-dup-ip', 'ignore-weight'].includes(o));
    if (bad !== undefined) {
      ctx.problem(`resolve-opts: unknown option "${bad}" (allow-dup-ip, prevent-dup-ip, ignore-weight)`);
      return undefined;
    }
    return list;
  }),
  serverOption('resolve-net', 'server … resolve-net <cidr>[,…] → servers[].resolveNet', (ctx, v) => {
    const list = v.split(',').filter(Boolean);
    const bad = list.find((n) => !/^[0-9A-Fa-f:.]+\/\d+$/.test(n) || !net.isIP(n.slice(0, n.indexOf('/'))));
    if (bad !== undefined) {
      ctx.problem(`resolve-net: "${bad}" is not a CIDR block`);
      return undefined;
    }
    return list;
  }),
];
