import * as fs from 'node:fs';
import type { Exchange, GatewayApi, HttpExchange } from '@switchyard/sdk';
import type { MapConfig, RouteConfig, UseBackendRule } from './schema';
import { AclErrors } from './errors';
import { hostWithoutPort } from './fetches';
import type { AclCompiler, CompiledCondition, CompiledFetch, RuleCondition } from './types';

/** `useBackend` entry: a fixed backend, or a map from a fetched key to a backend. */
export type { MapConfig, RouteConfig, UseBackendRule };

export interface CompiledUseBackend {
  readonly index: number;
  readonly condition: CompiledCondition | undefined;
  readonly describe: string;
  /** The map's key fetch, for `switchyard explain`. */
  readonly key: CompiledFetch | undefined;
  /** The backend for this exchange, or undefined to try the next rule. */
  readonly pick: (ex: Exchange) => string | undefined;
}

export interface CompiledRoute {
  readonly index: number;
  readonly config: RouteConfig;
  readonly describe: string;
  readonly match: (ex: HttpExchange) => boolean;
}

export interface FrontendRouting {
  readonly useBackend: ReadonlyArray<CompiledUseBackend>;
  readonly routes: ReadonlyArray<CompiledRoute>;
}

function checkBackend(gateway: GatewayApi, frontend: string, name: string, where: string): void {
  const be = gateway.backends.get(name);
  if (!be) throw AclErrors.UNKNOWN_BACKEND.with({ location: { path: where } }, where, name, [...gateway.backends.keys()].join(', ') || 'none');
  const fe = gateway.frontends.get(frontend)!;
  if (be.mode !== fe.mode) {
    throw AclErrors.MODE_MISMATCH.with({ location: { path: where } }, where, `frontend ${frontend} is mode ${fe.mode} but backend ${name} is mode ${be.mode}`);
  }
}

function compileMap(gateway: GatewayApi, compiler: AclCompiler, frontend: string, map: MapConfig, where: string): { key: CompiledFetch; lookup: (k: string) => string | undefined } {
  const key = compiler.compileFetch(map.key, `${where}.key`);
  const pairs: Array<[string, string]> = [];
  if (map.file) {
    const full = compiler.resolvePath(map.file);
    let text: string;
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch (err) {
      throw AclErrors.FILE.with({ location: { path: `${where}.file` }, cause: err }, `${where}.file`, full, (err as Error).message);
    }
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const m = /^(\S+)\s+(\S+)$/.exec(line);
      if (!m) throw AclErrors.SYNTAX.with({ location: { file: full, line: i + 1 } }, `${full}:${i + 1}`, 'a map line is "<key> <backend>"');
      pairs.push([m[1]!, m[2]!]);
    });
  }
  for (const [k, v] of Object.entries(map.entries ?? {})) pairs.push([k, v]);
  for (const [, be] of pairs) checkBackend(gateway, frontend, be, where);
  if (map.default !== undefined) checkBackend(gateway, frontend, map.default, `${where}.default`);
  const norm = map.ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  let lookup: (k: string) => string | undefined;
  if (map.match === 'str') {
    const table = new Map<string, string>();
    for (const [k, v] of pairs) if (!table.has(norm(k))) table.set(norm(k), v);
    lookup = (k) => table.get(norm(k));
  } else {
    const list = pairs.map(([k, v]) => {
      if (map.match === 'reg') {
        try {
          return { test: ((re: RegExp) => (s: string) => re.test(s))(new RegExp(k, map.ignoreCase ? 'i' : '')), v };
        } catch (err) {
          throw AclErrors.BAD_PATTERN.with({ location: { path: where }, cause: err }, where, k, 'reg', (err as Error).message);
        }
      }
      const p = norm(k);
      const test =
        map.match === 'beg' ? (s: string) => s.startsWith(p)
        : map.match === 'end' ? (s: string) => s.endsWith(p)
        : map.match === 'sub' ? (s: string) => s.includes(p)
        : (s: string) => s === p || s.endsWith('.' + p);
      return { test: (s: string) => test(norm(s)), v };
    });
    lookup = (k) => {
      for (const e of list) if (e.test(k)) return e.v;
      return undefined;
    };
  }
  const dflt = map.default;
  return {
    key,
    lookup: dflt === undefined ? lookup : (k) => lookup(k) ?? dflt,
  };
}

function stringKey(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0] as string;
  return undefined;
}

export function compileUseBackend(gateway: GatewayApi, compiler: AclCompiler, frontend: string, rules: ReadonlyArray<UseBackendRule>): CompiledUseBackend[] {
  return rules.map((rule, index) => {
    const where = `frontends.${frontend}.useBackend[${index}]`;
    const condition = compiler.compileRuleCondition(frontend, rule, where);
    if ((rule.backend === undefined) === (rule.map === undefined)) {
      throw AclErrors.SYNTAX.with({ location: { path: where } }, where, 'a useBackend rule names either "backend" or "map"');
    }
    let pick: (ex: Exchange) => string | undefined;
    let describe: string;
    let mapKey: CompiledFetch | undefined;
    if (rule.backend !== undefined) {
      checkBackend(gateway, frontend, rule.backend, `${where}.backend`);
      const name = rule.backend;
      pick = () => name;
      describe = `backend ${name}`;
    } else {
      const { key, lookup } = compileMap(gateway, compiler, frontend, rule.map!, `${where}.map`);
      mapKey = key;
      pick = (ex) => {
        const k = stringKey(key.read(ex));
        return k === undefined ? rule.map!.default : lookup(k);
      };
      describe = `map ${rule.map!.file ?? 'entries'} on ${key.source}`;
    }
    const cond = condition?.test;
    return Object.freeze({ index, condition, describe, key: mapKey, pick: cond ? (ex: Exchange) => (cond(ex) ? pick(ex) : undefined) : pick });
  });
}

/** Segment-aware prefix: `/api` matches `/api`, `/api/`, `/api/x`, but not `/apix`. */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === '' || prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path[prefix.length] === '/' || path[prefix.length] === '?';
}

/** The path as earlier rules left it (routes see rewrites, like ACLs do). */
function currentPath(ex: HttpExchange): string {
  if (!ex.upstreamTouched) return ex.path;
  const u = ex.upstream.path;
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

export function compileRoutes(gateway: GatewayApi, frontend: string, routes: ReadonlyArray<RouteConfig>): CompiledRoute[] {
  const compiled = routes.map((r, index) => {
    const where = `frontends.${frontend}.routes[${index}]`;
    checkBackend(gateway, frontend, r.backend, `${where}.backend`);
    const host = r.host === undefined ? undefined : r.host.startsWith('[') ? hostWithoutPort(r.host) : r.host.toLowerCase();
    const hostTest: ((h: string) => boolean) | undefined =
      host === undefined || host === '*' ? undefined
      : host.startsWith('*.') ? ((suffix: string) => (h: string) => h.endsWith(suffix) && h.length > suffix.length)(host.slice(1))
      : (h: string) => h === host;
    const prefix = r.path;
    const methods = r.methods ? new Set(r.methods.map((m) => m.toUpperCase())) : undefined;
    const match = (ex: HttpExchange): boolean =>
      (hostTest === undefined || hostTest(hostWithoutPort(ex.host))) &&
      (prefix === undefined || pathHasPrefix(currentPath(ex), prefix)) &&
      (methods === undefined || methods.has(ex.upstreamTouched ? ex.upstream.method : ex.method));
    const describe = `${r.host ?? '*'}${r.path ?? '/'}${methods ? ` [${[...methods].join(',')}]` : ''} → ${r.backend}${r.stripPrefix ? ' (strip prefix)' : ''}`;
    return { index, config: r, describe, match };
  });
  // Most specific first: exact host, then wildcard host, then any host; longer paths first.
  const hostRank = (r: RouteConfig): number => (r.host === undefined || r.host === '*' ? 2 : r.host.startsWith('*.') ? 1 : 0);
  return compiled.sort((a, b) => hostRank(a.config) - hostRank(b.config) || (b.config.path?.length ?? 0) - (a.config.path?.length ?? 0) || a.index - b.index);
}

/** Rewrites the upstream path of a route with stripPrefix. */
export function stripPrefix(ex: HttpExchange, prefix: string): void {
  const up = ex.upstream;
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  let rest = up.path.slice(p.length);
  if (rest === '' || rest.startsWith('?')) rest = '/' + rest;
  up.path = rest;
}

/** Picks a backend for one exchange, or undefined for the frontend's defaultBackend. */
export function route(table: FrontendRouting, ex: Exchange): string | undefined {
  for (const r of table.useBackend) {
    const b = r.pick(ex);
    if (b !== undefined) return b;
  }
  if (ex.kind === 'http') {
    for (const r of table.routes) {
      if (r.match(ex)) {
        if (r.config.stripPrefix && r.config.path) stripPrefix(ex, r.config.path);
        return r.config.backend;
      }
    }
  }
  return undefined;
}
