import type { CookieConfig } from './schema';
import { cookieValue, trimCookieBlanks, type BackendState, type HttpExchange, type ResponseHead, type ServerState } from '@switchyard/sdk';

export type { CookieConfig };

/** What selection learned from the request cookie, kept for the forward and respond steps. */
export interface CookieSeen {
  /** Server the cookie names (and the cookie is valid), or null. */
  server: ServerState | null;
  /** insert: seconds since epoch the cookie was first issued / last refreshed, when it carried dates. */
  first: number;
  last: number;
}

const PREFIX_SEPARATOR = '~';
const DATE_SEPARATOR = '|';
const CTL = /[\u0000-\u001f\u007f]/;
const SHARED_CACHE_DIRECTIVE = /^(public|private|s-maxage=.*)$/i;

/** The named cookie's value in the request's Cookie header(s): the SDK's parser (shared with acl and rate-limit). */
export function findCookie(header: string | ReadonlyArray<string>, name: string): string | undefined {
  return cookieValue(header, name);
}

/** Rebuilds a Cookie header with the named cookie removed (value undefined) or replaced. */
function editCookieHeader(header: string, name: string, value: string | undefined): string {
  const out: string[] = [];
  for (const part of header.split(';')) {
    const p = trimCookieBlanks(part);
    if (p === '') continue;
    const eq = p.indexOf('=');
    // The name as the SDK's parser reads it: trimmed of spaces and tabs.
    if (eq !== -1 && trimCookieBlanks(p.slice(0, eq)) === name) {
      if (value !== undefined) out.push(`${name}=${value}`);
    } else {
      out.push(p);
    }
  }
  return out.join('; ');
}

/**
 * Cookie persistence for one backend (HAProxy `cookie <name> insert|rewrite|prefix …`).
 * - insert: the gateway adds `name=<server cookie>` to responses of clients without a
 *   valid one; `indirect` hides it from servers; maxidle/maxlife put dates in the value.
 * - rewrite: the server sets `name=…` itself and the gateway rewrites its value.
 * - prefix: the server's own cookie `name=v` becomes `name=<server>~v` on the way out and
 *   `v` again on the way in.
 */
export class CookiePersistence {
  readonly config: CookieConfig;
  readonly #byValue = new Map<string, ServerState>();
  readonly #valueOf = new Map<ServerState, string>();
  readonly #attributes: string;
  readonly #now: () => number;

  constructor(backend: BackendState, config: CookieConfig, now: () => number = Date.now) {
    this.config = config;
    this.#now = now;
    for (const s of backend.servers) {
      const value = typeof s.config.cookie === 'string' && s.config.cookie !== '' ? s.config.cookie : s.name;
      const taken = this.#byValue.get(value);
      if (taken) throw new Error(`servers ${taken.name} and ${s.name} have the same cookie value "${value}"`);
      this.#byValue.set(value, s);
      this.#valueOf.set(s, value);
    }
    let attrs = `; path=${config.path}`;
    if (config.domain) attrs += `; domain=${config.domain}`;
    if (config.httponly) attrs += '; HttpOnly';
    if (config.secure) attrs += '; Secure';
    for (const a of config.attributes) attrs += `; ${a}`;
    this.#attributes = attrs;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Reads the request cookie: which server it names, if valid. */
  read(ex: HttpExchange): CookieSeen {
    const seen: CookieSeen = { server: null, first: 0, last: 0 };
    const header = ex.headers.cookie;
    if (header === undefined) return seen;
    const raw = findCookie(header, this.config.name);
    if (raw === undefined) return seen;
    const c = this.config;
    if (c.mode === 'prefix') {
      const sep = raw.indexOf(PREFIX_SEPARATOR);
      if (sep > 0) seen.server = this.#byValue.get(raw.slice(0, sep)) ?? null;
      return seen;
    }
    if (c.mode === 'rewrite') {
      seen.server = this.#byValue.get(raw) ?? null;
      return seen;
    }
    const parts = raw.split(DATE_SEPARATOR);
    const server = this.#byValue.get(parts[0]!) ?? null;
    if (server === null) return seen;
    if (parts.length === 3) {
      const last = parseInt(parts[1]!, 36);
      const first = parseInt(parts[2]!, 36);
      const now = this.#seconds();
      if (!(last > 0 && first > 0)) return seen;
      if (c.maxidle > 0 && (now - last) * 1000 > c.maxidle) return seen;
      if (c.maxlife > 0 && (now - first) * 1000 > c.maxlife) return seen;
      seen.first = first;
      seen.last = last;
    }
    seen.server = server;
    return seen;
  }

  /** The Cookie header to send upstream, or undefined to leave the request as it is. */
  upstreamCookie(ex: HttpExchange): string | undefined | null {
    const c = this.config;
    const header = ex.headers.cookie;
    if (header === undefined) return undefined;
    if (c.mode === 'insert' && c.indirect) {
      if (findCookie(header, c.name) === undefined) return undefined;
      const edited = editCookieHeader(header, c.name, undefined);
      return edited === '' ? null : edited;
    }
    if (c.mode === 'prefix') {
      const raw = findCookie(header, c.name);
      const sep = raw?.indexOf(PREFIX_SEPARATOR) ?? -1;
      if (raw === undefined || sep <= 0) return undefined;
      return editCookieHeader(header, c.name, raw.slice(sep + 1));
    }
    return undefined;
  }

  /** Rewrites the response head for the server that answered. */
  respond(head: ResponseHead, server: ServerState, seen: CookieSeen | undefined): ResponseHead {
    const c = this.config;
    const value = this.#valueOf.get(server);
    if (value === undefined) return head;
    const current = head.headers['set-cookie'];
    const list = current === undefined ? [] : Array.isArray(current) ? current : [current];
    const prefix = `${c.name}=`;
    if (c.mode === 'insert') {
      const now = this.#seconds();
      const dated = c.maxidle > 0 || c.maxlife > 0;
      const valid = seen !== undefined && seen.server === server;
      // With maxidle the date must move on; refreshing every request would defeat caches, so a quarter of maxidle.
      const refresh = valid && dated && c.maxidle > 0 && (seen.last === 0 || (now - seen.last) * 1000 >= c.maxidle / 4);
      const insert = !valid || refresh;
      const own = list.filter((v) => !v.startsWith(prefix));
      if (!insert) {
        if (c.indirect && own.length !== list.length) head.headers['set-cookie'] = own;
        return head;
      }
      const first = valid && seen.first > 0 ? seen.first : now;
      const cookieValue = dated ? `${value}${DATE_SEPARATOR}${now.toString(36)}${DATE_SEPARATOR}${first.toString(36)}` : value;
      own.push(`${c.name}=${cookieValue}${this.#attributes}`);
      head.headers['set-cookie'] = own;
      if (c.nocache) head.headers['cache-control'] = privateCacheControl(head.headers['cache-control']);
      return head;
    }
    let changed = false;
    const out = list.map((v) => {
      if (!v.startsWith(prefix)) return v;
      const semi = v.indexOf(';');
      const end = semi === -1 ? v.length : semi;
      const serverValue = v.slice(prefix.length, end);
      const rewritten = c.mode === 'rewrite' ? value : `${value}${PREFIX_SEPARATOR}${serverValue}`;
      if (CTL.test(rewritten)) return v;
      changed = true;
      return `${prefix}${rewritten}${v.slice(end)}`;
    });
    if (changed) {
      head.headers['set-cookie'] = out;
      if (c.nocache) head.headers['cache-control'] = privateCacheControl(head.headers['cache-control']);
    }
    return head;
  }
}

/** A response that sets a persistence cookie must not be stored by shared caches. */
function privateCacheControl(current: string | string[] | undefined): string {
  const v = Array.isArray(current) ? current.join(', ') : (current ?? '');
  const kept = v
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !SHARED_CACHE_DIRECTIVE.test(d));
  return ['private', ...kept].join(', ');
}
