import * as path from 'node:path';
import { parseDuration, parseSize, type AdaptResult } from '@switchyard/sdk';
import { HaproxyErrors } from './errors';
import { joinWords, parseConfig, type Directive, type Section } from './parse';

type Obj = Record<string, unknown>;
type KeyPath = Array<string | number>;

export const PRESET = '@switchyard/preset-standard';
const P = (x: string): string => `@switchyard/plugin-${x}`;

const BALANCE_PLUGIN: Record<string, string | undefined> = {
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
const GLOBAL_IGNORED = new Set([
  'daemon', 'master-worker', 'user', 'group', 'uid', 'gid', 'chroot', 'nbproc', 'nbthread', 'cpu-map', 'description',
  'node', 'ssl-default-bind-ciphers', 'ssl-default-bind-ciphersuites', 'ssl-default-bind-options', 'ssl-default-server-ciphers',
  'ssl-default-server-ciphersuites', 'ssl-default-server-options', 'ssl-server-verify', 'ssl-dh-param-file', 'hard-stop-after',
  'ulimit-n', 'quiet', 'insecure-fork-wanted', 'expose-experimental-directives', 'localpeer', 'server-state-file', 'server-state-base',
  'maxsslconn', 'maxconnrate', 'maxsessrate', 'maxsslrate', 'log-send-hostname', 'log-tag', 'h1-case-adjust', 'busy-polling',
]);

/** Words of `option X` that change nothing here (HAProxy defaults we already behave like). */
const OPTION_NOOP: Record<string, string> = {
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
const BOOL_FETCHES = new Set(['http_auth', 'ssl_fc', 'ssl_fc_has_sni', 'ssl_c_used', 'ssl_fc_has_crt', 'req.ssl_hello_type', 'always_true', 'always_false']);

/** HAProxy fetch aliases the ACL plugin knows under another name. */
function aliases(text: string): string {
  return text.replace(/\breq\.cookie\(/g, 'req.cook(');
}

function withBool(line: string): string {
  const m = /^([a-z0-9_.]+)(\([^)]*\))?$/.exec(line.trim());
  return m && BOOL_FETCHES.has(m[1]!) ? `${line.trim()} -m bool` : line;
}

/** Inline `{ ssl_fc }` → `{ ssl_fc -m bool }` in a condition. */
function boolInline(cond: string): string {
  return cond.replace(/\{\s*([^{}]*?)\s*\}/g, (all, inner: string) => (withBool(inner) === inner ? all : `{ ${withBool(inner)} }`));
}

interface Problem {
  line: number;
  directive: string;
  why: string;
}

interface Ctx {
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
  forwardfor?: { line: number; except?: string };
  logOption?: { format: 'httplog' | 'tcplog' | 'custom'; template?: string; line: number };
  logEnabled: boolean;
  compression: boolean;
  maxqueueFromServers: number;
}

export interface HaproxyAdaptOptions {
  lenient: boolean;
}

/** The adapter itself: haproxy.cfg text → the canonical model, with warnings and a line map. */
export function adaptHaproxy(text: string, file: string, options: HaproxyAdaptOptions): AdaptResult {
  return new Adapter(text, file, options).run();
}

class Adapter {
  readonly #file: string;
  readonly #text: string;
  readonly #lenient: boolean;
  readonly #config: Obj = {};
  readonly #lines = new Map<string, number>();
  readonly #problems: Problem[] = [];
  readonly #warnings: string[] = [];
  readonly #plugins: string[] = [PRESET];
  #crtBase = '';
  #caBase = '';
  #logTarget: { obj: Obj; line: number } | undefined;
  #jitter: number | undefined;
  readonly #caches = new Map<string, { line: number; obj: Obj }>();
  readonly #tables = new Map<string, { words: string[]; line: number }>();
  readonly #backendRules = new Map<string, Array<{ kind: 'httpRequest' | 'httpResponse'; rule: Obj; line: number }>>();
  readonly #logFrontends: Array<{ fe: string; option: NonNullable<Ctx['logOption']> }> = [];
  readonly #compressedBackends = new Set<string>();

  constructor(text: string, file: string, options: HaproxyAdaptOptions) {
    this.#text = text;
    this.#file = file;
    this.#lenient = options.lenient;
  }

  run(): AdaptResult {
    const sections = parseConfig(this.#text, this.#file);
    this.#config.plugins = this.#plugins;
    this.#set(['frontends'], {}, 1);
    this.#set(['backends'], {}, 1);
    const defaults = new Map<string, Section>();
    let lastDefaults: Section | undefined;
    for (const s of sections) {
      switch (s.kind) {
        case 'global':
          this.#global(s);
          break;
        case 'defaults':
          if (s.name) defaults.set(s.name, s);
          lastDefaults = s;
          break;
        case 'frontend':
        case 'backend':
        case 'listen': {
          if (s.kind === 'backend' && !s.directives.some((x) => x.words[0] === 'server' || x.words[0] === 'server-template')) {
            const t = s.directives.find((x) => x.words[0] === 'stick-table');
            if (t) {
              // a backend that only holds a stick table (track-sc… table <name>): no servers, no backend
              this.#tables.set(s.name, { words: t.words.slice(1), line: t.line });
              for (const x of s.directives) if (x !== t) this.#problem(x.line, x.words.join(' '), 'a stick-table-only backend may only hold the stick-table line');
              break;
            }
          }
          let d = lastDefaults;
          if (s.from !== undefined) {
            d = defaults.get(s.from);
            if (!d) this.#problem(s.line, `${s.keyword} ${s.name} from ${s.from}`, `no defaults section named "${s.from}" before this line`);
          }
          this.#proxy(s, this.#defaultsChain(d, defaults));
          break;
        }
        case 'cache':
          this.#cache(s);
          break;
        case 'userlist':
          this.#userlist(s);
          break;
        default:
          this.#problem(s.line, `${s.keyword} ${s.name}`.trim(), `the "${s.keyword}" section has no Switchyard equivalent yet`);
      }
    }
    this.#finish();
    if (this.#problems.length > 0) {
      const list = this.#problems.map((p) => `  ${this.#file}:${p.line}: ${p.directive} — ${p.why}`);
      if (!this.#lenient) {
        const first = this.#problems[0]!;
        throw HaproxyErrors.UNKNOWN_DIRECTIVES.with({ location: { file: this.#file, line: first.line } }, this.#problems.length, list.join('\n'));
      }
      for (const p of this.#problems) this.#warnings.push(`${this.#file}:${p.line}: ignored unsupported "${p.directive}": ${p.why}`);
    }
    const lines = this.#lines;
    return {
      config: this.#config,
      warnings: this.#warnings,
      lineOf(p) {
        for (let n = p.length; n >= 1; n--) {
          const l = lines.get(JSON.stringify(p.slice(0, n)));
          if (l !== undefined) return l;
        }
        return undefined;
      },
    };
  }

  // ── helpers ────────────────────────────────────────────────────────────────

  #problem(line: number, directive: string, why: string): void {
    // A defaults line is replayed in every proxy that uses it: report it once.
    if (this.#problems.some((p) => p.line === line && p.why === why)) return;
    this.#problems.push({ line, directive, why });
  }

  #warn(line: number, text: string): void {
    const w = `${this.#file}:${line}: ${text}`;
    if (!this.#warnings.includes(w)) this.#warnings.push(w);
  }

  #use(plugin: string): void {
    // The rules plugin compiles its conditions and %[…] formats with the ACL plugin.
    if (plugin === P('http-rules') || plugin === P('rate-limit')) this.#use(P('acl'));
    if (!this.#plugins.includes(plugin)) this.#plugins.push(plugin);
  }

  /** Sets a value at a key path, creating objects on the way, and remembers its line. */
  #set(p: KeyPath, value: unknown, line: number): void {
    let o: Obj = this.#config;
    for (let i = 0; i < p.length - 1; i++) {
      const k = p[i]!;
      let next = o[k] as Obj | undefined;
      if (next === undefined || typeof next !== 'object') {
        next = {};
        o[k] = next;
        if (!this.#lines.has(JSON.stringify(p.slice(0, i + 1)))) this.#lines.set(JSON.stringify(p.slice(0, i + 1)), line);
      }
      o = next;
    }
    o[p[p.length - 1]!] = value;
    this.#lines.set(JSON.stringify(p), line);
  }

  #get(p: KeyPath): unknown {
    let o: unknown = this.#config;
    for (const k of p) {
      if (o === null || typeof o !== 'object') return undefined;
      o = (o as Obj)[k];
    }
    return o;
  }

  #push(p: KeyPath, value: unknown, line: number): void {
    let arr = this.#get(p) as unknown[] | undefined;
    if (!Array.isArray(arr)) {
      arr = [];
      this.#set(p, arr, line);
    }
    arr.push(value);
    this.#lines.set(JSON.stringify([...p, arr.length - 1]), line);
  }

  /** HAProxy time ("5000" = ms, "5s", "1m"…) → a duration Switchyard reads. */
  #duration(v: string | undefined, d: Directive): string | number | undefined {
    if (v === undefined) {
      this.#problem(d.line, d.words.join(' '), 'a time value is missing');
      return undefined;
    }
    if (/^\d+$/.test(v)) return Number(v);
    if (parseDuration(v) === undefined) {
      this.#problem(d.line, d.words.join(' '), `"${v}" is not a time (ms, s, m, h, d)`);
      return undefined;
    }
    return v;
  }

  #int(v: string | undefined, d: Directive): number | undefined {
    if (v !== undefined && /^-?\d+$/.test(v)) return Number(v);
    this.#problem(d.line, d.words.join(' '), `"${v ?? ''}" is not a number`);
    return undefined;
  }

  #crt(file: string): string {
    return this.#crtBase && !path.isAbsolute(file) ? path.join(this.#crtBase, file) : file;
  }

  #ca(file: string): string {
    return this.#caBase && !path.isAbsolute(file) ? path.join(this.#caBase, file) : file;
  }

  #defaultsChain(d: Section | undefined, named: Map<string, Section>): Directive[] {
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

  // ── global ─────────────────────────────────────────────────────────────────

  #global(s: Section): void {
    for (const d of s.directives) {
      const [k, a, b] = d.words;
      if (GLOBAL_IGNORED.has(k!) || k!.startsWith('tune.')) {
        this.#warn(d.line, `"${k}" ignored: it tunes the HAProxy process (use \`switchyard run --workers N\` for threads)`);
        continue;
      }
      switch (k) {
        case 'maxconn': {
          const n = this.#int(a, d);
          if (n !== undefined) {
            this.#use(P('conn-limit'));
            this.#set(['connLimit', 'maxconn'], n, d.line);
          }
          break;
        }
        case 'pidfile':
          this.#set(['global', 'pidFile'], a, d.line);
          break;
        case 'crt-base':
          this.#crtBase = a ?? '';
          break;
        case 'ca-base':
          this.#caBase = a ?? '';
          break;
        case 'spread-checks': {
          const n = this.#int(a, d);
          if (n !== undefined) this.#jitter = n;
          break;
        }
        case 'log':
          this.#logTargetOf(d);
          break;
        case 'stats':
          if (a === 'socket' || a === 'timeout' || a === 'maxconn') {
            this.#warn(d.line, `"stats ${a}" ignored: the runtime API is @switchyard/plugin-runtime-api (configure it natively)`);
          } else this.#problem(d.line, d.words.join(' '), 'unknown global stats setting');
          break;
        default:
          this.#problem(d.line, d.words.join(' '), `unknown global directive "${k}"${b === undefined ? '' : ''}`);
      }
    }
  }

  /** `log <target> [len n] [format f] <facility> [level]` → accessLog output. */
  #logTargetOf(d: Directive): void {
    const w = d.words.slice(1);
    if (w[0] === 'global') return;
    const target = w[0];
    const obj: Obj = {};
    let i = 1;
    let facility: string | undefined;
    while (i < w.length) {
      if (w[i] === 'len' || w[i] === 'format' || w[i] === 'sample') {
        i += 2;
        continue;
      }
      if (facility === undefined) facility = w[i];
      i++;
    }
    if (target === 'stdout' || target === 'fd@1') obj.output = 'stdout';
    else if (target === undefined || target.startsWith('/') || target.startsWith('unix@') || target === 'stderr' || target.startsWith('fd@') || target.startsWith('ring@')) {
      this.#problem(d.line, d.words.join(' '), 'log targets other than stdout or a UDP host:port are not supported');
      return;
    } else {
      obj.output = 'syslog';
      const addr = target.replace(/^udp[46]?@/, '');
      obj.syslog = { address: /:\d+$/.test(addr) ? addr : `${addr}:514`, ...(facility ? { facility } : {}) };
    }
    if (!this.#logTarget) this.#logTarget = { obj, line: d.line };
  }

  // ── userlist section → @switchyard/plugin-basic-auth ─────────────────────

  #userlist(s: Section): void {
    const base: KeyPath = ['userlists', s.name];
    this.#use(P('basic-auth'));
    this.#set([...base, 'users'], {}, s.line);
    for (const d of s.directives) {
      const w = d.words;
      if (w[0] === 'group' && w[1]) {
        const members = w[2] === 'users' && w[3] ? w[3].split(',') : [];
        if (w.length > (w[2] === 'users' ? 4 : 2)) {
          this.#problem(d.line, w.join(' '), 'group takes a name and optionally "users a,b"');
          continue;
        }
        this.#set([...base, 'groups', w[1]], members, d.line);
      } else if (w[0] === 'user' && w[1]) {
        const u: Obj = {};
        for (let i = 2; i < w.length; i++) {
          if (w[i] === 'password') u.password = w[++i];
          else if (w[i] === 'insecure-password') u.insecurePassword = w[++i];
          else if (w[i] === 'groups') u.groups = (w[++i] ?? '').split(',');
          else {
            this.#problem(d.line, w.join(' '), `unknown user option "${w[i]}"`);
            break;
          }
        }
        this.#set([...base, 'users', w[1]], u, d.line);
      } else this.#problem(d.line, w.join(' '), 'a userlist holds group and user lines');
    }
  }

  /**
   * `http-request auth [realm R] if !{ http_auth(L) }` (or `unless { http_auth(L) }`,
   * `http_auth_group(L) g1 g2`, with other ACLs beside) → frontends.<f>.basicAuth.
   */
  #auth(args: string[], cond: string[], d: Directive, ctx: Ctx): void {
    const realm = args[0] === 'realm' ? args[1] : undefined;
    if (args.length > (realm === undefined ? 0 : 2)) return this.#problem(d.line, d.words.join(' '), 'auth takes only "realm <name>"');
    const kw = cond[0];
    // a named ACL that is only http_auth(...) is written inline, so it can be recognised
    const acls = (this.#get(['frontends', ctx.feName!, 'acls']) ?? {}) as Obj;
    const text = cond
      .slice(1)
      .map((t) => {
        const name = t.replace(/^!/, '');
        const def = acls[name];
        const bare = typeof def === 'string' ? def.replace(/ -m bool$/, '') : '';
        return /^http_auth(_group)?\(/.test(bare) ? `${t.startsWith('!') ? '!' : ''}{ ${bare} }` : joinWords([t]);
      })
      .join(' ');
    const neg = kw === 'if' ? '!' : '';
    const re = new RegExp(`(^|\\s)${neg === '!' ? '!\\s*' : '(?<!!)'}\\{\\s*(http_auth|http_auth_group)\\(([^)]+)\\)((?:\\s+[^\\s}]+)*)\\s*\\}`);
    const m = kw === 'if' || kw === 'unless' ? re.exec(text) : null;
    if (!m) {
      return this.#problem(d.line, d.words.join(' '), 'auth is supported as "http-request auth [realm R] if !{ http_auth(<userlist>) }" (or unless { http_auth… }), optionally with other ACLs');
    }
    const rest = (text.slice(0, m.index) + ' ' + text.slice(m.index + m[0].length)).trim();
    const cfg: Obj = { userlist: m[3] };
    if (realm !== undefined) cfg.realm = realm;
    if (m[2] === 'http_auth_group') {
      const groups = m[4]!.trim().split(/\s+/).filter((x) => x !== '' && !x.startsWith('-'));
      if (groups.length > 0) cfg.groups = groups;
    }
    if (rest !== '') {
      if (kw !== 'if') return this.#problem(d.line, d.words.join(' '), 'auth with "unless" may only test http_auth(...)');
      cfg.if = boolInline(rest);
    }
    this.#use(P('basic-auth'));
    this.#use(P('acl'));
    this.#set(['frontends', ctx.feName!, 'basicAuth'], cfg, d.line);
  }

  // ── cache section ──────────────────────────────────────────────────────────

  #cache(s: Section): void {
    const obj: Obj = {};
    for (const d of s.directives) {
      const [k, a] = d.words;
      switch (k) {
        case 'total-max-size': {
          const n = this.#int(a, d);
          if (n !== undefined) obj.maxSize = `${n}mb`;
          break;
        }
        case 'max-object-size': {
          const n = this.#int(a, d);
          if (n !== undefined) obj.maxObjectSize = n;
          break;
        }
        case 'max-age':
          this.#warn(d.line, `cache "max-age" ignored: freshness comes from the response (Cache-Control, Expires, heuristic)`);
          break;
        case 'process-vary':
        case 'max-secondary-entries':
          this.#warn(d.line, `cache "${k}" ignored: Vary is always honoured`);
          break;
        default:
          this.#problem(d.line, d.words.join(' '), `unknown cache directive "${k}"`);
      }
    }
    this.#caches.set(s.name, { line: s.line, obj });
  }

  // ── proxies ────────────────────────────────────────────────────────────────

  #proxy(s: Section, inherited: Directive[]): void {
    const ctx: Ctx = { section: s, fromDefaults: false, defaultServer: [], logEnabled: false, compression: false, maxqueueFromServers: 0 };
    if (s.kind === 'frontend' || s.kind === 'listen') {
      ctx.feName = s.name;
      ctx.fe = {};
      this.#set(['frontends', s.name], ctx.fe, s.line);
    }
    const hasServers = s.directives.some((d) => d.words[0] === 'server' || d.words[0] === 'server-template');
    if (s.kind === 'backend' || (s.kind === 'listen' && hasServers)) {
      ctx.beName = s.name;
      ctx.be = {};
      this.#set(['backends', s.name], ctx.be, s.line);
      this.#set(['backends', s.name, 'servers'], [], s.line);
    }
    // HAProxy's default mode is tcp, Switchyard's http: always say which.
    if (ctx.fe) this.#set(['frontends', s.name, 'mode'], 'tcp', s.line);
    if (ctx.be) this.#set(['backends', s.name, 'mode'], 'tcp', s.line);
    if (s.kind === 'listen' && ctx.fe && ctx.be) this.#set(['frontends', s.name, 'defaultBackend'], s.name, s.line);
    if (s.kind === 'listen' && s.extra.length > 0) this.#bind({ words: ['bind', ...s.extra], line: s.line }, ctx);

    ctx.fromDefaults = true;
    for (const d of inherited) this.#directive(d, ctx);
    ctx.fromDefaults = false;
    for (const d of s.directives) this.#directive(d, ctx);
    this.#closeProxy(ctx);
  }

  /** One directive of a frontend/backend/listen (or inherited from defaults). */
  #directive(d: Directive, ctx: Ctx): void {
    const w = d.words;
    const k = w[0]!;
    const hasFe = ctx.fe !== undefined;
    const hasBe = ctx.be !== undefined;
    const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
    const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
    /** A directive in the wrong kind of section: fine when inherited from defaults. */
    const notHere = (why: string): void => {
      if (!ctx.fromDefaults) this.#problem(d.line, w.join(' '), why);
    };
    switch (k) {
      case 'mode': {
        const m = w[1];
        if (m !== 'http' && m !== 'tcp') return this.#problem(d.line, w.join(' '), 'mode must be http or tcp');
        if (hasFe) this.#set(fe('mode'), m, d.line);
        if (hasBe) this.#set(be('mode'), m, d.line);
        return;
      }
      case 'bind':
        if (!hasFe) return notHere('bind belongs in a frontend or listen section');
        return this.#bind(d, ctx);
      case 'maxconn': {
        if (!hasFe) return notHere('maxconn in a backend has no meaning (use server maxconn)');
        const n = this.#int(w[1], d);
        if (n !== undefined) this.#set(fe('maxconn'), n, d.line);
        return;
      }
      case 'fullconn':
        return this.#warn(d.line, '"fullconn" ignored: it only scales dynamic maxconn (minconn), which is not supported');
      case 'timeout':
        return this.#timeout(d, ctx);
      case 'retries': {
        if (!hasBe) return notHere('retries belongs in a backend');
        const n = this.#int(w[1], d);
        if (n === undefined) return;
        this.#use(P('retries'));
        this.#set(be('retries', 'count'), n, d.line);
        return;
      }
      case 'retry-on': {
        if (!hasBe) return notHere('retry-on belongs in a backend');
        this.#use(P('retries'));
        const list = w.slice(1);
        if (list.includes('none')) this.#set(be('retries', 'count'), 0, d.line);
        else this.#set(be('retries', 'retryOn'), list, d.line);
        return;
      }
      case 'option':
      case 'no':
        return this.#option(d, ctx);
      case 'http-check':
        return this.#httpCheck(d, ctx);
      case 'balance':
        if (!hasBe) return notHere('balance belongs in a backend');
        return this.#balance(d, ctx);
      case 'hash-type': {
        if (!hasBe) return notHere('hash-type belongs in a backend');
        const t = w[1];
        if (t !== 'map-based' && t !== 'consistent') return this.#problem(d.line, w.join(' '), 'hash-type must be map-based or consistent');
        this.#set(be('hashType'), t, d.line);
        if (w.length > 2) this.#warn(d.line, `hash-type "${w.slice(2).join(' ')}" ignored: the hash function is fixed`);
        return;
      }
      case 'server':
        if (!hasBe) return notHere('server belongs in a backend');
        return this.#server(d, ctx);
      case 'default-server':
        if (!hasBe) return;
        ctx.defaultServer.push(d);
        return;
      case 'cookie':
        if (!hasBe) return notHere('cookie belongs in a backend');
        return this.#cookie(d, ctx);
      case 'acl': {
        if (!hasFe) return notHere('ACLs are only supported in frontend and listen sections (backend rules are not)');
        const name = w[1];
        if (!name || w.length < 3) return this.#problem(d.line, w.join(' '), 'acl needs a name and a criterion');
        this.#use(P('acl'));
        const line = withBool(aliases(joinWords(w.slice(2))));
        const prev = this.#get(fe('acls', name));
        if (prev === undefined) this.#set(fe('acls', name), line, d.line);
        else this.#set(fe('acls', name), [...(Array.isArray(prev) ? prev : [prev]), line], d.line);
        return;
      }
      case 'use_backend': {
        if (!hasFe) return notHere('use_backend belongs in a frontend');
        const target = w[1];
        if (!target) return this.#problem(d.line, w.join(' '), 'use_backend needs a backend name');
        if (target.includes('%[')) return this.#problem(d.line, w.join(' '), 'dynamic backend names are not supported (use a map: frontends.<f>.useBackend[].map)');
        const rule: Obj = { backend: target, ...this.#cond(w.slice(2), d) };
        this.#use(P('acl'));
        this.#push(fe('useBackend'), rule, d.line);
        return;
      }
      case 'default_backend':
        if (!hasFe) return notHere('default_backend belongs in a frontend');
        this.#set(fe('defaultBackend'), w[1], d.line);
        return;
      case 'http-request':
        return this.#httpRequest(d, ctx);
      case 'http-response':
        return this.#httpResponse(d, ctx);
      case 'tcp-request':
        return this.#tcpRequest(d, ctx);
      case 'stick-table':
        ctx.stickTable = { words: w.slice(1), line: d.line };
        return;
      case 'stick': {
        if (!hasBe) return notHere('stick belongs in a backend');
        if (w[1] !== 'on' || !w[2] || w.length > 3) return this.#problem(d.line, w.join(' '), 'only "stick on <fetch>" is supported (no match/store rules, no conditions)');
        ctx.stickOn = { key: aliases(w[2]), line: d.line };
        return;
      }
      case 'compression':
        return this.#compression(d, ctx);
      case 'stats':
        return this.#stats(d, ctx);
      case 'log':
        if (w[1] === 'global') {
          ctx.logEnabled = true;
          return;
        }
        this.#logTargetOf(d);
        ctx.logEnabled = true;
        return;
      case 'log-format': {
        if (!hasFe) return notHere('log-format belongs in a frontend');
        ctx.logOption = { format: 'custom', template: w.slice(1).join(' '), line: d.line };
        return;
      }
      case 'monitor-uri':
        if (!hasFe) return notHere('monitor-uri belongs in a frontend');
        this.#use(P('monitor'));
        this.#set(fe('monitorUri'), w[1], d.line);
        return;
      case 'monitor': {
        if (!hasFe) return notHere('monitor belongs in a frontend');
        if (w[1] !== 'fail' || w[2] !== 'if' || w.length < 4) return this.#problem(d.line, w.join(' '), 'only "monitor fail if <condition>" is supported');
        this.#use(P('monitor'));
        this.#set(fe('monitorFail'), boolInline(aliases(joinWords(w.slice(3)))), d.line);
        return;
      }
      case 'redirect': {
        // the pre-http-request form: redirect location|prefix|scheme X [code N] [if|unless cond]
        if (!hasFe) return notHere('redirect belongs in a frontend');
        return this.#httpRequest({ words: ['http-request', ...w], line: d.line }, ctx);
      }
      case 'capture':
        return this.#warn(d.line, `"${w.slice(0, 3).join(' ')}" ignored: captured headers are not logged (use %[req.hdr(name)] in log-format)`);
      case 'http-reuse':
        return this.#warn(d.line, '"http-reuse" ignored: the HTTP forwarder keeps and reuses idle server connections itself');
      case 'description':
        return;
      case 'id':
        return;
      case 'errorfile':
        return this.#problem(d.line, w.join(' '), 'custom error files are not supported yet (use http-request return)');
      default:
        this.#problem(d.line, w.join(' '), `unknown directive "${k}"`);
    }
  }

  /** `if <cond>` / `unless <cond>` at the end of a rule → {if} or {unless}. */
  #cond(words: string[], d: Directive): Obj {
    if (words.length === 0) return {};
    const kw = words[0];
    if ((kw === 'if' || kw === 'unless') && words.length > 1) {
      this.#use(P('acl'));
      return { [kw]: boolInline(aliases(joinWords(words.slice(1)))) };
    }
    this.#problem(d.line, d.words.join(' '), `unexpected "${words.join(' ')}" (expected "if <condition>" or "unless <condition>")`);
    return {};
  }

  /** Splits a rule's words at its condition keyword. */
  #splitCond(words: string[]): { head: string[]; cond: string[] } {
    const i = words.findIndex((x) => x === 'if' || x === 'unless');
    return i < 0 ? { head: words, cond: [] } : { head: words.slice(0, i), cond: words.slice(i) };
  }

  #bind(d: Directive, ctx: Ctx): void {
    const w = d.words;
    const addrs = (w[1] ?? '').split(',').filter(Boolean);
    if (addrs.length === 0) return this.#problem(d.line, w.join(' '), 'bind needs an address');
    const tls: Obj = {};
    let ssl = false;
    let acceptProxy = false;
    for (let i = 2; i < w.length; i++) {
      const o = w[i]!;
      const arg = w[i + 1];
      switch (o) {
        case 'ssl':
          ssl = true;
          break;
        case 'crt':
          if (!arg) return this.#problem(d.line, w.join(' '), 'crt needs a file');
          ((tls.certificates ??= []) as string[]).push(this.#crt(arg));
          i++;
          break;
        case 'alpn':
          if (!arg) return this.#problem(d.line, w.join(' '), 'alpn needs a list');
          tls.alpn = arg.split(',');
          i++;
          break;
        case 'ca-file':
          tls.ca = this.#ca(arg ?? '');
          i++;
          break;
        case 'verify':
          if (arg !== 'none' && arg !== 'optional' && arg !== 'required') return this.#problem(d.line, w.join(' '), 'verify must be none, optional or required');
          tls.verify = arg;
          i++;
          break;
        case 'strict-sni':
          tls.strictSni = true;
          break;
        case 'ssl-min-ver':
          if (arg !== 'TLSv1.2' && arg !== 'TLSv1.3') return this.#problem(d.line, w.join(' '), 'ssl-min-ver: only TLSv1.2 and TLSv1.3 are supported');
          tls.minVersion = arg;
          i++;
          break;
        case 'ciphers':
          tls.ciphers = arg;
          i++;
          break;
        case 'accept-proxy':
          acceptProxy = true;
          break;
        case 'name':
        case 'id':
          i++;
          break;
        case 'v4v6':
        case 'v6only':
          break;
        default:
          this.#problem(d.line, w.join(' '), `unsupported bind option "${o}"`);
          return;
      }
    }
    if (ssl && !tls.certificates) return this.#problem(d.line, w.join(' '), 'bind ssl needs crt <pem file>');
    if (ssl) {
      // HAProxy's crt is one PEM holding the chain and the key: the first is the default
      // certificate (cert and key read from the same file), the others are served by SNI.
      const [first, ...more] = tls.certificates as string[];
      tls.cert = first;
      tls.key = first;
      if (more.length > 0) tls.certificates = more;
      else delete tls.certificates;
    }
    if (!ssl && tls.certificates) return this.#problem(d.line, w.join(' '), 'crt without ssl');
    for (const a of addrs) {
      const inherited = inheritedFd(a);
      if (typeof inherited === 'string') return this.#problem(d.line, w.join(' '), inherited);
      const m = inherited === undefined ? /^(?:ipv4@|ipv6@|tcp@|tcp4@|tcp6@)?(\[[^\]]+\]|[^:]*):(\d+)$/.exec(a) : null;
      if (inherited === undefined && !m) return this.#problem(d.line, w.join(' '), `unsupported bind address "${a}" (host:port or fd@N only; no port ranges or unix sockets)`);
      const bind: Obj = m ? { host: m[1] === '*' || m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) } : { fd: inherited!.fd };
      if (ssl) {
        bind.tls = { ...tls };
        this.#use(P('tls'));
      }
      if (acceptProxy) {
        bind.acceptProxy = true;
        this.#use(P('proxy-protocol'));
      }
      this.#push(['frontends', ctx.feName!, 'bind'], bind, d.line);
    }
  }

  #timeout(d: Directive, ctx: Ctx): void {
    const [, what, v] = d.words;
    const feKeys: Record<string, string> = { client: 'client', 'http-request': 'httpRequest', 'http-keep-alive': 'keepAlive' };
    const beKeys: Record<string, string> = { connect: 'connect', server: 'server', queue: 'queue', tunnel: 'tunnel' };
    const val = this.#duration(v, d);
    if (val === undefined) return;
    if (what === 'check') {
      if (ctx.be) ctx.checkTimeout = { value: val, line: d.line };
      return;
    }
    if (what === 'client-fin' || what === 'server-fin' || what === 'tarpit') {
      this.#warn(d.line, `"timeout ${what}" ignored: half-closed connections follow the client and server timeouts`);
      return;
    }
    const fk = feKeys[what ?? ''];
    const bk = beKeys[what ?? ''];
    if (fk === undefined && bk === undefined) return this.#problem(d.line, d.words.join(' '), `unknown timeout "${what}"`);
    if (fk !== undefined && ctx.fe) this.#set(['frontends', ctx.feName!, 'timeouts', fk], val, d.line);
    if (bk !== undefined && ctx.be) this.#set(['backends', ctx.beName!, 'timeouts', bk], val, d.line);
    if (!ctx.fromDefaults && ((fk !== undefined && !ctx.fe) || (bk !== undefined && !ctx.be))) {
      this.#warn(d.line, `"timeout ${what}" has no effect in a ${ctx.section.kind} section`);
    }
  }

  #option(d: Directive, ctx: Ctx): void {
    const negate = d.words[0] === 'no';
    const w = negate ? d.words.slice(1) : d.words;
    if (w[0] !== 'option') return this.#problem(d.line, d.words.join(' '), 'unknown directive');
    const name = w[1] ?? '';
    const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
    const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
    if (OPTION_NOOP[name] !== undefined) return;
    switch (name) {
      case 'redispatch': {
        if (!ctx.be) return;
        this.#use(P('retries'));
        const interval = w[2] !== undefined ? this.#int(w[2], d) : undefined;
        this.#set(be('retries', 'redispatch'), negate ? false : interval !== undefined ? (interval === -1 ? true : interval) : true, d.line);
        return;
      }
      case 'httplog':
        if (ctx.fe) ctx.logOption = negate ? undefined : { format: 'httplog', line: d.line };
        return;
      case 'tcplog':
        if (ctx.fe) ctx.logOption = negate ? undefined : { format: 'tcplog', line: d.line };
        return;
      case 'forwardfor': {
        if (!ctx.fe) return;
        if (negate) {
          ctx.forwardfor = undefined;
          return;
        }
        const f: NonNullable<Ctx['forwardfor']> = { line: d.line };
        for (let i = 2; i < w.length; i++) {
          if (w[i] === 'except') f.except = w[++i];
          else if (w[i] === 'if-none') this.#warn(d.line, 'option forwardfor if-none: an untrusted client\'s X-Forwarded-For is always replaced');
          else if (w[i] === 'header') return this.#problem(d.line, d.words.join(' '), 'a custom forwardfor header name is not supported');
          else return this.#problem(d.line, d.words.join(' '), `unknown forwardfor argument "${w[i]}"`);
        }
        ctx.forwardfor = f;
        return;
      }
      case 'httpchk': {
        if (!ctx.be) return;
        const c: NonNullable<Ctx['httpchk']> = { line: d.line };
        const args = w.slice(2);
        if (args.length === 1) c.path = args[0];
        else if (args.length >= 2) {
          c.method = args[0];
          c.path = args[1];
          // HAProxy's old form packs headers into the version: "HTTP/1.1\r\nHost:\ x"
          const ver = args.slice(2).join(' ');
          const host = /\\r\\nHost:\s*([^\\]+)/i.exec(ver);
          if (host) c.host = host[1]!.trim();
        }
        ctx.httpchk = negate ? undefined : c;
        return;
      }
      case 'allbackups':
        if (ctx.be) this.#set(be('allBackups'), !negate, d.line);
        return;
      case 'http-server-close':
      case 'httpclose':
      case 'forceclose':
      case 'http-pretend-keepalive':
        this.#warn(d.line, `"option ${name}" approximated: Switchyard keeps client and server connections alive independently`);
        return;
      case 'tcp-check':
        if (ctx.be) this.#warn(d.line, '"option tcp-check" approximated: a plain connect check (tcp-check send/expect rules are not supported)');
        return;
      case 'ssl-hello-chk':
        if (ctx.be) this.#warn(d.line, '"option ssl-hello-chk" approximated: a plain connect check');
        return;
      case 'http-use-htx':
        return;
      default:
        if (ctx.fromDefaults && (name === '' || !ctx.fe || !ctx.be)) {
          // still report unknown options once per proxy using the defaults
        }
        this.#problem(d.line, d.words.join(' '), `unknown option "${name}"`);
    }
    void fe;
  }

  #httpCheck(d: Directive, ctx: Ctx): void {
    if (!ctx.be) return;
    const w = d.words;
    if (w[1] === 'expect') {
      let i = 2;
      if (w[i] === '!') return this.#problem(d.line, w.join(' '), 'negated http-check expect is not supported');
      const kind = w[i];
      const arg = w[i + 1];
      if (arg === undefined) return this.#problem(d.line, w.join(' '), 'http-check expect needs a pattern');
      const expect: Obj = {};
      switch (kind) {
        case 'status': {
          const list = arg.split(',');
          const single = list.map((x) => /^(\d{3})-(\d{3})$/.exec(x));
          if (list.length === 1 && single[0]) expect.statusRange = arg;
          else if (list.every((x) => /^\d{3}$/.test(x))) expect.status = list.length === 1 ? Number(list[0]) : list.map(Number);
          else return this.#problem(d.line, w.join(' '), 'status must be a code, a list of codes or one range');
          break;
        }
        case 'rstatus':
          return this.#problem(d.line, w.join(' '), 'rstatus is not supported (use status with codes or a range)');
        case 'string':
          expect.body = arg;
          break;
        case 'rstring':
          expect.bodyRegex = arg;
          break;
        default:
          return this.#problem(d.line, w.join(' '), `unsupported http-check expect "${kind}"`);
      }
      ctx.httpExpect = { value: expect, line: d.line };
      return;
    }
    if (w[1] === 'send') {
      const c: NonNullable<Ctx['httpchk']> = ctx.httpchk ?? { line: d.line };
      for (let i = 2; i < w.length; i++) {
        const a = w[i + 1];
        switch (w[i]) {
          case 'meth':
            c.method = a;
            i++;
            break;
          case 'uri':
            c.path = a;
            i++;
            break;
          case 'ver':
            i++;
            break;
          case 'hdr': {
            const v = w[i + 2] ?? '';
            if (a?.toLowerCase() === 'host') c.host = v;
            else (c.headers ??= {})[a ?? ''] = v;
            i += 2;
            break;
          }
          default:
            return this.#problem(d.line, w.join(' '), `unsupported http-check send argument "${w[i]}"`);
        }
      }
      ctx.httpchk = c;
      return;
    }
    if (w[1] === 'disable-on-404') return this.#warn(d.line, '"http-check disable-on-404" ignored');
    this.#problem(d.line, w.join(' '), `unsupported http-check "${w[1] ?? ''}" (expect and send are supported)`);
  }

  #balance(d: Directive, ctx: Ctx): void {
    const w = d.words;
    const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
    let algo = w[1] ?? '';
    let arg: string | undefined;
    const m = /^([a-z_-]+)\((.*)\)$/.exec(algo);
    if (m) {
      algo = m[1]!;
      arg = m[2];
    }
    if (algo === 'hash' && w[2] !== undefined) arg = w.slice(2).join(' ');
    if (!(algo in BALANCE_PLUGIN)) return this.#problem(d.line, w.join(' '), `balance "${algo}" is not supported (rdp-cookie, log-*)`);
    const plugin = BALANCE_PLUGIN[algo];
    if (plugin) this.#use(plugin);
    this.#set(be('balance'), algo, d.line);
    switch (algo) {
      case 'random':
        if (arg !== undefined) {
          const n = this.#int(arg, d);
          if (n !== undefined) this.#set(be('randomDraws'), n, d.line);
        }
        return;
      case 'uri':
        for (let i = 2; i < w.length; i++) {
          if (w[i] === 'whole') this.#set(be('uriWhole'), true, d.line);
          else if (w[i] === 'path-only') this.#set(be('uriPathOnly'), true, d.line);
          else if (w[i] === 'len' || w[i] === 'depth') {
            const n = this.#int(w[i + 1], d);
            if (n !== undefined) this.#set(be(w[i] === 'len' ? 'uriLen' : 'uriDepth'), n, d.line);
            i++;
          } else return this.#problem(d.line, w.join(' '), `unknown balance uri option "${w[i]}"`);
        }
        return;
      case 'url_param':
        if (!w[2]) return this.#problem(d.line, w.join(' '), 'balance url_param needs a parameter name');
        if (w.length > 3) return this.#problem(d.line, w.join(' '), 'balance url_param: check_post and max_wait are not supported');
        this.#set(be('urlParam'), w[2], d.line);
        return;
      case 'hdr':
        if (!arg) return this.#problem(d.line, w.join(' '), 'balance hdr(<name>) needs a header name');
        this.#set(be('hashHeader'), arg, d.line);
        if (w[2] === 'use_domain_only') this.#set(be('hashUseDomainOnly'), true, d.line);
        else if (w[2] !== undefined) return this.#problem(d.line, w.join(' '), `unknown balance hdr option "${w[2]}"`);
        return;
      case 'hash':
        if (!arg) return this.#problem(d.line, w.join(' '), 'balance hash needs an expression');
        this.#use(P('acl'));
        this.#set(be('hashKey'), aliases(arg), d.line);
        return;
      default:
        if (w.length > 2) this.#problem(d.line, w.join(' '), `balance ${algo} takes no arguments`);
    }
  }

  #cookie(d: Directive, ctx: Ctx): void {
    const w = d.words;
    const c: Obj = { name: w[1] };
    for (let i = 2; i < w.length; i++) {
      const o = w[i]!;
      switch (o) {
        case 'insert':
        case 'rewrite':
        case 'prefix':
          c.mode = o;
          break;
        case 'indirect':
        case 'nocache':
        case 'httponly':
        case 'secure':
          c[o] = true;
          break;
        case 'domain':
        case 'path':
          c[o] = w[++i];
          break;
        case 'maxidle':
        case 'maxlife': {
          const v = this.#duration(w[++i], d);
          if (v !== undefined) c[o] = v;
          break;
        }
        case 'attr':
          ((c.attributes ??= []) as string[]).push(w[++i] ?? '');
          break;
        case 'preserve':
        case 'postonly':
          this.#warn(d.line, `cookie "${o}" ignored`);
          break;
        default:
          return this.#problem(d.line, w.join(' '), `unsupported cookie option "${o}"`);
      }
    }
    if (c.mode === undefined) c.mode = 'rewrite';
    this.#use(P('stickiness'));
    this.#set(['backends', ctx.beName!, 'cookie'], c, d.line);
    ctx.cookieLine = d.line;
  }

  #server(d: Directive, ctx: Ctx): void {
    const w = d.words;
    const name = w[1];
    const addr = w[2];
    if (!name || !addr) return this.#problem(d.line, w.join(' '), 'server needs a name and an address');
    const m = /^(?:ipv4@|ipv6@)?(\[[^\]]+\]|[^:]+):(\d+)$/.exec(addr);
    if (!m) return this.#problem(d.line, w.join(' '), `server address "${addr}" needs a port (ports taken from the client, ranges and unix sockets are not supported)`);
    const server: Obj = { name, address: addr.replace(/^ipv[46]@/, '') };
    const check: Obj = {};
    let checked = false;
    let agent: Obj | undefined;
    const tls: Obj = {};
    let ssl = false;
    const passive: Obj = {};
    const params = [...ctx.defaultServer.map((x) => ({ words: x.words.slice(1), d: x })), { words: w.slice(3), d }];
    for (const { words, d: src } of params) {
      for (let i = 0; i < words.length; i++) {
        const o = words[i]!;
        const a = words[i + 1];
        const num = (): number | undefined => {
          i++;
          return this.#int(a, src);
        };
        const dur = (): string | number | undefined => {
          i++;
          return this.#duration(a, src);
        };
        switch (o) {
          case 'check':
            checked = true;
            break;
          case 'no-check':
            checked = false;
            break;
          case 'inter':
          case 'fastinter':
          case 'downinter': {
            const v = dur();
            if (v !== undefined) check[o] = v;
            break;
          }
          case 'rise':
          case 'fall': {
            const v = num();
            if (v !== undefined) check[o] = v;
            break;
          }
          case 'port': {
            const v = num();
            if (v !== undefined) check.port = v;
            break;
          }
          case 'addr':
            check.address = a;
            i++;
            break;
          case 'weight': {
            const v = num();
            if (v !== undefined) server.weight = v;
            break;
          }
          case 'maxconn': {
            const v = num();
            if (v !== undefined) server.maxconn = v;
            break;
          }
          case 'maxqueue': {
            const v = num();
            if (v !== undefined && v > 0) {
              ctx.maxqueueFromServers += v;
              this.#warn(src.line, `server maxqueue approximated: Switchyard has one queue per backend, whose maxqueue becomes the sum of the servers' (${name})`);
            }
            break;
          }
          case 'backup':
            server.backup = true;
            break;
          case 'slowstart': {
            const v = dur();
            if (v !== undefined) {
              server.slowstart = v;
              this.#use(P('slowstart'));
            }
            break;
          }
          case 'cookie':
            server.cookie = a;
            i++;
            break;
          case 'ssl':
            ssl = true;
            break;
          case 'no-ssl':
            ssl = false;
            break;
          case 'verify':
            if (a !== 'none' && a !== 'required') return this.#problem(src.line, src.words.join(' '), 'verify must be none or required');
            tls.verify = a === 'required';
            i++;
            break;
          case 'ca-file':
            tls.ca = this.#ca(a ?? '');
            i++;
            break;
          case 'sni': {
            const s = /^str\((.*)\)$/.exec(a ?? '');
            if (!s) return this.#problem(src.line, src.words.join(' '), 'server sni: only str(<name>) is supported');
            tls.sni = s[1];
            i++;
            break;
          }
          case 'alpn':
            tls.alpn = (a ?? '').split(',');
            i++;
            break;
          case 'send-proxy':
            server.sendProxy = 'v1';
            this.#use(P('proxy-protocol'));
            break;
          case 'send-proxy-v2':
            server.sendProxy = 'v2';
            this.#use(P('proxy-protocol'));
            break;
          case 'agent-check':
            agent ??= {};
            break;
          case 'agent-port': {
            const v = num();
            agent ??= {};
            if (v !== undefined) agent.port = v;
            break;
          }
          case 'agent-inter': {
            const v = dur();
            agent ??= {};
            if (v !== undefined) agent.inter = v;
            break;
          }
          case 'agent-send':
            agent ??= {};
            agent.send = a;
            i++;
            break;
          case 'agent-addr':
            agent ??= {};
            agent.address = a;
            i++;
            break;
          case 'observe':
            passive.observe = a;
            i++;
            break;
          case 'error-limit': {
            const v = num();
            if (v !== undefined) passive.errorLimit = v;
            break;
          }
          case 'on-error':
            passive.onError = a;
            i++;
            break;
          case 'id':
            i++;
            break;
          case 'init-addr':
          case 'resolvers':
          case 'resolve-prefer':
            i++;
            this.#warn(src.line, `server "${o}" ignored: names are resolved by the system resolver at connect time`);
            break;
          case 'enabled':
            break;
          default:
            return this.#problem(src.line, src.words.join(' '), `unsupported server option "${o}"`);
        }
      }
    }
    if (checked) {
      this.#use(P('health-check'));
      server.check = Object.keys(check).length > 0 ? check : true;
    } else server.check = false;
    if (agent !== undefined) {
      this.#use(P('health-check'));
      if (agent.port === undefined) return this.#problem(d.line, w.join(' '), 'agent-check needs agent-port');
      server.agentCheck = agent;
    }
    if (ssl) server.tls = tls;
    else if (Object.keys(tls).length > 0) this.#warn(d.line, `server ${name}: TLS options without "ssl" ignored`);
    if (Object.keys(passive).length > 0) {
      this.#use(P('passive-health'));
      server.passiveHealth = passive;
    }
    this.#push(['backends', ctx.beName!, 'servers'], server, d.line);
  }

  /** Rule bodies shared by http-request and http-response. */
  /** The rule, undefined for an action it does not know, null when it reported a problem. */
  #headerRule(action: string, head: string[], d: Directive): Obj | null | undefined {
    const rule: Obj = { action };
    switch (action) {
      case 'set-header':
      case 'add-header':
        if (head.length < 2) break;
        rule.name = head[0];
        rule.value = head.slice(1).join(' ');
        return rule;
      case 'del-header':
        if (head.length !== 1) break;
        rule.name = head[0];
        return rule;
      case 'replace-header':
      case 'replace-value':
        if (head.length !== 3) break;
        rule.action = 'replace-header';
        rule.name = head[0];
        rule.match = head[1];
        rule.replace = head[2];
        if (action === 'replace-value') this.#warn(d.line, 'replace-value approximated as replace-header (the whole value, not each comma-separated item)');
        return rule;
      default:
        return undefined;
    }
    this.#problem(d.line, d.words.join(' '), `wrong arguments for ${action}`);
    return null;
  }

  #httpRequest(d: Directive, ctx: Ctx): void {
    const { head, cond } = this.#splitCond(d.words.slice(1));
    const action = head[0] ?? '';
    const args = head.slice(1);
    if (!ctx.fe && (ctx.fromDefaults || !ctx.be)) return;
    const onBackend = !ctx.fe;
    const add = (rule: Obj): void => {
      this.#use(P('http-rules'));
      const full = { ...rule, ...this.#cond(cond, d) };
      if (onBackend) this.#backendRule(ctx.beName!, 'httpRequest', full, d.line);
      else this.#push(['frontends', ctx.feName!, 'httpRequest'], full, d.line);
    };
    const m = /^track-sc(\d)$/.exec(action);
    if (onBackend && (m || action === 'cache-use' || action === 'auth')) {
      return this.#problem(d.line, d.words.join(' '), `http-request ${action} in a backend is not supported (put it in the frontend)`);
    }
    if (m) {
      if (!args[0]) return this.#problem(d.line, d.words.join(' '), 'track-sc needs a key');
      const t: Obj = { counter: Number(m[1]), key: aliases(args[0]) };
      if (args[1] === 'table' && args[2]) t.table = args[2];
      const period = this.#tablePeriod(ctx, d, args[1] === 'table' ? args[2] : undefined);
      if (period !== undefined) t.period = period;
      this.#use(P('rate-limit'));
      this.#push(['frontends', ctx.feName!, 'track'], { ...t, ...this.#cond(cond, d) }, d.line);
      return;
    }
    switch (action) {
      case 'allow':
        return add({ action });
      case 'deny': {
        const r: Obj = { action };
        for (let i = 0; i < args.length; i++) {
          if (args[i] === 'deny_status') r.status = Number(args[++i]);
          else if (args[i] === 'content-type') r.contentType = args[++i];
          else if (args[i] === 'string' || args[i] === 'lf-string') r.body = args[++i];
          else return this.#problem(d.line, d.words.join(' '), `unsupported deny argument "${args[i]}"`);
        }
        return add(r);
      }
      case 'redirect': {
        const r: Obj = { action };
        const kind = args[0];
        if (kind !== 'location' && kind !== 'prefix' && kind !== 'scheme') return this.#problem(d.line, d.words.join(' '), 'redirect needs location, prefix or scheme');
        r[kind] = args[1];
        for (let i = 2; i < args.length; i++) {
          if (args[i] === 'code') r.code = Number(args[++i]);
          else return this.#problem(d.line, d.words.join(' '), `unsupported redirect option "${args[i]}"`);
        }
        return add(r);
      }
      case 'return': {
        const r: Obj = { action };
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          if (a === 'status') r.status = Number(args[++i]);
          else if (a === 'content-type') r.contentType = args[++i];
          else if (a === 'string' || a === 'lf-string') r.body = args[++i];
          else if (a === 'file' || a === 'lf-file') r.file = args[++i];
          else if (a === 'hdr') {
            ((r.headers ??= {}) as Obj)[args[i + 1] ?? ''] = args[i + 2];
            i += 2;
          } else return this.#problem(d.line, d.words.join(' '), `unsupported return argument "${a}"`);
        }
        return add(r);
      }
      case 'set-path':
      case 'set-query':
      case 'set-method':
        if (args.length < 1) return this.#problem(d.line, d.words.join(' '), `${action} needs a value`);
        return add({ action, value: args.join(' ') });
      case 'replace-path':
        if (args.length !== 2) return this.#problem(d.line, d.words.join(' '), 'replace-path needs a regex and a replacement');
        return add({ action, match: args[0], replace: args[1] });
      case 'cache-use':
        return this.#cacheUse(args[0], d, ctx);
      case 'auth':
        return this.#auth(args, cond, d, ctx);
      case 'set-log-level':
      case 'capture':
        return this.#warn(d.line, `http-request ${action} ignored`);
      default: {
        const sv = /^set-var\(([^)]+)\)$/.exec(action);
        if (sv) return add({ action: 'set-var', name: sv[1], value: args.join(' ') });
        const h = this.#headerRule(action, args, d);
        if (h === null) return;
        if (h) return add(h);
        this.#problem(d.line, d.words.join(' '), `http-request action "${action}" is not supported`);
      }
    }
  }

  #httpResponse(d: Directive, ctx: Ctx): void {
    const { head, cond } = this.#splitCond(d.words.slice(1));
    const action = head[0] ?? '';
    const args = head.slice(1);
    if (!ctx.fe && (ctx.fromDefaults || !ctx.be)) return;
    const add = (rule: Obj): void => {
      this.#use(P('http-rules'));
      const full = { ...rule, ...this.#cond(cond, d) };
      if (!ctx.fe) this.#backendRule(ctx.beName!, 'httpResponse', full, d.line);
      else this.#push(['frontends', ctx.feName!, 'httpResponse'], full, d.line);
    };
    if (action === 'cache-store') {
      if (!ctx.fe) return this.#problem(d.line, d.words.join(' '), 'http-response cache-store in a backend is not supported (put it in the frontend)');
      return this.#cacheUse(args[0], d, ctx);
    }
    if (action === 'set-status') {
      const r: Obj = { action, status: Number(args[0]) };
      if (args[1] === 'reason') r.reason = args[2];
      return add(r);
    }
    const h = this.#headerRule(action, args, d);
    if (h === null) return;
    if (!h) return this.#problem(d.line, d.words.join(' '), `http-response action "${action}" is not supported`);
    add(h);
  }

  /** A backend's rule, moved to its frontends once every section is read (see #finish). */
  #backendRule(backend: string, kind: 'httpRequest' | 'httpResponse', rule: Obj, line: number): void {
    let list = this.#backendRules.get(backend);
    if (!list) this.#backendRules.set(backend, (list = []));
    list.push({ kind, rule, line });
  }

  #tcpRequest(d: Directive, ctx: Ctx): void {
    const w = d.words;
    if (!ctx.fe) {
      if (!ctx.fromDefaults) this.#problem(d.line, w.join(' '), 'tcp-request rules are only supported in frontend and listen sections');
      return;
    }
    const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
    if (w[1] === 'inspect-delay') {
      const v = this.#duration(w[2], d);
      if (v === undefined) return;
      this.#use(P('http-rules'));
      this.#set(fe('tcpRequest', 'inspectDelay'), v, d.line);
      return;
    }
    if (w[1] === 'connection' || w[1] === 'content') {
      const { head, cond } = this.#splitCond(w.slice(2));
      const action = head[0];
      const tm = /^track-sc(\d)$/.exec(action ?? '');
      if (tm && w[1] === 'content' && head[1]) {
        const t: Obj = { counter: Number(tm[1]), key: head[1] };
        const period = this.#tablePeriod(ctx, d);
        if (period !== undefined) t.period = period;
        this.#use(P('rate-limit'));
        this.#push(fe('track'), { ...t, ...this.#cond(cond, d) }, d.line);
        return;
      }
      if ((action !== 'accept' && action !== 'reject') || head.length > 1) {
        return this.#problem(d.line, w.join(' '), `tcp-request ${w[1]} action "${head.join(' ')}" is not supported (accept, reject)`);
      }
      this.#use(P('http-rules'));
      this.#push(fe('tcpRequest', w[1]), { action, ...this.#cond(cond, d) }, d.line);
      return;
    }
    this.#problem(d.line, w.join(' '), `tcp-request ${w[1] ?? ''} is not supported`);
  }

  /** The http_req_rate period of this proxy's stick-table, for track-sc. */
  #tablePeriod(ctx: Ctx, d: Directive, table?: string): string | number | undefined {
    const t = table !== undefined ? this.#tables.get(table) : ctx.stickTable;
    if (!t) {
      if (table !== undefined) this.#problem(d.line, d.words.join(' '), `no backend "${table}" holding a stick-table before this line`);
      return undefined;
    }
    const store = t.words[t.words.indexOf('store') + 1] ?? '';
    const m = /http_req_rate\(([^)]+)\)/.exec(store);
    return m ? this.#duration(m[1], d) : undefined;
  }

  #cacheUse(name: string | undefined, d: Directive, ctx: Ctx): void {
    if (!name) return this.#problem(d.line, d.words.join(' '), 'cache-use/cache-store need a cache name');
    this.#use(P('cache'));
    this.#set(['frontends', ctx.feName!, 'cache'], true, d.line);
    const c = this.#caches.get(name);
    if (!c) return this.#problem(d.line, d.words.join(' '), `no cache section named "${name}" before this line`);
    for (const [k, v] of Object.entries(c.obj)) this.#set(['cache', k], v, c.line);
  }

  #compression(d: Directive, ctx: Ctx): void {
    const w = d.words;
    this.#use(P('compression'));
    switch (w[1]) {
      case 'algo': {
        const enc = w.slice(2).map((x) => (x === 'br' ? 'br' : x)).filter((x) => x !== 'identity');
        const bad = enc.filter((x) => !['gzip', 'deflate', 'br'].includes(x));
        if (bad.length > 0) return this.#problem(d.line, w.join(' '), `compression algo ${bad.join(', ')} is not supported (gzip, deflate, br)`);
        if (w.slice(2).some((x) => x === 'raw-deflate')) return;
        this.#set(['compression', 'encodings'], enc, d.line);
        break;
      }
      case 'type':
        this.#set(['compression', 'types'], w.slice(2), d.line);
        break;
      case 'offload':
        this.#warn(d.line, '"compression offload" approximated: Accept-Encoding is still sent to servers');
        break;
      default:
        return this.#problem(d.line, w.join(' '), `compression ${w[1] ?? ''} is not supported (algo, type)`);
    }
    ctx.compression = true;
  }

  #stats(d: Directive, ctx: Ctx): void {
    const w = d.words;
    if (!ctx.fe) {
      if (!ctx.fromDefaults) this.#problem(d.line, w.join(' '), 'stats in a backend-only section is not supported (use a frontend or listen)');
      return;
    }
    this.#use(P('stats'));
    const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
    switch (w[1]) {
      case 'enable':
        if (this.#get(fe('stats', 'path')) === undefined) this.#set(fe('stats', 'path'), '/haproxy?stats', d.line);
        this.#set(['stats', 'enabled'], false, d.line);
        return;
      case 'uri':
        this.#set(fe('stats', 'path'), w[2], d.line);
        this.#set(['stats', 'enabled'], false, d.line);
        return;
      case 'auth': {
        const [user, ...pass] = (w[2] ?? '').split(':');
        this.#set(['stats', 'auth', 'username'], user, d.line);
        this.#set(['stats', 'auth', 'password'], pass.join(':'), d.line);
        return;
      }
      case 'realm':
        this.#set(['stats', 'auth', 'realm'], w.slice(2).join(' '), d.line);
        return;
      case 'refresh':
      case 'hide-version':
      case 'show-legends':
      case 'show-node':
      case 'show-desc':
      case 'admin':
        this.#warn(d.line, `"stats ${w[1]}" ignored: the page updates live (server-sent events); admin actions are the runtime API's`);
        return;
      default:
        this.#problem(d.line, w.join(' '), `stats ${w[1] ?? ''} is not supported`);
    }
  }

  /** What a proxy's collected options turn into once all its lines are read. */
  #closeProxy(ctx: Ctx): void {
    const s = ctx.section;
    if (ctx.be) {
      const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
      const servers = this.#get(be('servers')) as Obj[];
      const anyCheck = servers.some((x) => x.check !== false);
      const anyAgent = servers.some((x) => x.agentCheck !== undefined);
      if (anyCheck || ctx.httpchk) {
        const line = ctx.httpchk?.line ?? s.line;
        const hc: Obj = { type: ctx.httpchk ? 'http' : 'tcp' };
        if (ctx.httpchk) {
          const http: Obj = {};
          if (ctx.httpchk.method) http.method = ctx.httpchk.method;
          if (ctx.httpchk.path) http.path = ctx.httpchk.path;
          if (ctx.httpchk.host) http.host = ctx.httpchk.host;
          if (ctx.httpchk.headers) http.headers = ctx.httpchk.headers;
          if (ctx.httpExpect) http.expect = ctx.httpExpect.value;
          hc.http = http;
        }
        if (ctx.checkTimeout) hc.timeout = ctx.checkTimeout.value;
        if (this.#jitter !== undefined) hc.jitter = this.#jitter;
        if (anyCheck) {
          this.#use(P('health-check'));
          this.#set(be('healthCheck'), hc, line);
        }
      } else {
        for (const x of servers) delete x.check;
      }
      if (!anyCheck) for (const x of servers) delete x.check;
      void anyAgent;
      if (ctx.maxqueueFromServers > 0) this.#set(be('maxqueue'), ctx.maxqueueFromServers, s.line);
      if (ctx.stickOn) {
        const st: Obj = { key: ctx.stickOn.key };
        const t = ctx.stickTable?.words ?? [];
        for (let i = 0; i < t.length; i++) {
          if (t[i] === 'expire') st.expire = this.#duration(t[++i], { words: t, line: ctx.stickTable!.line });
          else if (t[i] === 'size') {
            const n = parseSize(t[++i]!.replace(/k$/i, '000').replace(/m$/i, '000000'));
            if (n !== undefined) st.size = n;
          }
        }
        this.#use(P('stickiness'));
        if (ctx.stickOn.key !== 'src') this.#use(P('acl'));
        this.#set(be('stickTable'), st, ctx.stickOn.line);
      }
      if (ctx.compression && !ctx.fe) this.#compressedBackends.add(ctx.beName!);
      if (servers.length === 0 && s.kind === 'backend') this.#warn(s.line, `backend ${s.name} has no servers`);
    }
    if (ctx.fe) {
      const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
      if (ctx.forwardfor) {
        this.#use(P('forwarded-headers'));
        const f: Obj = { enabled: true, xForwardedFor: true };
        if (ctx.forwardfor.except) f.trustedProxies = [ctx.forwardfor.except];
        this.#set(fe('forwardedHeaders'), f, ctx.forwardfor.line);
      }
      if (ctx.compression) this.#set(fe('compression'), true, s.line);
      const content = this.#get(fe('tcpRequest', 'content')) as unknown[] | undefined;
      if (content && this.#get(fe('mode')) === 'http') {
        const line = this.#lines.get(JSON.stringify(fe('tcpRequest', 'content', 0))) ?? s.line;
        this.#problem(line, 'tcp-request content', 'content rules in an http frontend are not supported (use http-request rules)');
        delete (this.#get(fe('tcpRequest')) as Obj).content;
      }
      if (ctx.logOption && ctx.logEnabled) this.#logFrontends.push({ fe: ctx.feName!, option: ctx.logOption });
      else if (ctx.logOption && !ctx.fromDefaults) this.#warn(ctx.logOption.line, `frontend ${ctx.feName}: a log format without a "log" target logs nothing (as in HAProxy)`);
      if (ctx.stickTable && !ctx.be && !(this.#get(fe('track')) as unknown[] | undefined)?.length) {
        this.#warn(ctx.stickTable.line, 'stick-table without track-sc or stick on ignored');
      }
      if (this.#get(fe('bind')) === undefined) this.#problem(s.line, `${s.keyword} ${s.name}`, 'has no bind line');
    }
  }

  #finish(): void {
    // Rules of a backend run after the backend is chosen. They become rules of the frontends
    // that reach it, which is exact when such a frontend reaches no other backend.
    for (const [b, rules] of this.#backendRules) {
      for (const [name, f] of Object.entries(this.#config.frontends as Record<string, Obj>)) {
        const reach = new Set<string>(((f.useBackend as Obj[] | undefined) ?? []).map((r) => String(r.backend)));
        if (f.defaultBackend !== undefined) reach.add(String(f.defaultBackend));
        if (!reach.has(b)) continue;
        if (reach.size > 1) {
          for (const r of rules) {
            this.#problem(r.line, `${r.kind === 'httpRequest' ? 'http-request' : 'http-response'} ${String(r.rule.action)} (backend ${b})`, `frontend ${name} also routes to ${[...reach].filter((x) => x !== b).join(', ')}: backend rules are only supported when each frontend reaching the backend uses no other (move the rule to the frontend with a condition)`);
          }
          continue;
        }
        for (const r of rules) this.#push(['frontends', name, r.kind], { ...r.rule }, r.line);
      }
    }
    // Readable output: a backend's mode and policy first, its servers last.
    for (const [name, b] of Object.entries(this.#config.backends as Record<string, Obj>)) {
      const { mode, balance, servers, ...rest } = b;
      (this.#config.backends as Record<string, Obj>)[name] = { mode, ...(balance !== undefined ? { balance } : {}), ...rest, servers };
    }
    // compression declared in a backend: enable it on the frontends that can reach it
    for (const b of this.#compressedBackends) {
      for (const [name, f] of Object.entries(this.#config.frontends as Record<string, Obj>)) {
        const rules = (f.useBackend as Obj[] | undefined) ?? [];
        if (f.defaultBackend === b || rules.some((r) => r.backend === b)) {
          f.compression = true;
          this.#warn(this.#lines.get(JSON.stringify(['backends', b])) ?? 1, `compression of backend ${b} applies to all of frontend ${name}`);
        }
      }
    }
    if (this.#logFrontends.length > 0) {
      if (!this.#logTarget) this.#warn(1, 'log format given but no log target: access log goes to stdout');
      this.#use(P('access-log'));
      const line = this.#logFrontends[0]!.option.line;
      const al: Obj = { ...(this.#logTarget?.obj ?? { output: 'stdout' }) };
      const formats = new Set(this.#logFrontends.map((x) => (x.option.format === 'custom' ? `custom:${x.option.template}` : 'auto')));
      if (formats.size > 1) this.#warn(line, 'different log formats per frontend are not supported: the first one applies to all');
      const first = this.#logFrontends[0]!.option;
      al.format = first.format === 'custom' ? 'custom' : 'auto';
      if (first.format === 'custom') al.template = first.template;
      al.frontends = this.#logFrontends.map((x) => x.fe);
      this.#set(['accessLog'], al, line);
    }
  }
}

/**
 * `fd@N`: listen on inherited descriptor N (as VTest and systemd pass them). `fd@${VAR}` and
 * `fd@$VAR` are read from the environment here when the address still holds them.
 * Returns undefined for other addresses, a message when the descriptor is not a number.
 */
function inheritedFd(address: string): { fd: number } | string | undefined {
  const m = /^fd@(.*)$/.exec(address);
  if (!m) return undefined;
  let v = m[1]!;
  const ref = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(v);
  if (ref) v = process.env[ref[1] ?? ref[2]!] ?? '';
  if (!/^\d+$/.test(v)) return `bind address "${address}": fd@ needs a descriptor number${ref ? ` (environment variable ${ref[1] ?? ref[2]} is ${v === '' ? 'unset' : `"${v}"`})` : ''}`;
  return { fd: Number(v) };
}
