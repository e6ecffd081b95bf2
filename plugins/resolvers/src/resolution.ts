import { promises as dnsp } from 'node:dns';
import * as net from 'node:net';
import type { AddressSet, Logger, ServerState } from '@switchyard/sdk';

/** What the last resolution of a name found (HAProxy's RSLV_STATUS_*). */
export type ResolutionStatus = 'none' | 'valid' | 'nx' | 'refused' | 'timeout' | 'other';

export interface Nameserver {
  readonly name: string;
  /** host:port as `Resolver.setServers` takes it. */
  readonly address: string;
}

/** A resolvers section with its defaults applied, durations in ms. */
export interface SectionOptions {
  readonly name: string;
  readonly nameservers: ReadonlyArray<Nameserver>;
  readonly resolveRetries: number;
  readonly resolveMs: number;
  readonly retryMs: number;
  readonly hold: Readonly<Record<'nx' | 'refused' | 'timeout' | 'other' | 'valid' | 'obsolete', number>>;
  readonly acceptedPayloadSize: number;
}

type QueryType = 'A' | 'AAAA' | 'SRV';

export interface AddressRecord {
  readonly kind: 'addr';
  readonly address: string;
  readonly family: 4 | 6;
}
export interface SrvRecord {
  readonly kind: 'srv';
  readonly target: string;
  readonly port: number;
  readonly weight: number;
  readonly priority: number;
}
type AnswerRecord = AddressRecord | SrvRecord;

type QueryResult = { ok: true; records: AnswerRecord[]; ns: string } | { ok: false; status: Exclude<ResolutionStatus, 'none' | 'valid'>; ns: string };

function statusOf(code: unknown): Exclude<ResolutionStatus, 'none' | 'valid'> {
  switch (code) {
    case 'ENOTFOUND':
      return 'nx';
    case 'EREFUSED':
      return 'refused';
    case 'ETIMEOUT':
      return 'timeout';
    default:
      return 'other'; // ENODATA (no record of this type), ESERVFAIL, EBADRESP…
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    t.unref();
    function done(): void {
      signal.removeEventListener('abort', done);
      clearTimeout(t);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Queries one section's nameservers, all at once (as HAProxy does): the first valid answer
 * wins; when every nameserver fails, the last error is the answer.
 */
export class SectionResolver {
  readonly options: SectionOptions;
  readonly #resolvers: Array<{ ns: Nameserver; r: dnsp.Resolver }>;

  constructor(options: SectionOptions) {
    this.options = options;
    // tries: 1 — retries, and the A/AAAA fallback, are HAProxy's, done by Resolution.
    this.#resolvers = options.nameservers.map((ns) => {
      const r = new dnsp.Resolver({ timeout: options.retryMs, tries: 1 });
      r.setServers([ns.address]);
      return { ns, r };
    });
  }

  query(name: string, type: QueryType): Promise<QueryResult> {
    return new Promise((resolve) => {
      let pending = this.#resolvers.length;
      let last: QueryResult | undefined;
      let done = false;
      for (const { ns, r } of this.#resolvers) {
        const q: Promise<AnswerRecord[]> =
          type === 'SRV'
            ? r.resolveSrv(name).then((list) => list.map((s) => ({ kind: 'srv' as const, target: s.name, port: s.port, weight: s.weight, priority: s.priority })))
            : (type === 'A' ? r.resolve4(name) : r.resolve6(name)).then((list) => list.map((address) => ({ kind: 'addr' as const, address, family: type === 'A' ? (4 as const) : (6 as const) })));
        q.then(
          (records) => {
            if (done) return;
            if (records.length === 0) last = { ok: false, status: 'other', ns: ns.name };
            else {
              done = true;
              resolve({ ok: true, records, ns: ns.name });
            }
          },
          (err: NodeJS.ErrnoException) => {
            if (!done) last = { ok: false, status: statusOf(err.code), ns: ns.name };
          },
        ).finally(() => {
          if (--pending === 0 && !done) {
            done = true;
            resolve(last ?? { ok: false, status: 'other', ns: '' });
          }
        });
      }
    });
  }

  cancel(): void {
    for (const { r } of this.#resolvers) r.cancel();
  }
}

/**
 * One resolution, HAProxy's way: the preferred type, on an error answer the other type at
 * once, and the whole again every `timeout retry` up to `resolve_retries` times; a timeout
 * is retried with the same type.
 */
export async function resolveName(sr: SectionResolver, name: string, prefer: 4 | 6, srv: boolean, signal: AbortSignal): Promise<QueryResult> {
  const o = sr.options;
  const first: QueryType = srv ? 'SRV' : prefer === 6 ? 'AAAA' : 'A';
  const other: QueryType | undefined = srv ? undefined : prefer === 6 ? 'A' : 'AAAA';
  let last: QueryResult = { ok: false, status: 'other', ns: '' };
  for (let attempt = 0; attempt < o.resolveRetries && !signal.aborted; attempt++) {
    const started = Date.now();
    last = await sr.query(name, first);
    if (last.ok) return last;
    if (last.status === 'timeout') continue;
    if (other !== undefined) {
      last = await sr.query(name, other);
      if (last.ok) return last;
      if (last.status === 'timeout') continue;
    }
    if (attempt + 1 < o.resolveRetries) await sleep(o.retryMs - (Date.now() - started), signal);
  }
  return last;
}

/** A server that one resolution feeds: its place in the answer and the maintenance we put it in. */
export interface Requester {
  readonly server: ServerState;
  readonly backend: string;
  readonly prefer: 4 | 6;
  readonly nets: AddressSet | undefined;
  readonly allowDup: boolean;
  readonly ignoreWeight: boolean;
  /** The record this server holds (the address, or target:port for SRV). */
  record?: string;
  /** True while the server is in maintenance because of DNS (HAProxy's RMAINT). */
  rmaint: boolean;
  /** The operator had it in maintenance already: a valid answer leaves it there. */
  operatorMaint?: boolean;
}

const fmt = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** Puts a server in maintenance for DNS, or takes it out of the maintenance DNS put it in. */
export function setRmaint(r: Requester, on: boolean, reason: string, logger: Logger): void {
  const s = r.server;
  if (on) {
    if (r.rmaint) return;
    r.rmaint = true;
    r.operatorMaint = s.admin === 'maint';
    if (!r.operatorMaint) s.setAdmin('maint', reason);
    logger.warn({ backend: s.backend, server: s.name }, `Server ${s.id} is going DOWN for maintenance (${reason}).`);
  } else {
    if (!r.rmaint) return;
    r.rmaint = false;
    if (s.admin === 'maint' && !r.operatorMaint) s.setAdmin('ready', 'valid DNS answer');
    logger.warn({ backend: s.backend, server: s.name }, `Server ${s.id} administratively READY thanks to valid DNS answer.`);
  }
}

/** The address DNS last gave each server (`<id>|<configured host>`), for `init-addr last` on a reload in this process. */
export const lastAddresses = new Map<string, string>();

interface CachedRecord {
  rec: AnswerRecord;
  lastSeen: number;
}

/**
 * The run-time resolution of one name in one resolvers section, shared by every server that
 * names it with the same preferred family (HAProxy shares resolutions the same way). Each
 * valid answer is cached (records unseen for `hold obsolete` are dropped) and handed out:
 * a server keeps the record it holds while the record lives; otherwise it takes the best
 * one, by HAProxy's score (preferred family 8, preferred network 4, not held by another
 * server of its backend 2 — required unless allow-dup-ip —, its current address 1).
 */
export class Resolution {
  readonly name: string;
  readonly srv: boolean;
  readonly prefer: 4 | 6;
  readonly requesters: Requester[] = [];
  status: ResolutionStatus = 'none';
  lastValid = Date.now();
  readonly #sr: SectionResolver;
  readonly #logger: Logger;
  readonly #cache = new Map<string, CachedRecord>();
  #timer: NodeJS.Timeout | null = null;
  readonly #abort = new AbortController();
  /** Resolves once the first resolution is over (tests, start-up). */
  readonly first: Promise<void>;
  #firstDone!: () => void;
  /** Called after each resolution, whatever its outcome. */
  onResolved: ((status: ResolutionStatus) => void) | undefined;

  constructor(sr: SectionResolver, name: string, prefer: 4 | 6, logger: Logger) {
    this.#sr = sr;
    this.name = name;
    this.srv = name.startsWith('_');
    this.prefer = prefer;
    this.#logger = logger;
    this.first = new Promise((r) => (this.#firstDone = r));
  }

  start(): void {
    void this.#cycle();
  }

  stop(): void {
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #cycle(): Promise<void> {
    if (this.#abort.signal.aborted) return;
    try {
      const res = await resolveName(this.#sr, this.name, this.prefer, this.srv, this.#abort.signal);
      if (this.#abort.signal.aborted) return;
      if (res.ok) await this.#valid(res.records, res.ns);
      else this.#error(res.status);
    } catch (err) {
      this.#logger.error({ err, name: this.name }, `resolvers ${this.#sr.options.name}: resolving ${this.name} failed`);
    }
    this.#firstDone();
    this.onResolved?.(this.status);
    if (this.#abort.signal.aborted) return;
    this.#timer = setTimeout(() => void this.#cycle(), this.#sr.options.resolveMs);
    this.#timer.unref();
  }

  #keyOf(rec: AnswerRecord): string {
    return rec.kind === 'addr' ? rec.address : `${rec.target.toLowerCase()}:${rec.port}`;
  }

  async #valid(records: AnswerRecord[], ns: string): Promise<void> {
    const now = Date.now();
    this.status = 'valid';
    this.lastValid = now;
    for (const rec of records) this.#cache.set(this.#keyOf(rec), { rec, lastSeen: now });
    const obsolete = this.#sr.options.hold.obsolete;
    for (const [k, c] of this.#cache) if (c.lastSeen + obsolete < now) this.#cache.delete(k);
    for (const r of this.requesters) if (r.record !== undefined && !this.#cache.has(r.record)) r.record = undefined;
    // Stable order (HAProxy walks a tree of its own): by address / target.
    const live = [...this.#cache.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (this.srv) await this.#assignSrv(live, ns);
    else this.#assignAddresses(live, ns);
  }

  #heldElsewhere(r: Requester, key: string): boolean {
    return this.requesters.some((o) => o !== r && o.backend === r.backend && o.record === key);
  }

  #assignAddresses(live: Array<[string, CachedRecord]>, ns: string): void {
    for (const r of this.requesters) {
      const s = r.server;
      if (r.record === undefined) {
        let best: string | undefined;
        let max = -1;
        for (const [key, c] of live) {
          if (c.rec.kind !== 'addr') continue;
          let score = 0;
          if (c.rec.family === r.prefer) score += 8;
          if (r.nets?.has(c.rec.address)) score += 4;
          if (this.#heldElsewhere(r, key)) {
            if (!r.allowDup) continue;
          } else score += 2;
          if (c.rec.address === s.host) score += 1;
          if (score > max) {
            max = score;
            best = key;
          }
        }
        r.record = best;
      }
      if (r.record === undefined) {
        setRmaint(r, true, 'No IP for server', this.#logger);
        continue;
      }
      this.#move(r, r.record, s.config.port, ns);
      setRmaint(r, false, '', this.#logger);
    }
  }

  async #assignSrv(live: Array<[string, CachedRecord]>, ns: string): Promise<void> {
    // Servers keep their SRV record while it lives; free records go to free servers, in order.
    const held = new Set(this.requesters.map((r) => r.record).filter((k): k is string => k !== undefined));
    const free = live.filter(([k, c]) => c.rec.kind === 'srv' && !held.has(k)).map(([k]) => k);
    for (const r of this.requesters) {
      if (r.record === undefined && free.length > 0) r.record = free.shift();
      if (r.record === undefined) {
        setRmaint(r, true, 'entry removed from SRV record', this.#logger);
        continue;
      }
      const rec = this.#cache.get(r.record)!.rec as SrvRecord;
      // Node.js does not expose the answer's additional records: the target is resolved here.
      const addr = await resolveName(this.#sr, rec.target, r.prefer, false, this.#abort.signal);
      if (this.#abort.signal.aborted) return;
      const pick = addr.ok ? pickAddress(addr.records, r) : undefined;
      if (pick === undefined) {
        setRmaint(r, true, 'No IP for server', this.#logger);
        continue;
      }
      this.#move(r, pick, rec.port, ns);
      if (!r.ignoreWeight) r.server.setWeight(Math.floor((rec.weight + 255) / 256), `SRV record weight ${rec.weight}`);
      setRmaint(r, false, '', this.#logger);
    }
  }

  #move(r: Requester, host: string, port: number, ns: string): void {
    const s = r.server;
    if (s.host === host && s.port === port) return;
    const from = fmt(s.host, s.port);
    s.setAddress(host, port, `DNS ${this.#sr.options.name}/${ns}`);
    lastAddresses.set(`${s.id}|${s.config.host}`, fmt(host, port));
    this.#logger.warn({ backend: s.backend, server: s.name, from, to: fmt(host, port) }, `${s.id} changed its IP from ${from} to ${fmt(host, port)} by ${this.#sr.options.name}/${ns}.`);
  }

  #error(status: Exclude<ResolutionStatus, 'none' | 'valid'>): void {
    this.status = status;
    const hold = this.#sr.options.hold[status];
    if (Date.now() < this.lastValid + hold) return; // a valid answer recently enough: ignore the error
    const reason = status === 'nx' ? 'DNS NX status' : status === 'timeout' ? 'DNS timeout status' : status === 'refused' ? 'DNS refused status' : 'unspecified DNS error';
    for (const r of this.requesters) {
      r.record = undefined;
      setRmaint(r, true, reason, this.#logger);
    }
  }
}

/** The best address of an answer for one server (family, then network). */
function pickAddress(records: AnswerRecord[], r: Requester): string | undefined {
  let best: string | undefined;
  let max = -1;
  for (const rec of records) {
    if (rec.kind !== 'addr') continue;
    const score = (rec.family === r.prefer ? 8 : 0) + (r.nets?.has(rec.address) ? 4 : 0);
    if (score > max) {
      max = score;
      best = rec.address;
    }
  }
  return best;
}

/** `host[:port]` / `[v6]:port` / bare v6 → setServers' form, port 53 by default; undefined when the host is not an IP. */
export function nameserverAddress(text: string): string | undefined {
  let host = text;
  let port = '53';
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    port = v6[2] ?? '53';
  } else if (net.isIPv6(text)) host = text;
  else {
    const m = /^([^:]+)(?::(\d+))?$/.exec(text);
    if (!m) return undefined;
    host = m[1]!;
    port = m[2] ?? '53';
  }
  const p = Number(port);
  if (!net.isIP(host) || !(p > 0 && p < 65536)) return undefined;
  return net.isIPv6(host) ? `[${host}]:${p}` : `${host}:${p}`;
}
