import { HaproxyErrors } from './errors';

/** One directive line, split into words the way HAProxy splits them. */
export interface Directive {
  readonly words: string[];
  readonly line: number;
}

export type SectionKind = 'global' | 'defaults' | 'frontend' | 'backend' | 'listen' | 'userlist' | 'cache' | 'other';

export interface Section {
  readonly keyword: string;
  readonly kind: SectionKind;
  readonly name: string;
  /** `from <defaults>` on the section line. */
  readonly from: string | undefined;
  /** Extra words on the section line (a listen's address: `listen x 0.0.0.0:80`). */
  readonly extra: string[];
  readonly line: number;
  readonly directives: Directive[];
}

const SECTIONS: Record<string, SectionKind> = {
  global: 'global',
  defaults: 'defaults',
  frontend: 'frontend',
  backend: 'backend',
  listen: 'listen',
  userlist: 'userlist',
  cache: 'cache',
  peers: 'other',
  resolvers: 'other',
  mailers: 'other',
  program: 'other',
  'http-errors': 'other',
  ring: 'other',
  'log-forward': 'other',
  crt_store: 'other',
  'crt-store': 'other',
  traces: 'other',
};

export type Env = Readonly<Record<string, string | undefined>>;

/** Where a line is read, for `${.FILE}`, `${.LINE}` and `${.SECTION}`. */
export interface LinePlace {
  file: string;
  line: number;
  section?: string;
}

/**
 * Splits one line into words as HAProxy 2.6's parse_line() does (src/tools.c): blanks
 * separate words, `#` outside quotes starts a comment, single quotes group literally,
 * double quotes group with backslash escapes and environment variables (`$VAR`, `${VAR}`,
 * `${VAR-default}`, `"${VAR[*]}"` for several words; `${.FILE}`, `${.LINE}`,
 * `${.SECTION}`). Outside double quotes a `$` is an ordinary character (addresses expand
 * theirs later, see expandAddress). Backslash: `\\`, `\ `, `\t`, `\n`, `\r`, `\#`,
 * `\'`, `\"`, `\$` (in double quotes) and `\xHH` are escapes; any other pair is kept as
 * written (`\.` stays `\.` for regexes).
 */
export function splitWords(text: string, file: string, line: number, env: Env = process.env, section?: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let squote = false;
  let dquote = false;
  let quoteAt = -1;
  const fail = (what: string, at: number): never => {
    throw HaproxyErrors.SYNTAX.with({ location: { file, line } }, `${what} at position ${at + 1}:\n  ${text}\n  ${' '.repeat(at)}^`);
  };
  const push = (): void => {
    words.push(cur);
    cur = '';
    inWord = false;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n' || c === '\r') break;
    if (c === '#' && !squote && !dquote) break;
    if (c === '"' && !squote) {
      dquote = !dquote;
      quoteAt = dquote ? i : -1;
      inWord = true;
      i++;
      continue;
    }
    if (c === "'" && !dquote) {
      squote = !squote;
      quoteAt = squote ? i : -1;
      inWord = true;
      i++;
      continue;
    }
    if (c === '\\' && !squote) {
      const n = text[i + 1];
      inWord = true;
      if (n === ' ' || n === '\\' || n === '#' || n === "'" || n === '"' || (n === '$' && dquote)) {
        cur += n;
        i += 2;
      } else if (n === 't' || n === 'n' || n === 'r') {
        cur += n === 't' ? '\t' : n === 'n' ? '\n' : '\r';
        i += 2;
      } else if (n === 'x') {
        const hex = text.slice(i + 2, i + 4);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail('truncated or invalid hexadecimal sequence', i);
        cur += String.fromCharCode(parseInt(hex, 16));
        i += 4;
      } else {
        cur += c;
        i++;
      }
      continue;
    }
    if ((c === ' ' || c === '\t') && !squote && !dquote) {
      if (inWord) push();
      while (text[i] === ' ' || text[i] === '\t') i++;
      continue;
    }
    if (c === '$' && dquote) {
      i++;
      const brace = text[i] === '{' ? i++ : -1;
      if (!/[A-Za-z_.]/.test(text[i] ?? '')) fail('forbidden first char in environment variable name', i);
      const start = i;
      if (text[i] === '.') i++;
      while (/[A-Za-z0-9_]/.test(text[i] ?? '')) i++;
      const name = text.slice(start, i);
      let value: string | undefined;
      if (name.startsWith('.')) {
        if (name === '.LINE') value = String(line);
        else if (name === '.FILE') value = file;
        else if (name === '.SECTION') value = section ?? '';
        else fail('unsupported internal variable name', start);
      } else value = env[name];
      let expand = false;
      if (text[i] === '[' && brace >= 0) {
        if (text.slice(i, i + 3) !== '[*]') fail('truncated or invalid word expansion sequence', i);
        expand = true;
        i += 3;
      }
      if (brace >= 0) {
        if (text[i] === '-') {
          const end = text.indexOf('}', i);
          if (end < 0) fail('unmatched brace in environment variable name', brace);
          if (value === undefined) value = text.slice(i + 1, end);
          i = end;
        } else if (text[i] !== '}') fail('unmatched brace in environment variable name', brace);
        i++;
      }
      inWord = true;
      if (value === undefined) continue;
      if (!expand) {
        cur += value;
        continue;
      }
      // "${VAR[*]}": each blank-separated part of the value is a word of its own
      const parts = value.split(/[ \t\r\n\f\v]+/);
      for (let k = 0; k < parts.length; k++) {
        if (k > 0) push();
        cur += parts[k];
        inWord = true;
      }
      continue;
    }
    inWord = true;
    cur += c;
    i++;
  }
  if (squote || dquote) fail(`unmatched ${dquote ? 'double' : 'single'} quote`, quoteAt);
  if (inWord) words.push(cur);
  return words;
}

/**
 * An address as HAProxy's str2sa_range() reads it: `$VAR` and `${VAR}` expand anywhere in
 * it, quoted or not (env_expand(): names of letters, digits and `_`; unset means empty).
 */
export function expandAddress(address: string, env: Env = process.env): string {
  if (!address.includes('$')) return address;
  return address.replace(/\$(\{?)([A-Za-z0-9_]*)(\}?)/g, (all, open: string, name: string, close: string) => {
    const value = env[name] ?? '';
    // "${NAME" without its brace: env_expand leaves the text after the name as is
    return open && !close ? value : open ? value : value + close;
  });
}

/** Cuts a haproxy.cfg into sections of directives. */
export function parseConfig(text: string, file: string, extraSections: ReadonlyArray<string> = [], env: Env = process.env): Section[] {
  const sections: Section[] = [];
  let current: Section | undefined;
  const lines = text.split('\n');
  const last = lines[lines.length - 1]!;
  void last;
  if (last !== '') {
    // HAProxy 2.6 refuses it too: a last line without its LF may be a truncated file.
    throw HaproxyErrors.SYNTAX.with({ location: { file, line: lines.length } }, `Missing LF on last line, file might have been truncated at position ${last.length + 1}`);
  }
  // .if/.elif/.else/.endif: a stack of [this branch is taken, some branch was taken]
  const conds: Array<{ on: boolean; done: boolean; line: number }> = [];
  const active = (): boolean => conds.every((c) => c.on);
  for (let n = 0; n < lines.length; n++) {
    const words = splitWords(lines[n]!, file, n + 1, env, current?.name);
    if (words.length === 0) continue;
    const kw = words[0]!;
    if (kw.startsWith('.')) {
      const at = { file, line: n + 1 };
      const outer = conds.slice(0, -1).every((c) => c.on);
      if (kw === '.if') {
        const parentOn = active();
        const v = parentOn && evalCondition(words.slice(1), at, env);
        conds.push({ on: v, done: v, line: n + 1 });
      } else if (kw === '.elif' || kw === '.else') {
        const top = conds[conds.length - 1];
        if (!top) throw HaproxyErrors.SYNTAX.with({ location: at }, `${kw} without .if`);
        const v = !top.done && outer && (kw === '.else' || evalCondition(words.slice(1), at, env));
        top.on = v;
        top.done ||= v;
      } else if (kw === '.endif') {
        if (!conds.pop()) throw HaproxyErrors.SYNTAX.with({ location: at }, '.endif without .if');
      } else if (!active()) {
        continue;
      } else if (kw === '.alert') {
        throw HaproxyErrors.SYNTAX.with({ location: at }, `.alert: ${words.slice(1).join(' ')}`);
      } else if (kw !== '.notice' && kw !== '.warning' && kw !== '.diag') {
        throw HaproxyErrors.SYNTAX.with({ location: at }, `unknown conditional directive "${kw}"`);
      }
      continue;
    }
    if (!active()) continue;
    const kind = SECTIONS[words[0]!] ?? (extraSections.includes(words[0]!) ? 'other' : undefined);
    if (kind !== undefined) {
      let name = words[1] ?? '';
      let from: string | undefined;
      const extra: string[] = [];
      const rest = words.slice(2);
      if (words[0] === 'defaults' && name === 'from') {
        name = '';
        rest.unshift('from');
      }
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === 'from' && rest[i + 1] !== undefined) {
          from = rest[i + 1];
          i++;
        } else extra.push(rest[i]!);
      }
      if (['frontend', 'backend', 'listen', 'userlist', 'cache'].includes(kind) && name === '') {
        throw HaproxyErrors.SYNTAX.with({ location: { file, line: n + 1 } }, `section "${words[0]}" needs a name`);
      }
      current = { keyword: words[0]!, kind, name, from, extra, line: n + 1, directives: [] };
      sections.push(current);
      continue;
    }
    if (!current) {
      throw HaproxyErrors.SYNTAX.with({ location: { file, line: n + 1 } }, `"${words[0]}" outside of any section (global, defaults, frontend, backend, listen…)`);
    }
    current.directives.push({ words, line: n + 1 });
  }
  if (conds.length > 0) throw HaproxyErrors.SYNTAX.with({ location: { file, line: conds[conds.length - 1]!.line } }, '.if without .endif');
  return sections;
}

/** Joins words back into one string, quoting those with blanks (for ACL lines and conditions). */
export function joinWords(words: ReadonlyArray<string>): string {
  return words.map((w) => (/[\s"]/.test(w) || w === '' ? `"${w.replace(/(["\\])/g, '\\$1')}"` : w)).join(' ');
}

/** What `feature(X)` answers: what Switchyard has (TLS, compression, regexes, the Prometheus exporter), not QUIC, Lua or threads. */
const FEATURES = new Set(['OPENSSL', 'ZLIB', 'SLZ', 'PCRE', 'PCRE2', 'PCRE2_JIT', 'PCRE_JIT', 'PROMEX', 'LINUX_SPLICE', 'GETADDRINFO', 'ACCEPT4', 'CLOSEFROM', 'TFO', 'NS']);
/** The HAProxy version the adapter answers for: the one whose behaviour it follows. */
const VERSION = '2.6.12';

function versionCmp(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A `.if` condition: terms (predicates, numbers, strings), `!`, `&&`, `||`, parentheses. */
function evalCondition(words: string[], at: { file: string; line: number }, env: Env): boolean {
  const text = words.join(' ');
  const toks = text.match(/&&|\|\||!|\(|\)|[a-z_]+\([^)]*\)|[^\s()!&|]+/g) ?? [];
  let i = 0;
  const fail = (why: string): never => {
    throw HaproxyErrors.SYNTAX.with({ location: at }, `.if ${text}: ${why}`);
  };
  const term = (): boolean => {
    const t = toks[i++];
    if (t === undefined) return fail('a term is missing');
    if (t === '!') return !term();
    if (t === '(') {
      const v = or();
      if (toks[i++] !== ')') fail('unbalanced parentheses');
      return v;
    }
    const call = /^([a-z_]+)\((.*)\)$/.exec(t);
    if (!call) return t !== '' && t !== '0';
    const args = call[2]!.split(',').map((x) => x.trim());
    switch (call[1]) {
      case 'defined':
        return env[args[0] ?? ''] !== undefined;
      case 'feature':
        return FEATURES.has(args[0] ?? '');
      case 'streq':
        return args[0] === args[1];
      case 'strneq':
        return args[0] !== args[1];
      case 'version_atleast':
        return versionCmp(VERSION, args[0] ?? '') >= 0;
      case 'version_before':
        return versionCmp(VERSION, args[0] ?? '') < 0;
      case 'openssl_version_atleast':
        return versionCmp(process.versions.openssl ?? '0', args[0] ?? '') >= 0;
      case 'openssl_version_before':
        return versionCmp(process.versions.openssl ?? '0', args[0] ?? '') < 0;
      default:
        return fail(`unknown predicate ${call[1]}()`);
    }
  };
  const and = (): boolean => {
    let v = term();
    while (toks[i] === '&&') {
      i++;
      const r = term();
      v = v && r;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (toks[i] === '||') {
      i++;
      const r = and();
      v = v || r;
    }
    return v;
  };
  const v = or();
  if (i < toks.length) fail(`unexpected "${toks[i]}"`);
  return v;
}
