import * as fs from 'node:fs';
import * as path from 'node:path';
import { patternRef, type PatternRef } from './pattern-refs';
import { FETCH_SLOT, type Exchange, type FetchDefinition, type FetchValue, type SlotRegistry } from '@switchyard/sdk';
import { AclErrors } from './errors';
import { DEFAULT_METHOD, FETCH_ALIASES } from './fetches';
import { METHOD_SUFFIXES } from './matchers';
import { splitCall, tokenize, type Token } from './tokens';
import {
  CONVERTER_SLOT, MATCH_SLOT, type AclCompiler, type AclLine, type CompiledCondition, type CompiledFetch, type CompiledFormat,
  type ConditionNode, type ConverterDefinition, type MatchDefinition, type RuleCondition, type Sample, type TraceLine,
} from './types';

/** ACLs every frontend has (HAProxy's predefined ACLs); a frontend may redefine them. */
/**
 * The scope name that conditions of a backend's rules are compiled in (its own named ACLs
 * and the shared ones): pass it where a frontend name is expected. No frontend name has a NUL.
 */
export function backendAclScope(backend: string): string {
  return `\0backend:${backend}`;
}

export const PREDEFINED_ACLS: Readonly<Record<string, string | null>> = Object.freeze({
  TRUE: null,
  FALSE: null,
  LOCALHOST: 'src 127.0.0.1/8 ::1',
  HTTP: null,
  METH_GET: 'method GET HEAD',
  METH_HEAD: 'method HEAD',
  METH_POST: 'method POST',
  METH_PUT: 'method PUT',
  METH_DELETE: 'method DELETE',
  METH_PATCH: 'method PATCH',
  METH_OPTIONS: 'method OPTIONS',
  METH_CONNECT: 'method CONNECT',
  METH_TRACE: 'method TRACE',
  HTTP_URL_SLASH: 'url_beg /',
  HTTP_URL_ABS: 'url_reg ^[^/:]*://',
  HTTP_URL_STAR: 'url *',
  'HTTP_1.0': 'req.ver 1.0',
  'HTTP_1.1': 'req.ver 1.1',
  'HTTP_2.0': 'req.ver 2.0',
  HTTP_CONTENT: 'hdr_val(content-length) gt 0',
  REQ_CONTENT: 'req.len gt 0',
  WAIT_END: 'wait_end',
});

const STOP_WORDS = new Set(['or', '||', 'and', '&&']);

/** Named ACL definitions: one line, or several lines that are ORed (HAProxy's repeated `acl x`). */
import type { AclDefinitions } from './schema';

export type { AclDefinitions };

interface NamedAcl {
  readonly name: string;
  readonly lines: ReadonlyArray<AclLine>;
  readonly constant?: boolean;
}

function isPresent(v: FetchValue): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

function lineTest(
  read: (ex: Exchange) => FetchValue,
  test: (s: Sample) => boolean,
  found: boolean,
  stringTest?: (s: string) => boolean,
): (ex: Exchange) => boolean {
  if (found) return (ex) => isPresent(read(ex));
  if (stringTest) {
    return (ex) => {
      const v = read(ex);
      if (typeof v === 'string') return stringTest(v);
      if (v === undefined || v === null) return false;
      if (typeof v === 'object') {
        for (const x of v as ReadonlyArray<string>) if (test(x)) return true;
        return false;
      }
      return test(v);
    };
  }
  return (ex) => {
    const v = read(ex);
    if (v === undefined || v === null) return false;
    if (typeof v === 'object') {
      for (const x of v as ReadonlyArray<string>) if (test(x)) return true;
      return false;
    }
    return test(v);
  };
}

function renderValue(v: FetchValue): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return (v as ReadonlyArray<string>).join(',');
  return String(v);
}

/**
 * The ACL compiler of one gateway: turns fetch expressions, ACL lines, conditions and
 * `%[…]` formats into closures once, at apply time.
 */
export class AclCompilerImpl implements AclCompiler {
  readonly #slots: SlotRegistry;
  readonly #baseDir: string;
  readonly #acls = new Map<string, Map<string, NamedAcl>>();
  readonly #defaults: AclDefinitions;

  constructor(slots: SlotRegistry, baseDir: string, defaults: AclDefinitions, frontends: Record<string, AclDefinitions>, backends: Record<string, AclDefinitions> = {}) {
    this.#slots = slots;
    this.#baseDir = baseDir;
    this.#defaults = defaults;
    const shared = new Map<string, NamedAcl>();
    for (const [name, text] of Object.entries(PREDEFINED_ACLS)) {
      if (text === null) continue;
      shared.set(name, { name, lines: [this.compileLine(text, `predefined ACL ${name}`)], constant: true });
    }
    for (const [name, def] of Object.entries(defaults)) shared.set(name, this.#compileNamed(name, def, `defaults.acls.${name}`));
    for (const [fe, defs] of Object.entries(frontends)) {
      const own = new Map(shared);
      for (const [name, def] of Object.entries(defs)) own.set(name, this.#compileNamed(name, def, `frontends.${fe}.acls.${name}`));
      this.#acls.set(fe, own);
    }
    // a backend's own ACLs (HAProxy: ACLs are per proxy), for its rules' conditions
    for (const [be, defs] of Object.entries(backends)) {
      const own = new Map(shared);
      for (const [name, def] of Object.entries(defs)) own.set(name, this.#compileNamed(name, def, `backends.${be}.acls.${name}`));
      this.#acls.set(backendAclScope(be), own);
    }
    this.#acls.set('', shared);
  }

  #compileNamed(name: string, def: string | string[], where: string): NamedAcl {
    if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `ACL name "${name}" may only use letters, digits, _ . : -`);
    const list = typeof def === 'string' ? [def] : def;
    return { name, lines: list.map((text, i) => this.compileLine(text, list.length > 1 ? `${where}[${i}]` : where)) };
  }

  resolvePath(file: string): string {
    return path.resolve(this.#baseDir, file);
  }

  aclNames(frontend: string): string[] {
    return [...(this.#acls.get(frontend) ?? this.#acls.get('')!).keys()];
  }

  // ------------------------------------------------------------------ fetches

  #fetchDef(name: string): FetchDefinition | undefined {
    return this.#slots.get<FetchDefinition>(FETCH_SLOT, FETCH_ALIASES[name] ?? name);
  }

  /** `hdr_beg(host),lower` → the fetch, plus the method its name implies (`beg`). */
  #parseFetch(text: string, where: string): { fetch: CompiledFetch; name: string; impliedMethod: string | undefined; defaultMatch: string | undefined; convertedMatch?: string } {
    const call = splitCall(text);
    if (!call) throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `"${text}" is not a fetch expression such as path, hdr(host) or cookie(id)`);
    let name = FETCH_ALIASES[call.name] ?? call.name;
    let def = this.#fetchDef(name);
    let implied: string | undefined;
    if (!def) {
      const us = name.lastIndexOf('_');
      const suffix = us === -1 ? undefined : METHOD_SUFFIXES[name.slice(us + 1)];
      const base = us === -1 ? undefined : FETCH_ALIASES[name.slice(0, us)] ?? name.slice(0, us);
      const baseDef = base === undefined ? undefined : this.#fetchDef(base);
      if (suffix && baseDef && base) {
        def = baseDef;
        implied = suffix;
        name = base;
      }
    }
    if (!def) {
      throw AclErrors.UNKNOWN_FETCH.with({ location: { path: where } }, where, call.name, this.#slots.names(FETCH_SLOT).sort().join(', '));
    }
    if (def.arg === 'none' && call.arg !== undefined && call.arg !== '') {
      throw AclErrors.BAD_FETCH_ARG.with({ location: { path: where } }, where, name, 'takes no argument');
    }
    let read: (ex: Exchange) => FetchValue;
    try {
      read = def.compile(call.arg === '' ? undefined : call.arg);
    } catch (err) {
      throw AclErrors.BAD_FETCH_ARG.with({ location: { path: where }, cause: err }, where, name, (err as Error).message);
    }
    let convertedMatch: string | undefined;
    if (call.rest !== '') {
      const convs: Array<(v: FetchValue, ex: Exchange) => FetchValue> = [];
      let lastMatch: string | undefined;
      const re = /,([A-Za-z0-9_.]+)(?:\(([^()]*)\))?/y;
      let pos = 0;
      while (pos < call.rest.length) {
        re.lastIndex = pos;
        const m = re.exec(call.rest);
        if (!m) throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `cannot read "${call.rest.slice(pos)}" after the fetch ${name}; converters are written ,lower or ,name(arg)`);
        const c = this.#slots.get<ConverterDefinition>(CONVERTER_SLOT, m[1]!);
        if (!c) throw AclErrors.UNKNOWN_CONVERTER.with({ location: { path: where } }, where, m[1]!, this.#slots.names(CONVERTER_SLOT).join(', '));
        try {
          convs.push(c.compile(m[2]));
          lastMatch = c.defaultMatch;
        } catch (err) {
          throw AclErrors.BAD_FETCH_ARG.with({ location: { path: where }, cause: err }, where, m[1]!, (err as Error).message);
        }
        pos = re.lastIndex;
      }
      // A converter that says what it yields (table_* give integers) decides how the ACL matches.
      if (lastMatch !== undefined) convertedMatch = lastMatch;
      const inner = read;
      read =
        convs.length === 1
          ? ((c) => (ex: Exchange) => c(inner(ex), ex))(convs[0]!)
          : (ex: Exchange) => {
              let v = inner(ex);
              for (const c of convs) v = c(v, ex);
              return v;
            };
    }
    return { fetch: Object.freeze({ source: text, read }), name, impliedMethod: implied, defaultMatch: call.rest === '' ? def.defaultMatch : undefined, convertedMatch };
  }

  compileFetch(text: string, where: string): CompiledFetch {
    const p = this.#parseFetch(text.trim(), where);
    if (p.impliedMethod) throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `"${text}" is a matching ACL name, not a fetch`);
    return p.fetch;
  }

  // ------------------------------------------------------------------ ACL lines

  /** Compiles one ACL line, `<fetch> [-i] [-m method] [-f file] [--] <pattern>…`. */
  compileLine(text: string, where: string): AclLine {
    const tokens = tokenize(text);
    if (typeof tokens === 'string') throw AclErrors.SYNTAX.with({ location: { path: where } }, where, tokens);
    return this.#lineFromTokens(tokens, text.trim(), where);
  }

  #lineFromTokens(tokens: ReadonlyArray<Token>, source: string, where: string): AclLine {
    if (tokens.length === 0) throw AclErrors.SYNTAX.with({ location: { path: where } }, where, 'empty ACL');
    const { fetch, name, impliedMethod, defaultMatch, convertedMatch } = this.#parseFetch(tokens[0]!.text, where);
    let method: string | undefined = impliedMethod;
    let ignoreCase = false;
    const patterns: string[] = [];
    const files: PatternRef[] = [];
    let i = 1;
    for (; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.quoted || !t.text.startsWith('-') || t.text.length < 2 || /^-\d/.test(t.text)) break;
      if (t.text === '--') {
        i++;
        break;
      }
      if (t.text === '-i') ignoreCase = true;
      else if (t.text === '-n' || t.text === '-u') continue;
      else if (t.text === '-m' || t.text === '-f') {
        const arg = tokens[++i];
        if (arg === undefined) throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `${t.text} needs an argument`);
        if (t.text === '-m') method = arg.text;
        else files.push(this.#patternFile(arg.text, where));
      } else {
        throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `unknown flag ${t.text} (flags: -i, -m <method>, -f <file>, --)`);
      }
    }
    for (; i < tokens.length; i++) patterns.push(tokens[i]!.text);
    const inline = [...patterns];
    for (const f of files) patterns.push(...f.patterns());
    method ??= convertedMatch ?? DEFAULT_METHOD[name] ?? defaultMatch ?? 'str';
    const matcher = this.#slots.get<MatchDefinition>(MATCH_SLOT, method);
    if (!matcher) throw AclErrors.UNKNOWN_MATCH.with({ location: { path: where } }, where, method, this.#slots.names(MATCH_SLOT).join(', '));
    if (matcher.noPatterns && patterns.length > 0) {
      throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `-m ${method} takes no pattern (got ${patterns.join(' ')})`);
    }
    if (!matcher.noPatterns && patterns.length === 0 && files.length === 0) {
      throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `"${source}" has no pattern; write -m found to test that the value exists`);
    }
    let test: (s: Sample) => boolean;
    let stringTest: ((s: string) => boolean) | undefined;
    try {
      test = patterns.length === 0 && !matcher.noPatterns ? () => false : matcher.compile(patterns, { ignoreCase });
      stringTest = patterns.length === 0 ? undefined : matcher.compileString?.(patterns, { ignoreCase });
    } catch (err) {
      throw AclErrors.BAD_PATTERN.with({ location: { path: where }, cause: err }, where, patterns.join(' '), method, (err as Error).message);
    }
    const compiled = lineTest(fetch.read, test, method === 'found', stringTest);
    if (files.length === 0) return Object.freeze({ source, fetch, method, test: compiled });
    // Patterns from files follow their references (`add acl` / `del acl` at run time).
    let current = compiled;
    const recompile = (): void => {
      const all = [...inline, ...files.flatMap((f) => f.patterns())];
      const m = matcher;
      current = lineTest(fetch.read, all.length === 0 && !m.noPatterns ? () => false : m.compile(all, { ignoreCase }), method === 'found', all.length === 0 ? undefined : m.compileString?.(all, { ignoreCase }));
    };
    for (const f of files) f.onChange(recompile);
    return Object.freeze({ source, fetch, method, test: (ex: Exchange) => current(ex) });
  }

  #patternFile(file: string, where: string): PatternRef {
    const full = this.resolvePath(file);
    try {
      return patternRef(full, 'acl');
    } catch (err) {
      throw AclErrors.FILE.with({ location: { path: where }, cause: err }, where, full, (err as Error).message);
    }
  }

  // ------------------------------------------------------------------ conditions

  compileRuleCondition(frontend: string, rule: RuleCondition, where: string): CompiledCondition | undefined {
    if (rule.if !== undefined && rule.unless !== undefined) {
      throw AclErrors.SYNTAX.with({ location: { path: where } }, where, 'a rule takes "if" or "unless", not both');
    }
    if (rule.if !== undefined) return this.compileCondition(frontend, rule.if, `${where}.if`);
    if (rule.unless !== undefined) {
      const c = this.compileCondition(frontend, rule.unless, `${where}.unless`);
      const inner = c.test;
      return Object.freeze({ source: `!( ${c.source} )`, node: { kind: 'not', node: c.node } as ConditionNode, test: (ex: Exchange) => !inner(ex) });
    }
    return undefined;
  }

  compileCondition(frontend: string, text: string, where: string): CompiledCondition {
    const tokens = tokenize(text);
    if (typeof tokens === 'string') throw AclErrors.SYNTAX.with({ location: { path: where } }, where, tokens);
    const acls = this.#acls.get(frontend) ?? this.#acls.get('')!;
    const parser = new ConditionParser(tokens, acls, this, where, text);
    const node = parser.parse();
    return Object.freeze({ source: text.trim(), node, test: build(node) });
  }

  /** Used by the parser for `{ … }` and bare inline ACLs. */
  lineFrom(tokens: ReadonlyArray<Token>, where: string): AclLine {
    return this.#lineFromTokens(tokens, tokens.map((t) => (t.quoted || /\s/.test(t.text) ? JSON.stringify(t.text) : t.text)).join(' '), where);
  }

  isFetchName(word: string): boolean {
    const call = splitCall(word);
    if (!call) return false;
    const name = FETCH_ALIASES[call.name] ?? call.name;
    if (this.#fetchDef(name)) return true;
    const us = name.lastIndexOf('_');
    if (us === -1 || !METHOD_SUFFIXES[name.slice(us + 1)]) return false;
    const base = name.slice(0, us);
    return this.#fetchDef(FETCH_ALIASES[base] ?? base) !== undefined;
  }

  // ------------------------------------------------------------------ formats

  compileFormat(text: string, where: string): CompiledFormat {
    const parts: Array<string | CompiledFetch> = [];
    let lit = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '%' && text[i + 1] === '%') {
        lit += '%';
        i += 2;
        continue;
      }
      if (c === '%' && text[i + 1] === '[') {
        const end = text.indexOf(']', i + 2);
        if (end === -1) throw AclErrors.SYNTAX.with({ location: { path: where } }, where, `unterminated %[ in "${text}"`);
        if (lit !== '') parts.push(lit);
        lit = '';
        parts.push(this.compileFetch(text.slice(i + 2, end), where));
        i = end + 1;
        continue;
      }
      lit += c;
      i++;
    }
    if (lit !== '') parts.push(lit);
    if (parts.every((p) => typeof p === 'string')) {
      const value = parts.join('');
      return Object.freeze({ source: text, constant: true, render: () => value });
    }
    if (parts.length === 1) {
      const f = parts[0] as CompiledFetch;
      return Object.freeze({ source: text, constant: false, render: (ex: Exchange) => renderValue(f.read(ex)) });
    }
    return Object.freeze({
      source: text,
      constant: false,
      render: (ex: Exchange) => {
        let out = '';
        for (const p of parts) out += typeof p === 'string' ? p : renderValue(p.read(ex));
        return out;
      },
    });
  }

  // ------------------------------------------------------------------ explain

  trace(condition: CompiledCondition, ex: Exchange): { matched: boolean; lines: TraceLine[] } {
    const lines: TraceLine[] = [];
    const show = (v: FetchValue): string => (v === undefined || v === null ? '(none)' : JSON.stringify(v));
    const walk = (node: ConditionNode): boolean => {
      switch (node.kind) {
        case 'const':
          lines.push({ text: `${node.name} (constant)`, matched: node.value });
          return node.value;
        case 'inline': {
          const r = node.line.test(ex);
          lines.push({ text: `{ ${node.line.source} }  value ${show(node.line.fetch.read(ex))}`, matched: r });
          return r;
        }
        case 'acl': {
          let r = false;
          const parts: string[] = [];
          for (const l of node.lines) {
            const lr = l.test(ex);
            parts.push(`${l.source} → value ${show(l.fetch.read(ex))}${lr ? ' matched' : ''}`);
            r ||= lr;
          }
          lines.push({ text: `acl ${node.name}: ${parts.join('; ')}`, matched: r });
          return r;
        }
        case 'not':
          return !walk(node.node);
        case 'and': {
          let r = true;
          for (const n of node.nodes) r = walk(n) && r; // evaluate all, to show every ACL
          return r;
        }
        case 'or': {
          let r = false;
          for (const n of node.nodes) r = walk(n) || r;
          return r;
        }
      }
    };
    const matched = walk(condition.node);
    return { matched, lines };
  }

  get defaults(): AclDefinitions {
    return this.#defaults;
  }
}

/** Turns a condition tree into one closure (and/or short-circuit as written). */
function build(node: ConditionNode): (ex: Exchange) => boolean {
  switch (node.kind) {
    case 'const':
      return node.value ? () => true : () => false;
    case 'inline':
      return node.line.test;
    case 'acl': {
      if (node.lines.length === 1) return node.lines[0]!.test;
      const tests = node.lines.map((l) => l.test);
      return (ex) => {
        for (const t of tests) if (t(ex)) return true;
        return false;
      };
    }
    case 'not': {
      const t = build(node.node);
      return (ex) => !t(ex);
    }
    case 'and': {
      const ts = node.nodes.map(build);
      if (ts.length === 2) {
        const [a, b] = ts as [(ex: Exchange) => boolean, (ex: Exchange) => boolean];
        return (ex) => a(ex) && b(ex);
      }
      return (ex) => {
        for (const t of ts) if (!t(ex)) return false;
        return true;
      };
    }
    case 'or': {
      const ts = node.nodes.map(build);
      return (ex) => {
        for (const t of ts) if (t(ex)) return true;
        return false;
      };
    }
  }
}

/**
 * condition := and ( ('or' | '||') and )*
 * and       := unary ( ['and' | '&&'] unary )*      (words side by side are ANDed, as in HAProxy)
 * unary     := '!' unary | '(' condition ')' | '{' acl-line '}' | acl-name | acl-line
 * A bare acl-line runs until `or`, `||`, `and`, `&&`, `)` or `{`; inside braces only `}` ends it.
 */
class ConditionParser {
  #pos = 0;
  readonly #tokens: Token[];
  constructor(
    tokens: ReadonlyArray<Token>,
    readonly acls: Map<string, NamedAcl>,
    readonly compiler: AclCompilerImpl,
    readonly where: string,
    readonly text: string,
  ) {
    // `!name` → `!` `name`
    this.#tokens = [];
    for (const t of tokens) {
      if (!t.quoted && t.text.length > 1 && t.text.startsWith('!')) {
        this.#tokens.push({ text: '!', quoted: false }, { text: t.text.slice(1), quoted: false });
      } else this.#tokens.push(t);
    }
  }

  #err(message: string): Error {
    return AclErrors.SYNTAX.with({ location: { path: this.where } }, this.where, `${message} in "${this.text}"`);
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#pos];
  }

  #is(t: Token | undefined, ...words: string[]): boolean {
    return t !== undefined && !t.quoted && words.includes(t.text);
  }

  parse(): ConditionNode {
    if (this.#tokens.length === 0) throw this.#err('empty condition');
    const node = this.#or();
    if (this.#pos < this.#tokens.length) throw this.#err(`unexpected "${this.#peek()!.text}"`);
    return node;
  }

  #or(): ConditionNode {
    const nodes = [this.#and()];
    while (this.#is(this.#peek(), 'or', '||')) {
      this.#pos++;
      nodes.push(this.#and());
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'or', nodes };
  }

  #and(): ConditionNode {
    const nodes = [this.#unary()];
    for (;;) {
      const t = this.#peek();
      if (t === undefined || this.#is(t, 'or', '||', ')')) break;
      if (this.#is(t, 'and', '&&')) this.#pos++;
      nodes.push(this.#unary());
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
  }

  #unary(): ConditionNode {
    const t = this.#peek();
    if (t === undefined) throw this.#err('condition ends too early');
    if (this.#is(t, '!')) {
      this.#pos++;
      return { kind: 'not', node: this.#unary() };
    }
    if (this.#is(t, '(')) {
      this.#pos++;
      const inner = this.#or();
      if (!this.#is(this.#peek(), ')')) throw this.#err('missing )');
      this.#pos++;
      return inner;
    }
    if (this.#is(t, '{')) {
      this.#pos++;
      const start = this.#pos;
      while (this.#pos < this.#tokens.length && !this.#is(this.#peek(), '}')) this.#pos++;
      if (this.#pos >= this.#tokens.length) throw this.#err('missing }');
      const line = this.compiler.lineFrom(this.#tokens.slice(start, this.#pos), this.where);
      this.#pos++;
      return { kind: 'inline', line };
    }
    if (t.quoted || this.#is(t, ')', '}', 'or', '||', 'and', '&&')) throw this.#err(`unexpected "${t.text}"`);
    if (t.text === 'TRUE' || t.text === 'FALSE') {
      if (!this.acls.has(t.text)) {
        this.#pos++;
        return { kind: 'const', name: t.text, value: t.text === 'TRUE' };
      }
    }
    const named = this.acls.get(t.text);
    if (named) {
      this.#pos++;
      return { kind: 'acl', name: named.name, lines: named.lines };
    }
    if (t.text === 'HTTP') {
      this.#pos++;
      return { kind: 'inline', line: { source: 'HTTP', method: 'bool', fetch: { source: 'HTTP', read: (ex) => ex.kind === 'http' }, test: (ex) => ex.kind === 'http' } };
    }
    if (this.compiler.isFetchName(t.text)) {
      const start = this.#pos;
      this.#pos++;
      while (this.#pos < this.#tokens.length && !this.#is(this.#peek(), 'or', '||', 'and', '&&', ')', '{')) this.#pos++;
      return { kind: 'inline', line: this.compiler.lineFrom(this.#tokens.slice(start, this.#pos), this.where) };
    }
    throw AclErrors.UNKNOWN_ACL.with(
      { location: { path: this.where } },
      this.where,
      t.text,
      [...this.acls.keys()].filter((k) => !(k in PREDEFINED_ACLS)).join(', ') || 'none',
    );
  }
}
