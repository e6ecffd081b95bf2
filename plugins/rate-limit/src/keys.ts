import { FETCH_SLOT, cookieValue as sdkCookieValue, type Exchange, type FetchDefinition, type FetchValue, type SlotRegistry } from '@switchyard/sdk';
import { RateLimitErrors } from './errors';

/** Reads a limit's key from an exchange; undefined when the value is absent. */
export type KeyReader = (ex: Exchange) => string | undefined;

const EXPR = /^([a-zA-Z_][\w.]*)(?:\((.*)\))?$/;

function header(name: string): KeyReader {
  const lower = name.toLowerCase();
  return (ex) => {
    if (ex.kind !== 'http') return undefined;
    const v = ex.headers[lower];
    if (v === undefined || v === '') return undefined;
    return Array.isArray(v) ? v.join(',') : v;
  };
}

/**
 * Value of one cookie as a limit key: the SDK's cookie parser (the one acl and stickiness use);
 * an empty value is no key.
 */
export function cookieValue(cookieHeader: string | ReadonlyArray<string>, name: string): string | undefined {
  const v = sdkCookieValue(cookieHeader, name);
  return v === '' ? undefined : v;
}

function cookie(name: string): KeyReader {
  return (ex) => {
    if (ex.kind !== 'http') return undefined;
    const h = ex.headers.cookie;
    return h === undefined ? undefined : cookieValue(h, name);
  };
}

/** Built-in key kinds: they work with no ACL plugin loaded. */
const BUILTIN: Record<string, { arg: boolean; make(arg: string): KeyReader }> = {
  src: { arg: false, make: () => (ex) => ex.clientAddress },
  path: { arg: false, make: () => (ex) => (ex.kind === 'http' ? ex.path : undefined) },
  hdr: { arg: true, make: header },
  'req.hdr': { arg: true, make: header },
  header: { arg: true, make: header },
  cookie: { arg: true, make: cookie },
  'req.cook': { arg: true, make: cookie },
};

function fromFetchValue(v: FetchValue): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.join(',');
  return String(v);
}

/**
 * Compiles a key expression once, at apply time: `src`, `path`, `hdr(name)`, `cookie(name)`
 * are built in; any other `name(arg)` is looked up in the `fetch` slot (the ACL plugin, auth
 * plugins…). A list of expressions makes a compound key (all parts must be present).
 */
export function compileKey(where: string, key: string | ReadonlyArray<string>, slots: SlotRegistry): KeyReader {
  const parts = (typeof key === 'string' ? [key] : [...key]).map((expr) => compileOne(where, expr, slots));
  if (parts.length === 1) return parts[0]!;
  return (ex) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const v = parts[i]!(ex);
      if (v === undefined) return undefined;
      out = i === 0 ? v : `${out}|${v}`;
    }
    return out;
  };
}

function compileOne(where: string, expr: string, slots: SlotRegistry): KeyReader {
  const m = EXPR.exec(expr.trim());
  if (!m) throw RateLimitErrors.BAD_KEY(where, expr, 'expected name or name(argument)');
  const name = m[1]!;
  const arg = m[2];
  const builtin = BUILTIN[name];
  if (builtin) {
    if (builtin.arg && (arg === undefined || arg.trim() === '')) throw RateLimitErrors.BAD_KEY(where, expr, `${name}() needs an argument`);
    if (!builtin.arg && arg !== undefined) throw RateLimitErrors.BAD_KEY(where, expr, `${name} takes no argument`);
    return builtin.make((arg ?? '').trim());
  }
  const fetch = slots.get<FetchDefinition>(FETCH_SLOT, name);
  if (!fetch) {
    const known = slots.names(FETCH_SLOT);
    throw RateLimitErrors.UNKNOWN_FETCH(where, expr, name, known.length > 0 ? known.join(', ') : 'none');
  }
  if (fetch.arg === 'required' && arg === undefined) throw RateLimitErrors.BAD_KEY(where, expr, `fetch ${name} needs an argument`);
  if (fetch.arg === 'none' && arg !== undefined) throw RateLimitErrors.BAD_KEY(where, expr, `fetch ${name} takes no argument`);
  let read: (ex: Exchange) => FetchValue;
  try {
    read = fetch.compile(arg);
  } catch (err) {
    throw RateLimitErrors.BAD_KEY.with({ cause: err }, where, expr, err instanceof Error ? err.message : String(err));
  }
  return (ex) => fromFetchValue(read(ex));
}
