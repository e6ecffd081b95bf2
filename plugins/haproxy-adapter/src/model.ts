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
export const GLOBAL_IGNORED = new Set([
  'daemon', 'master-worker', 'user', 'group', 'uid', 'gid', 'chroot', 'nbproc', 'nbthread', 'cpu-map', 'description',
  'node', 'ssl-default-bind-ciphers', 'ssl-default-bind-ciphersuites', 'ssl-default-bind-options', 'ssl-default-server-ciphers',
  'ssl-default-server-ciphersuites', 'ssl-default-server-options', 'ssl-server-verify', 'ssl-dh-param-file', 'hard-stop-after',
  'ulimit-n', 'quiet', 'insecure-fork-wanted', 'expose-experimental-directives', 'localpeer', 'server-state-file', 'server-state-base',
  'maxsslconn', 'maxconnrate', 'maxsessrate', 'maxsslrate', 'log-send-hostname', 'log-tag', 'h1-case-adjust', 'busy-polling',
]);

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
  return text.replace(/\breq\.cookie\(/g, 'req.cook(');
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
  readonly plugins: string[] = ['@switchyard/plugin-haproxy-adapter'];
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
