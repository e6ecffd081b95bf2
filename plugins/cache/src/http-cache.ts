import type { IncomingHttpHeaders } from 'node:http';
import CachePolicy from 'http-cache-semantics';
import { Agent, request } from 'undici';
import type { FrontendState, GatewayApi, HttpExchange, Logger, ResponseHead, RouteDecision, SwitchyardError } from '@switchyard/sdk';
import { notModified, notModifiedHeaders } from './conditional';
import { ReplaceBody, TeeToStore } from './transforms';
import type { CacheConfig, CachedResponse, CacheStore } from './types';

/** X-Cache values. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'REVALIDATED';

export interface CacheCounters {
  hits: number;
  misses: number;
  stale: number;
  revalidated: number;
  stored: number;
  /** Objects not stored because they grew past maxObjectSize. */
  tooBig: number;
  /**
   * Storable responses not stored because no later request could use them: not fresh
   * (no max-age, s-maxage, Expires or heuristic freshness) and no validator (ETag,
   * Last-Modified) to revalidate them with, nor a stale-while-revalidate / stale-if-error window.
   */
  notReusable: number;
  /** Misses that waited for another client's identical request instead of going to the server. */
  coalesced: number;
}

interface FillLock {
  readonly promise: Promise<void>;
  release(): void;
}

/** Methods whose successful response invalidates the stored URI (RFC 9111 §4.4). */
const UNSAFE = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** Exchanges answered from the cache (HAProxy's res.cache_hit). */
const SERVED = new WeakMap<object, string>();

/** The name of the cache that answered the exchange (`''` when unnamed), or undefined. */
export function servedFromCache(ex: object): string | undefined {
  return SERVED.get(ex);
}

/** What the route tap leaves for the respond tap about one exchange. */
interface Pending {
  readonly primary: string;
  /** The request as http-cache-semantics reads it (always GET: HEAD is answered from GET objects). */
  readonly request: CachePolicy.HttpRequest;
  /** Store the response (GET only). */
  readonly store: boolean;
  /** A stored response being revalidated with conditional headers, and its key. */
  readonly entry: CachedResponse | null;
  readonly entryKey: string | null;
  /** Conditional headers were set from `entry`: a 304 confirms it. */
  readonly revalidating: boolean;
  /** The stale entry may stand in for a server error (stale-if-error). */
  readonly staleOnError: boolean;
  lock: FillLock | null;
}

/** Response headers never copied from a 304 onto the stored response (RFC 9111 §3.2). */
const NOT_UPDATED_BY_304 = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'content-range', 'age']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'proxy-authenticate', 'http2-settings']);
const REVALIDATE_DIRECTIVE = /(?:^|,)\s*(?:must-revalidate|proxy-revalidate)\s*(?=,|$)/gi;
const ONLY_IF_CACHED = /(?:^|,)\s*only-if-cached\s*(?:,|$)/i;
const STALE_IF_ERROR = /(?:^|,)\s*stale-if-error\s*=\s*"?(\d+)"?/i;

/**
 * Whether a stored response could ever answer a later request: fresh for some time (the
 * policy's time to live counts stale-while-revalidate and stale-if-error too), or
 * revalidatable (a validator for a conditional request).
 */
function reusable(policy: CachePolicy, headers: Record<string, string | string[]>): boolean {
  return policy.timeToLive() > 0 || headers.etag !== undefined || headers['last-modified'] !== undefined;
}

function flat(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Response headers as http-cache-semantics reads them: one string per name. */
function policyHeaders(headers: Record<string, string | string[]>): CachePolicy.Headers {
  const out: CachePolicy.Headers = {};
  for (const name in headers) out[name] = name === 'set-cookie' ? headers[name] : flat(headers[name]);
  return out;
}

function varyNames(vary: string | string[] | undefined): string[] | null {
  const v = flat(vary);
  if (v === undefined || v.trim() === '') return [];
  const names = v.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  if (names.includes('*')) return null;
  return [...new Set(names)].sort();
}

function variantKey(primary: string, names: ReadonlyArray<string>, req: IncomingHttpHeaders): string {
  let key = primary;
  // Exact values, as http-cache-semantics compares them when it checks a variant.
  for (const name of names) key += '\n' + name + '=' + (flat(req[name]) ?? '');
  return key;
}

/**
 * A shared HTTP cache in front of the backends: answers fresh hits in the `route` hook,
 * sends misses and revalidations on to the forwarder, and stores responses in the
 * `respond` hook while they stream to the client.
 */
export class HttpCache {
  readonly store: CacheStore;
  readonly counters: CacheCounters = { hits: 0, misses: 0, stale: 0, revalidated: 0, stored: 0, tooBig: 0, notReusable: 0, coalesced: 0 };
  readonly #config: CacheConfig;
  readonly #gateway: GatewayApi;
  readonly #logger: Logger;
  readonly #frontends: ReadonlySet<FrontendState>;
  readonly #name: string;
  /** Unsafe requests in flight and the stored URI their success invalidates. */
  readonly #invalidate = new WeakMap<HttpExchange, string>();
  readonly #statusHeader: string;
  readonly #pending = new WeakMap<HttpExchange, Pending>();
  readonly #locks = new Map<string, FillLock>();
  readonly #refreshing = new Set<string>();
  readonly #policyOptions: CachePolicy.Options;
  #agent: Agent | null = null;
  #rotation = 0;
  /** Bumped by every purge: a response that started streaming before it is not stored. */
  #purges = 0;

  constructor(gateway: GatewayApi, config: CacheConfig, store: CacheStore, frontends: ReadonlySet<FrontendState>, logger: Logger) {
    this.#gateway = gateway;
    this.#config = config;
    this.store = store;
    this.#frontends = frontends;
    this.#name = config.name ?? '';
    this.#logger = logger;
    this.#statusHeader = config.statusHeader.toLowerCase();
    this.#policyOptions = { shared: true, cacheHeuristic: config.heuristic };
  }

  async close(): Promise<void> {
    for (const lock of [...this.#locks.values()]) lock.release();
    await this.#agent?.close();
    await this.store.close?.();
  }

  // ------------------------------------------------------------------ route (lookup)

  async route(ex: HttpExchange): Promise<RouteDecision | undefined> {
    if (!this.#frontends.has(ex.frontend)) return undefined;
    return this.lookup(ex);
  }

  /**
   * The lookup itself: a hit is answered (`{ handled: true }`), a miss leaves what the respond
   * tap needs to store the response. Runs at the route stage for cached frontends, and once
   * the backend is chosen for cached backends (HAProxy's cache-use in a backend).
   */
  async lookup(ex: HttpExchange): Promise<RouteDecision | undefined> {
    const method = ex.method;
    if (UNSAFE.has(method)) {
      // RFC 9111 §4.4: a successful response to an unsafe method invalidates the stored URI.
      this.#invalidate.set(ex, ex.host + ex.url);
      return undefined;
    }
    if ((method !== 'GET' && method !== 'HEAD') || ex.upgrade || ex.headers.range !== undefined) return undefined;
    const primary = ex.host + ex.url;
    const request: CachePolicy.HttpRequest = { url: ex.url, method: 'GET', headers: ex.headers };
    for (let attempt = 0; ; attempt++) {
      const found = await this.#find(primary, ex.headers);
      if (found !== undefined && this.#tryServe(ex, found.key, found.entry, request)) return { handled: true };
      const lock = method === 'GET' ? this.#locks.get(primary) : undefined;
      if (lock !== undefined && attempt === 0) {
        // Someone is already fetching (or revalidating) this URL: wait for it to land in the store.
        this.counters.coalesced++;
        await this.#wait(lock);
        if (ex.upgrade || ex.clientGone) return { handled: true };
        continue;
      }
      const cc = ex.headers['cache-control'];
      if (cc !== undefined && ONLY_IF_CACHED.test(cc)) {
        // RFC 9111 §5.2.1.7: nothing usable in the cache → 504, never the server.
        this.counters.misses++;
        ex.respond(504, 'Not in cache\n', { 'content-type': 'text/plain', ...(this.#statusHeader === '' ? {} : { [this.#statusHeader]: 'MISS' }) });
        return { handled: true };
      }
      this.counters.misses++;
      const pending: Pending = found === undefined
        ? { primary, request, store: method === 'GET', entry: null, entryKey: null, revalidating: false, staleOnError: false, lock: null }
        : this.#revalidation(ex, primary, request, found.key, found.entry);
      if (method === 'GET' && lock === undefined) pending.lock = this.#takeLock(primary, ex);
      this.#pending.set(ex, pending);
      return undefined;
    }
  }

  async #find(primary: string, req: IncomingHttpHeaders): Promise<{ key: string; entry: CachedResponse } | undefined> {
    let record = await this.store.get(primary);
    let key = primary;
    if (record?.kind === 'vary') {
      key = variantKey(primary, record.names, req);
      record = await this.store.get(key);
    }
    return record?.kind === 'response' ? { key, entry: record } : undefined;
  }

  /** Answers a fresh (or allowed-stale) hit; false when the object must be revalidated first. */
  #tryServe(ex: HttpExchange, key: string, entry: CachedResponse, request: CachePolicy.HttpRequest): boolean {
    const policy = entry.policy;
    const stale = policy.stale();
    const evaluation = policy.evaluateRequest(request);
    if (evaluation.response === undefined || (stale && entry.mustRevalidate)) return false;
    if (!stale) {
      this.counters.hits++;
      this.#serve(ex, entry, 'HIT');
    } else {
      this.counters.stale++;
      this.#serve(ex, entry, 'STALE');
      if (evaluation.revalidation !== undefined) this.#refresh(ex, key, entry);
    }
    return true;
  }

  /** A stored object that needs the server's word: conditional headers on the upstream request. */
  #revalidation(ex: HttpExchange, primary: string, request: CachePolicy.HttpRequest, key: string, entry: CachedResponse): Pending {
    const policy = entry.policy;
    const isGet = ex.method === 'GET';
    const etag = flat(entry.headers.etag);
    const lastModified = flat(entry.headers['last-modified']);
    const revalidating = isGet && (etag !== undefined || lastModified !== undefined);
    const staleOnError = !entry.mustRevalidate && entry.staleIfError > 0 && policy.age() <= policy.maxAge() + entry.staleIfError;
    if (revalidating) {
      const h = ex.upstream.headers;
      delete h['if-none-match'];
      delete h['if-modified-since'];
      if (etag !== undefined) h['if-none-match'] = etag;
      if (lastModified !== undefined) h['if-modified-since'] = lastModified;
    }
    if (staleOnError) this.#serveStaleOnFailure(ex, entry);
    return { primary, request, store: isGet, entry, entryKey: key, revalidating, staleOnError, lock: null };
  }

  /**
   * Answers from a stored response (or 304 when the client's validators match). The head
   * goes through the `respond` hook like a server's would, so header rewrites and observers
   * see hits too; taps that ran before the cache already shaped the stored response and see
   * it again (compression leaves an encoded body alone).
   */
  #serve(ex: HttpExchange, entry: CachedResponse, status: CacheStatus): void {
    const own = ex.backend?.config.cacheName;
    SERVED.set(ex, typeof own === 'string' ? own : this.#name);
    let code = entry.status;
    let headers: Record<string, string | string[]>;
    let body: Buffer | undefined;
    if (notModified(ex.headers, entry.headers)) {
      code = 304;
      headers = notModifiedHeaders(entry.headers);
    } else {
      headers = { ...entry.headers };
      headers['content-length'] = String(entry.body.length);
      if (ex.method !== 'HEAD') body = entry.body;
    }
    headers.age = String(Math.floor(entry.policy.age()));
    if (this.#statusHeader !== '') headers[this.#statusHeader] = status;
    // The core runs `respond` and writes the head; null: a respond tap failed the exchange.
    if (ex.sendHead(code, undefined, headers) === null) return;
    if (body !== undefined) ex.bytesOut += body.length;
    ex.endResponse(null, body);
  }

  /** stale-if-error when the server cannot be reached at all: the forwarder fails the exchange. */
  #serveStaleOnFailure(ex: HttpExchange, entry: CachedResponse): void {
    const fail = ex.fail;
    ex.fail = (error: SwitchyardError): void => {
      if (ex.upgrade || ex.headSent || ex.clientGone) return fail.call(ex, error);
      this.#logger.warn({ err: error, url: ex.url }, 'server failed: serving a stale cached response (stale-if-error)');
      this.#releaseOf(ex);
      this.counters.stale++;
      this.#serve(ex, entry, 'STALE');
    };
  }

  // ------------------------------------------------------------------ respond (store)

  respond(head: ResponseHead, ex: HttpExchange): ResponseHead {
    const stale = this.#invalidate.get(ex);
    if (stale !== undefined) {
      this.#invalidate.delete(ex);
      if (head.statusCode < 400) void this.store.delete(stale).catch(() => undefined);
      return head;
    }
    const pending = this.#pending.get(ex);
    if (pending === undefined) return head;
    this.#pending.delete(ex);
    const entry = pending.entry;
    if (entry !== null && pending.revalidating && head.statusCode === 304) return this.#revalidated(head, ex, pending, entry);
    if (entry !== null && pending.staleOnError && head.statusCode >= 500) {
      pending.lock?.release();
      this.counters.stale++;
      this.#replace(head, ex, entry, entry.headers, 'STALE');
      return head;
    }
    if (!pending.store || !this.#storeResponse(head, ex, pending)) pending.lock?.release();
    if (this.#statusHeader !== '') head.headers[this.#statusHeader] = 'MISS';
    return head;
  }

  /** Builds a stored object's policy, or null when the response may not be stored. */
  #admit(request: CachePolicy.HttpRequest, status: number, headers: Record<string, string | string[]>): { policy: CachePolicy; mustRevalidate: boolean; staleIfError: number } | null {
    if (status === 206 || status === 304) return null;
    if (!this.#config.cacheSetCookie && headers['set-cookie'] !== undefined) return null;
    const forPolicy = policyHeaders(headers);
    const policy = new CachePolicy(request, { status, headers: forPolicy }, this.#policyOptions);
    if (!policy.storable()) return null;
    const cc = typeof forPolicy['cache-control'] === 'string' ? forPolicy['cache-control'] : '';
    REVALIDATE_DIRECTIVE.lastIndex = 0;
    const mustRevalidate = REVALIDATE_DIRECTIVE.test(cc);
    if (!mustRevalidate) return { policy, mustRevalidate, staleIfError: Number(STALE_IF_ERROR.exec(cc)?.[1] ?? 0) };
    // http-cache-semantics revalidates must-revalidate objects even while fresh; RFC 9111
    // §5.2.2.2 only forbids serving them stale, which the cache enforces itself.
    const stripped = cc.replace(REVALIDATE_DIRECTIVE, '').replace(/^\s*,\s*/, '');
    const relaxed = new CachePolicy(request, { status, headers: { ...forPolicy, 'cache-control': stripped } }, this.#policyOptions);
    return { policy: relaxed, mustRevalidate, staleIfError: 0 };
  }

  #storeResponse(head: ResponseHead, ex: HttpExchange, pending: Pending): boolean {
    const headers = head.headers;
    const declared = Number(flat(headers['content-length']));
    if (declared > this.#config.maxObjectSize) {
      this.counters.tooBig++;
      return false;
    }
    const names = varyNames(headers.vary);
    if (names === null) return false;
    const admitted = this.#admit(pending.request, head.statusCode, headers);
    if (admitted === null) return false;
    if (!reusable(admitted.policy, headers)) {
      // Storing it would only cost a write of the whole body (a Redis round trip with the redis store).
      this.counters.notReusable++;
      return false;
    }
    const stored: Record<string, string | string[]> = {};
    for (const name in headers) if (name !== 'age' && name !== this.#statusHeader) stored[name] = headers[name]!;
    const primary = pending.primary;
    const key = names.length === 0 ? primary : variantKey(primary, names, ex.headers);
    const status = head.statusCode;
    const backend = ex.backend?.name ?? null;
    const lock = pending.lock;
    const purges = this.#purges;
    head.transforms.push(
      new TeeToStore(this.#config.maxObjectSize, async (body) => {
        try {
          if (body === null) {
            if (!ex.clientGone) this.counters.tooBig++;
            return;
          }
          if (purges !== this.#purges) return;
          if (names.length > 0) await this.store.set(primary, { kind: 'vary', names });
          await this.store.set(key, { kind: 'response', status, headers: stored, body, backend, ...admitted });
          this.counters.stored++;
        } catch (err) {
          this.#logger.warn({ err, key }, 'cache store failed');
        } finally {
          lock?.release();
        }
      }),
    );
    return true;
  }

  /** The server confirmed a stored response (304): refresh it and answer from it. */
  #revalidated(head: ResponseHead, ex: HttpExchange, pending: Pending, entry: CachedResponse): ResponseHead {
    const merged = this.#merge(entry, head.headers);
    const admitted = this.#admit(pending.request, entry.status, merged);
    const key = pending.entryKey!;
    const lock = pending.lock;
    const update = admitted === null
      ? this.store.delete(key).then(() => undefined)
      : this.store.set(key, { ...entry, headers: merged, ...admitted });
    update.catch((err: unknown) => this.#logger.warn({ err, key }, 'cache store failed')).finally(() => lock?.release());
    this.counters.revalidated++;
    const current = admitted === null ? entry : { ...entry, headers: merged, ...admitted };
    this.#replace(head, ex, current, merged, 'REVALIDATED');
    return head;
  }

  #merge(entry: CachedResponse, fresh: Record<string, string | string[]>): Record<string, string | string[]> {
    const merged = { ...entry.headers };
    for (const name in fresh) {
      if (NOT_UPDATED_BY_304.has(name) || name === this.#statusHeader) continue;
      merged[name] = fresh[name]!;
    }
    // A stored ETag weakened on the way (compression) stays weak: the stored bytes are not the server's.
    const stored = flat(entry.headers.etag);
    const etag = flat(merged.etag);
    if (stored !== undefined && etag !== undefined && stored.startsWith('W/') && !etag.startsWith('W/')) merged.etag = 'W/' + etag;
    return merged;
  }

  /** Rewrites the head (and body) on its way to the client into the stored response. */
  #replace(head: ResponseHead, ex: HttpExchange, entry: CachedResponse, headers: Record<string, string | string[]>, status: CacheStatus): void {
    head.statusMessage = undefined;
    let body: Buffer | null = null;
    if (notModified(ex.headers, headers)) {
      head.statusCode = 304;
      head.headers = notModifiedHeaders(headers);
    } else {
      head.statusCode = entry.status;
      head.headers = { ...headers, 'content-length': String(entry.body.length) };
      if (ex.method !== 'HEAD') body = entry.body;
    }
    head.headers.age = String(Math.floor(entry.policy.age()));
    if (this.#statusHeader !== '') head.headers[this.#statusHeader] = status;
    head.transforms.push(new ReplaceBody(body));
  }

  // ------------------------------------------------------------------ coalescing

  #takeLock(primary: string, ex: HttpExchange): FillLock {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const lock: FillLock = {
      promise,
      release: () => {
        if (this.#locks.get(primary) === lock) this.#locks.delete(primary);
        resolve();
      },
    };
    this.#locks.set(primary, lock);
    // Whatever happens to the exchange (error, client gone), the waiters are let go.
    ex.onClose(lock.release);
    return lock;
  }

  #releaseOf(ex: HttpExchange): void {
    const pending = this.#pending.get(ex);
    if (pending === undefined) return;
    this.#pending.delete(ex);
    pending.lock?.release();
  }

  async #wait(lock: FillLock): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([lock.promise, new Promise<void>((r) => (timer = setTimeout(r, this.#config.lockTimeout)))]);
    clearTimeout(timer);
  }

  // ------------------------------------------------------------------ stale-while-revalidate

  /** Revalidates a stale object in the background after serving it (stale-while-revalidate). */
  #refresh(ex: HttpExchange, key: string, entry: CachedResponse): void {
    if (this.#refreshing.has(key) || entry.backend === null) return;
    const backend = this.#gateway.backends.get(entry.backend);
    const usable = backend?.servers.filter((s) => s.usable) ?? [];
    if (backend === undefined || usable.length === 0) return;
    const server = usable[this.#rotation++ % usable.length]!;
    this.#refreshing.add(key);
    const headers: Record<string, string> = {};
    for (const name in ex.headers) {
      const v = flat(ex.headers[name]);
      if (v !== undefined && !HOP_BY_HOP.has(name) && !name.startsWith('if-')) headers[name] = v;
    }
    headers.host = ex.host;
    const etag = flat(entry.headers.etag);
    const lastModified = flat(entry.headers['last-modified']);
    if (etag !== undefined) headers['if-none-match'] = etag;
    if (lastModified !== undefined) headers['if-modified-since'] = lastModified;
    const policyRequest: CachePolicy.HttpRequest = { url: ex.url, method: 'GET', headers: ex.headers };
    const hostPart = server.host.includes(':') ? `[${server.host}]` : server.host;
    const t = backend.config.timeouts;
    this.#agent ??= new Agent({ connectTimeout: t.connect, headersTimeout: t.server, bodyTimeout: t.server });
    const agent = this.#agent;
    void (async () => {
      const res = await request(`http://${hostPart}:${server.port}${ex.url}`, { method: 'GET', headers, dispatcher: agent });
      if (res.statusCode === 304) {
        await res.body.dump();
        const merged = this.#merge(entry, cleanHeaders(res.headers));
        const admitted = this.#admit(policyRequest, entry.status, merged);
        if (admitted === null) await this.store.delete(key);
        else await this.store.set(key, { ...entry, headers: merged, ...admitted });
        return;
      }
      if (res.statusCode >= 500) {
        await res.body.dump();
        return;
      }
      const fresh = cleanHeaders(res.headers);
      const names = varyNames(fresh.vary);
      const admitted = names === null ? null : this.#admit(policyRequest, res.statusCode, fresh);
      if (admitted === null || names === null) {
        await res.body.dump();
        await this.store.delete(key);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.#config.maxObjectSize) {
          res.body.destroy();
          await this.store.delete(key);
          return;
        }
        chunks.push(chunk);
      }
      const primary = key.split('\n', 1)[0]!;
      const newKey = names.length === 0 ? primary : variantKey(primary, names, ex.headers);
      if (names.length > 0) await this.store.set(primary, { kind: 'vary', names });
      await this.store.set(newKey, { kind: 'response', status: res.statusCode, headers: fresh, body: Buffer.concat(chunks, size), backend: entry.backend, ...admitted });
    })()
      .catch((err: unknown) => this.#logger.debug({ err, key }, 'background revalidation failed'))
      .finally(() => this.#refreshing.delete(key));
  }

  // ------------------------------------------------------------------ purge

  /**
   * Removes stored objects: `url` removes one URL (every variant), `prefix` every URL that
   * starts with it. Either is `http://host/path…` or, for any host, `/path…`. Returns the
   * number of keys removed.
   */
  async purge(target: { url?: string; prefix?: string }): Promise<number> {
    this.#purges++;
    const exact = target.url !== undefined;
    const spec = splitTarget((exact ? target.url : target.prefix) ?? '');
    const keys = await this.store.keys(spec.host ?? '');
    let removed = 0;
    for (const key of keys) {
      const slash = key.indexOf('/');
      const host = slash === -1 ? key : key.slice(0, slash);
      if (spec.host !== undefined && host !== spec.host) continue;
      const primary = key.split('\n', 1)[0]!;
      const path = slash === -1 ? '' : primary.slice(slash);
      if (exact ? path !== spec.path : !path.startsWith(spec.path)) continue;
      if (await this.store.delete(key)) removed++;
    }
    return removed;
  }
}

function splitTarget(target: string): { host: string | undefined; path: string } {
  if (target.startsWith('/')) return { host: undefined, path: target };
  const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target);
  if (m === null) return { host: undefined, path: target };
  return { host: m[1]!, path: m[2] === '' ? '/' : m[2]! };
}

function cleanHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v !== undefined && !HOP_BY_HOP.has(name)) out[name] = v;
  }
  return out;
}
