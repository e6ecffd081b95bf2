import * as os from 'node:os';
import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, type HaproxyAdaptContext, type HaproxyDirective, type SlotRegistry } from '@switchyard/sdk';
import { parseStickTableWords } from '@switchyard/plugin-rate-limit';
import type { PeerConfig, PeersSectionConfig } from './index';

const NAME = '@switchyard/plugin-peers';
const RATE_LIMIT = '@switchyard/plugin-rate-limit';

/** The local peer's name from the global section (`localpeer`). */
const LOCAL_KEY = ['peers', 'localName'] as const;

/** `host:port`, `ipv4@host:port`, `*:port` → host:port; `fd@N` → a descriptor. */
function address(text: string): { address?: string; fd?: number } | string {
  const fd = /^fd@(\d+)$/.exec(text);
  if (fd) return { fd: Number(fd[1]) };
  const a = text.replace(/^(ipv4|ipv6|tcp|tcp4|tcp6)@/, '');
  if (!/:\d+$/.test(a)) return `"${text}" is not an address with a port`;
  return { address: a.replace(/^\*:/, '0.0.0.0:').replace(/^:/, '0.0.0.0:') };
}

interface TlsWords {
  ssl: boolean;
  verify: boolean;
  cert?: string;
  ca?: string;
}

/** Reads `ssl`, `crt`, `ca-file`, `verify` out of server/bind options; returns what is left unknown. */
function tlsWords(ctx: HaproxyAdaptContext, words: ReadonlyArray<string>, into: TlsWords): string[] {
  const unknown: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'ssl') into.ssl = true;
    else if (w === 'no-ssl') into.ssl = false;
    else if (w === 'crt' && words[i + 1]) into.cert = ctx.resolveFile(words[++i]!);
    else if (w === 'ca-file' && words[i + 1]) into.ca = ctx.resolveFile(words[++i]!);
    else if (w === 'verify' && words[i + 1]) into.verify = words[++i] !== 'none';
    else unknown.push(w);
  }
  return unknown;
}

/**
 * `peers <name>` section: `peer <n> <addr>`, `server <n> [<addr>]`, `bind <addr> [ssl crt …]`,
 * `default-server [ssl] [crt …] [verify none]`, `table <t> type … size … store …`, `disabled`.
 * The local peer is `localpeer` (global), else the host name (HAProxy's default), else the
 * one `server` line without an address.
 */
function peersSection(ctx: HaproxyAdaptContext): void {
  const name = ctx.section.name;
  const peers: Array<PeerConfig & { declaredLocal?: boolean }> = [];
  const section: PeersSectionConfig = { name, peers: [] };
  const defaults: TlsWords = { ssl: false, verify: true };
  let problem = false;
  const fail = (why: string): void => {
    problem = true;
    ctx.problem(why);
  };
  for (const l of ctx.lines) {
    const [kw, ...args] = l.words;
    switch (kw) {
      case 'peer':
      case 'server': {
        const [pname, addr, ...opts] = args;
        if (!pname) {
          fail(`peers ${name} line ${l.line}: ${kw} needs a name`);
          break;
        }
        const p: PeerConfig & { declaredLocal?: boolean } = { name: pname };
        let rest = opts;
        if (addr !== undefined && /:\d+$|^fd@/.test(addr)) {
          const a = address(addr);
          if (typeof a === 'string') fail(`peers ${name} line ${l.line}: ${a}`);
          else if (a.address) p.address = a.address;
        } else if (addr !== undefined) rest = [addr, ...opts];
        else if (kw === 'server') p.declaredLocal = true;
        const t: TlsWords = { ...defaults };
        const unknown = tlsWords(ctx, rest, t);
        if (unknown.length > 0) ctx.warn(`peers ${name} line ${l.line}: ${unknown.join(' ')} ignored`);
        if (t.ssl) p.tls = { verify: t.verify, ...(t.cert ? { cert: t.cert } : {}), ...(t.ca ? { ca: t.ca } : {}) };
        peers.push(p);
        break;
      }
      case 'default-server': {
        const unknown = tlsWords(ctx, args, defaults);
        if (unknown.length > 0) ctx.warn(`peers ${name} line ${l.line}: default-server ${unknown.join(' ')} ignored`);
        break;
      }
      case 'bind': {
        const [addr, ...opts] = args;
        const a = address(addr ?? '');
        if (typeof a === 'string') {
          fail(`peers ${name} line ${l.line}: bind ${a}`);
          break;
        }
        const t: TlsWords = { ssl: false, verify: true };
        const unknown = tlsWords(ctx, opts, t);
        if (unknown.length > 0) ctx.warn(`peers ${name} line ${l.line}: bind ${unknown.join(' ')} ignored`);
        section.bind = { ...a, ...(t.ssl && t.cert ? { tls: { cert: t.cert } } : {}) };
        if (t.ssl && !t.cert) fail(`peers ${name} line ${l.line}: bind ssl needs crt <pem>`);
        break;
      }
      case 'table': {
        const [tname, ...words] = args;
        if (!tname) {
          fail(`peers ${name} line ${l.line}: table needs a name`);
          break;
        }
        const cfg = parseStickTableWords(`${name}/${tname}`, words);
        if (typeof cfg === 'string') {
          fail(`peers ${name} line ${l.line}: ${cfg}`);
          break;
        }
        ctx.use(RATE_LIMIT);
        ctx.push(['rateLimit', 'tables'], { ...cfg, peers: name, syncName: tname });
        break;
      }
      case 'disabled':
      case 'enabled':
      case 'log':
        ctx.warn(`peers ${name} line ${l.line}: ${kw} ignored`);
        break;
      default:
        fail(`peers ${name} line ${l.line}: "${kw}" is not supported in a peers section (peer, server, bind, default-server, table)`);
    }
  }
  if (problem) return;
  ctx.onFinish(() => {
    const configured = ctx.get([...LOCAL_KEY]) as string | undefined;
    const host = os.hostname();
    // HAProxy takes -L, else `localpeer`, else the host name; Switchyard has no -L, so a
    // `server` line without address (which only the local peer may have) names it too.
    const local = configured ?? (peers.some((p) => p.name === host) ? host : peers.find((p) => p.declaredLocal)?.name);
    if (!local) {
      ctx.problem(`peers ${name}: no local peer: HAProxy takes it from -L or the host name ("${host}"); add "localpeer <name>" to the global section, or declare it as a "server <name>" line without address`);
      return;
    }
    if (local !== configured) section.local = local;
    section.peers = peers.map(({ declaredLocal: _d, ...p }) => p);
    ctx.push(['peers', 'sections'], section);
  });
}

/** The haproxy.cfg directives this plugin understands. */
export function provideHaproxyDirectives(slots: SlotRegistry): void {
  const section: HaproxyDirective = { scope: 'section', keyword: 'peers', plugin: NAME, description: 'peers sections: HAProxy\'s peers protocol', handle: peersSection };
  slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName('section', 'peers'), section, { description: section.description });
  const localpeer: HaproxyDirective = {
    scope: 'global',
    keyword: 'localpeer',
    plugin: NAME,
    description: 'localpeer <name>: this process\'s name in peers sections',
    handle: (ctx) => {
      if (!ctx.args[0]) return ctx.problem('localpeer needs a name');
      ctx.set([...LOCAL_KEY], ctx.args[0]);
    },
  };
  slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName('global', 'localpeer'), localpeer, { description: localpeer.description });
}
