import * as path from 'node:path';
import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, parseDuration, type HaproxyDirective, type HaproxyScope, type SlotRegistry } from '@switchyard/sdk';
import { joinWords, type Directive, type Env, type Section } from './parse';
import type { HaproxyAdaptOptions } from './adapt';

export type Obj = Record<string, unknown>;
export type KeyPath = Array<string | number>;

export const PRESET = '@switchyard/preset-standard';
export const P = (x: string): string => `@switchyard/plugin-${x}`;

export const BALANCE_PLUGIN: Record<string, string | undefined> = {
  roundrobin: undefined,
  'static-rr': P('static-rr'),
  leastconn: P('leastconn'),
  first: P('first'),
  random: P('random'),
  source: P('hash'),
  uri: P('hash'),
  url_param: P('hash'),
  hdr: P('hash'),
  hash: P('hash'),
};

/** Global directives that only tune the HAProxy process: accepted, reported as ignored. */
/**
 * Global directives that only concern the HAProxy process: accepted, each reported as ignored
 * with what it is about and what to use instead.
 */
export const GLOBAL_NOTES: Record<string, string> = {
  daemon: 'Switchyard stays in the foreground: daemonize with systemd or your supervisor',
  'master-worker': 'use `switchyard run --workers N` for a master and its workers',
  user: 'drop privileges with systemd User= or the container user',
  group: 'drop privileges with systemd Group= or the container user',
  uid: 'drop privileges with systemd User= or the container user',
  gid: 'drop privileges with systemd Group= or the container user',
  chroot: 'confine the process with systemd (RootDirectory=, ProtectSystem=) or the container',
  nbproc: 'use `switchyard run --workers N` for several processes',
  nbthread: 'Node.js runs one event loop per process: use `switchyard run --workers N`',
  'cpu-map': 'pin worker processes with taskset or systemd CPUAffinity=',
  description: 'a text for HAProxy\'s stats page only',
  node: 'a name for HAProxy\'s stats page only',
  'ssl-default-bind-ciphers': 'Node.js\'s default TLS 1.2 cipher list applies; set ciphers on a bind line to choose',
  'ssl-default-bind-ciphersuites': 'Node.js\'s default TLS 1.3 suites apply',
  'ssl-default-bind-options': 'Node.js accepts TLS 1.2 and 1.3 only (no SSLv3, TLS 1.0/1.1); set ssl-min-ver on a bind line to require TLS 1.3',
  'ssl-default-server-ciphers': 'connections to servers use Node.js\'s default TLS 1.2 cipher list',
  'ssl-default-server-ciphersuites': 'connections to servers use Node.js\'s default TLS 1.3 suites',
  'ssl-default-server-options': 'connections to servers use TLS 1.2 or 1.3',
  'ssl-dh-param-file': 'ECDHE key exchange is used; DH parameters are not needed',
  'hard-stop-after': 'stop and reload drain connections with the gateway\'s own grace period',
  'ulimit-n': 'raise the descriptor limit with systemd LimitNOFILE= or ulimit before starting',
  quiet: 'start-up messages follow --log-level',
  'insecure-fork-wanted': 'Switchyard forks nothing from request handling',
  'expose-experimental-directives': 'only directives Switchyard implements are accepted anyway',
  localpeer: 'peers sections are not supported',
  'server-state-file': 'server state is carried across reloads in memory',
  'server-state-base': 'server state is carried across reloads in memory',
  maxsslconn: 'limit TLS connections per frontend with maxconn',
  maxconnrate: 'use frontend connection limits (maxconn) or the rate-limit plugin',
  maxsessrate: 'use frontend connection limits (maxconn) or the rate-limit plugin',
  maxsslrate: 'use frontend connection limits (maxconn) or the rate-limit plugin',
  'log-send-hostname': 'syslog messages carry the host name (accessLog.syslog.hostname)',
  'h1-case-adjust': 'header names are forwarded as received',
  'busy-polling': 'the Node.js event loop does not busy-poll',
  'strict-limits': 'Node.js raises no limit itself, so there is nothing to enforce',
  'zero-warning': 'adapter warnings are printed but not fatal',
  'profiling.tasks': 'profile with `node --cpu-prof` (npm run bench -- --profile)',
  'profiling.memory': 'profile memory with Node.js\'s inspector',
  'set-dumpable': 'core dumps follow the system settings',
  'stats-file': 'counters start at zero',
  'ssl-engine': 'TLS runs on Node.js\'s OpenSSL',
  'ssl-mode-async': 'TLS runs on Node.js\'s OpenSSL',
  'tune.ssl.default-dh-param': 'ECDHE key exchange is used; DH parameters are not needed',
};


/** Words of `option X` that change nothing here (HAProxy defaults we already behave like). */
export const OPTION_NOOP: Record<string, string> = {
  'http-keep-alive': 'keep-alive is the default on both sides',
  dontlognull: 'connections without data are not logged as exchanges anyway',
  'log-health-checks': 'health-check state changes are always logged',
  'http-buffer-request': 'bodies stream',
  'splice-auto': 'no splicing in Node.js',
  'tcp-smart-accept': 'kernel tuning',
  'tcp-smart-connect': 'kernel tuning',
  'log-separate-errors': 'errors are logged at their own level',
  'socket-stats': 'per-listener stats are always kept',
  'contstats': 'counters are updated continuously',
  'abortonclose': 'a request whose client went away is aborted',
  'clitcpka': 'TCP keep-alive is the Node.js default on accepted sockets',
  'srvtcpka': 'TCP keep-alive on server sockets is set by the forwarders',
  'tcpka': 'TCP keep-alive is set by the forwarders',
};

/** Fetches of boolean type: HAProxy matches them without a pattern; the ACL plugin wants `-m bool`. */
export const BOOL_FETCHES = new Set(['http_auth', 'ssl_fc', 'ssl_fc_has_sni', 'ssl_c_used', 'ssl_fc_has_crt', 'req.ssl_hello_type', 'always_true', 'always_false']);

/** HAProxy fetch aliases the ACL plugin knows under another name. */
export function aliases(text: string): string {
  // canonical names, so the standard preset activates the plugin behind each fetch
  return text
    .replace(/\breq\.cookie\(/g, 'req.cook(')
    .replace(/(?<![\w.])req_ssl_hello_type(?![\w.])/g, 'req.ssl_hello_type')
    .replace(/(?<![\w.])req_ssl_sni(?![\w.])/g, 'req.ssl_sni');
}

export function withBool(line: string): string {
  const m = /^([a-z0-9_.]+)(\([^)]*\))?$/.exec(line.trim());
  return m && BOOL_FETCHES.has(m[1]!) ? `${line.trim()} -m bool` : line;
}

/** Inline `{ ssl_fc }` → `{ ssl_fc -m bool }` in a condition. */
export function boolInline(cond: string): string {
  return cond.replace(/\{\s*([^{}]*?)\s*\}/g, (all, inner: string) => (withBool(inner) === inner ? all : `{ ${withBool(inner)} }`));
}

export interface Problem {
  line: number;
  directive: string;
  why: string;
}

export interface Ctx {
  section: Section;
  fromDefaults: boolean;
  feName?: string;
  beName?: string;
  fe?: Obj;
  be?: Obj;
  /** default-server words collected so far for this backend. */
  defaultServer: Directive[];
  httpchk?: { method?: string; path?: string; host?: string; headers?: Record<string, string>; line: number };
  httpExpect?: { value: Obj; line: number };
  checkTimeout?: { value: string | number; line: number };
  stickTable?: { words: string[]; line: number };
  stickOn?: { key: string; line: number };
  cookieLine?: number;
  logOption?: { format: 'httplog' | 'tcplog' | 'custom'; template?: string; line: number };
  logEnabled: boolean;
  compression: boolean;
  maxqueueFromServers: number;
  /** Contributed directives' per-proxy state and close steps. */
  locals?: Map<string, unknown>;
  closers?: Array<() => void>;
}

/** HAProxy reads `$` literally outside double quotes (addresses excepted): say so where it bites. */
const dollarHint = '; environment variables are expanded only inside double quotes ("${VAR}") or in addresses, as in HAProxy';

export class AdaptModel {
  readonly file: string;
  readonly text: string;
  readonly lenient: boolean;
  readonly config: Obj = {};
  readonly lines = new Map<string, number>();
  readonly problems: Problem[] = [];
  readonly warnings: string[] = [];
  /** The adapter itself stays listed (it taps nothing) so `switchyard adapt` finds its command. */
  /**
   * The standard preset loads only its members that the adapted config uses (their
   * activation: keys, fetches, modes); plugins outside it (stats, access log, cache…) are
   * added by the directives that need them. The adapter itself stays listed (it taps
   * nothing) so `switchyard adapt` finds its command.
   */
  readonly plugins: string[] = [PRESET, '@switchyard/plugin-haproxy-adapter'];
  crtBase = '';
  caBase = '';
  logTarget: { obj: Obj; line: number } | undefined;
  jitter: number | undefined;
  readonly caches = new Map<string, { line: number; obj: Obj }>();
  readonly tables = new Map<string, { words: string[]; line: number }>();
  readonly backendRules = new Map<string, Array<{ kind: 'httpRequest' | 'httpResponse'; rule: Obj; line: number }>>();
  readonly logFrontends: Array<{ fe: string; option: NonNullable<Ctx['logOption']> }> = [];
  readonly compressedBackends = new Set<string>();

  readonly slots: SlotRegistry | undefined;
  readonly env: Env;
  /** Contributed directives' state in global and contributed sections (no proxy). */
  sectionLocals: Map<string, unknown> | undefined;
  readonly sectionClosers: Array<() => void> = [];
  readonly finishers: Array<() => void> = [];
  /** global log-tag: the syslog tag. */
  logTag: string | undefined;
  /** global ssl-server-verify (HAProxy's default: required). */
  serverVerify: 'none' | 'required' = 'required';
  /** stats realm, applied once a stats auth exists. */
  statsRealm: { realm: string; line: number } | undefined;
  readonly resolvers = new Set<string>();
  /** ACL names whose definition the adapter could not take (with --lenient their users are dropped too). */
  readonly droppedAcls = new Map<string, number>();
  readonly httpErrors = new Map<string, { pages: Record<string, string>; lines: Record<string, number> }>();

  constructor(text: string, file: string, options: HaproxyAdaptOptions) {
    this.slots = options.slots;
    this.env = options.env ?? process.env;
    this.text = text;
    this.file = file;
    this.lenient = options.lenient;
  }

  /** The directive a loaded plugin contributes for this word, if any (it wins over the adapter's own). */
  contributed(scope: HaproxyScope, keyword: string): HaproxyDirective | undefined {
    return this.slots?.get<HaproxyDirective>(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName(scope, keyword));
  }

  frontendsReaching(backend: string): string[] {
    return Object.entries(this.config.frontends as Record<string, Obj>)
      .filter(([, f]) => f.defaultBackend === backend || ((f.useBackend as Obj[] | undefined) ?? []).some((r) => r.backend === backend))
      .map(([n]) => n);
  }

  /** Ends a global or contributed section: runs its close steps. */
  closeSection(): void {
    for (const fn of this.sectionClosers.splice(0)) fn();
    this.sectionLocals = undefined;
  }

  /** Section keywords contributed by plugins (`section <keyword>`). */
  contributedSections(): string[] {
    const prefix = haproxyDirectiveName('section', '');
    return (this.slots?.names(HAPROXY_DIRECTIVE_SLOT) ?? []).filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  }

  problem(line: number, directive: string, why: string): void {
    // A defaults line is replayed in every proxy that uses it: report it once.
    if (this.problems.some((p) => p.line === line && p.why === why)) return;
    this.problems.push({ line, directive, why });
  }

  warn(line: number, text: string): void {
    const w = `${this.file}:${line}: ${text}`;
    if (!this.warnings.includes(w)) this.warnings.push(w);
  }

  use(plugin: string): void {
    // The rules plugin compiles its conditions and %[…] formats with the ACL plugin.
    if (plugin === P('http-rules') || plugin === P('rate-limit')) this.use(P('acl'));
    if (!this.plugins.includes(plugin)) this.plugins.push(plugin);
  }

  /** Sets a value at a key path, creating objects on the way, and remembers its line. */
  set(p: KeyPath, value: unknown, line: number): void {
    let o: Obj = this.config;
    for (let i = 0; i < p.length - 1; i++) {
      const k = p[i]!;
      let next = o[k] as Obj | undefined;
      if (next === undefined || typeof next !== 'object') {
        next = {};
        o[k] = next;
        if (!this.lines.has(JSON.stringify(p.slice(0, i + 1)))) this.lines.set(JSON.stringify(p.slice(0, i + 1)), line);
      }
      o = next;
    }
    o[p[p.length - 1]!] = value;
    this.lines.set(JSON.stringify(p), line);
  }

  get(p: KeyPath): unknown {
    let o: unknown = this.config;
    for (const k of p) {
      if (o === null || typeof o !== 'object') return undefined;
      o = (o as Obj)[k];
    }
    return o;
  }

  push(p: KeyPath, value: unknown, line: number): void {
    let arr = this.get(p) as unknown[] | undefined;
    if (!Array.isArray(arr)) {
      arr = [];
      this.set(p, arr, line);
    }
    arr.push(value);
    this.lines.set(JSON.stringify([...p, arr.length - 1]), line);
  }

  /** HAProxy time ("5000" = ms, "5s", "1m"…) → a duration Switchyard reads. */
  duration(v: string | undefined, d: Directive): string | number | undefined {
    if (v === undefined) {
      this.problem(d.line, d.words.join(' '), 'a time value is missing');
      return undefined;
    }
    if (/^\d+$/.test(v)) return Number(v);
    if (parseDuration(v) === undefined) {
      this.problem(d.line, d.words.join(' '), `"${v}" is not a time (ms, s, m, h, d)${v.includes('$') ? dollarHint : ''}`);
      return undefined;
    }
    return v;
  }

  int(v: string | undefined, d: Directive): number | undefined {
    if (v !== undefined && /^-?\d+$/.test(v)) return Number(v);
    this.problem(d.line, d.words.join(' '), `"${v ?? ''}" is not a number${v?.includes('$') ? dollarHint : ''}`);
    return undefined;
  }

  crt(file: string): string {
    return this.crtBase && !path.isAbsolute(file) ? path.join(this.crtBase, file) : file;
  }

  ca(file: string): string {
    return this.caBase && !path.isAbsolute(file) ? path.join(this.caBase, file) : file;
  }

  defaultsChain(d: Section | undefined, named: Map<string, Section>): Directive[] {
    const out: Directive[] = [];
    const seen = new Set<Section>();
    let cur = d;
    const chain: Section[] = [];
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      chain.unshift(cur);
      cur = cur.from !== undefined ? named.get(cur.from) : undefined;
    }
    for (const s of chain) out.push(...s.directives);
    return out;
  }


  /** `if <cond>` / `unless <cond>` at the end of a rule → {if} or {unless}. */
  cond(words: string[], d: Directive): Obj {
    if (words.length === 0) return {};
    const kw = words[0];
    if ((kw === 'if' || kw === 'unless') && words.length > 1) {
      this.use(P('acl'));
      return { [kw]: boolInline(aliases(joinWords(words.slice(1)))) };
    }
    this.problem(d.line, d.words.join(' '), `unexpected "${words.join(' ')}" (expected "if <condition>" or "unless <condition>")`);
    return {};
  }

  /** Splits a rule's words at its condition keyword. */
  splitCond(words: string[]): { head: string[]; cond: string[] } {
    const i = words.findIndex((x) => x === 'if' || x === 'unless');
    return i < 0 ? { head: words, cond: [] } : { head: words.slice(0, i), cond: words.slice(i) };
  }

}
