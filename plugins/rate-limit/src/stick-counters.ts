import type { Connection, Exchange, FetchDefinition, FetchValue, FrontendState, GatewayApi, Logger } from '@switchyard/sdk';
import { ACL_COMPILER, type ConverterDefinition } from '@switchyard/plugin-acl';
import { compileCondition } from './conditions';
import { RateLimitErrors } from './errors';
import { DATA_TYPE_BY_NAME, nowMs, StickTable, type StickEntry, type StickTableConfig } from './stick-table';

/** Sticky counters per session/stream: HAProxy's sc0..sc2 (MAX_SESS_STKCTR). */
export const STICK_COUNTERS = 3;

/** One rule of a frontend's `stickCounters` (HAProxy's track-scN, sc-inc-gpc0/1, sc-set-gpt0). */
export interface StickRule {
  /** connection: once per client connection (`tcp-request connection`); content: per TCP session or HTTP request (`tcp-request content`); request: `http-request`. */
  phase: 'connection' | 'content' | 'request';
  action: 'track' | 'inc-gpc0' | 'inc-gpc1' | 'set-gpt0';
  counter: number;
  /** track: the sample expression whose value is the key (`src`, `url`, `req.hdr(x),lower`). */
  key?: string;
  /** track: the table (default: the frontend's own). */
  table?: string;
  /** set-gpt0: an integer or a sample expression. */
  value?: string | number;
  if?: string;
  unless?: string;
}

/** A tracked entry: what one sticky counter points at. */
export interface StkCtr {
  readonly table: StickTable;
  readonly entry: StickEntry;
}

type Counters = Array<StkCtr | undefined>;

const STREAM_VAR = 'ratelimit.stkctr';
const SESSION_KEY = Symbol.for('switchyard.rate-limit.stkctr');

const T = (name: string): number => DATA_TYPE_BY_NAME.get(name)!.id;
const DT = {
  server_id: T('server_id'), gpt0: T('gpt0'), gpc0: T('gpc0'), gpc0_rate: T('gpc0_rate'), conn_cnt: T('conn_cnt'), conn_rate: T('conn_rate'),
  conn_cur: T('conn_cur'), sess_cnt: T('sess_cnt'), sess_rate: T('sess_rate'), http_req_cnt: T('http_req_cnt'), http_req_rate: T('http_req_rate'),
  http_err_cnt: T('http_err_cnt'), http_err_rate: T('http_err_rate'), bytes_in_cnt: T('bytes_in_cnt'), bytes_in_rate: T('bytes_in_rate'),
  bytes_out_cnt: T('bytes_out_cnt'), bytes_out_rate: T('bytes_out_rate'), gpc1: T('gpc1'), gpc1_rate: T('gpc1_rate'), http_fail_cnt: T('http_fail_cnt'),
  http_fail_rate: T('http_fail_rate'),
} as const;

function streamCounters(ex: Exchange, create: boolean): Counters | undefined {
  let c = ex.vars.get(STREAM_VAR) as Counters | undefined;
  if (!c && create) {
    c = [];
    ex.vars.set(STREAM_VAR, c);
  }
  return c;
}

function sessionCounters(conn: Connection, create: boolean): Counters | undefined {
  let c = conn.data.get(SESSION_KEY) as Counters | undefined;
  if (!c && create) {
    c = [];
    conn.data.set(SESSION_KEY, c);
  }
  return c;
}

/** Sticky counter `n` of an exchange: the stream's, else the session's (HAProxy's smp_fetch_sc_stkctr). */
export function stickCounter(ex: Exchange, n: number): StkCtr | undefined {
  return streamCounters(ex, false)?.[n] ?? sessionCounters(ex.connection, false)?.[n];
}

/** HAProxy's stream_start_counters: conn_cur, conn_cnt, conn_rate, and the expiry. */
function startCounters(t: StickTable, e: StickEntry, now: number): void {
  t.add(e, DT.conn_cur, 1, now);
  t.add(e, DT.conn_cnt, 1, now);
  t.add(e, DT.conn_rate, 1, now);
}

/** The end of a stream or session: conn_cur back down, the entry released (HAProxy's stream_store_counters). */
function releaseCounters(list: Counters, ex: Exchange | null, now: number): void {
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (!c) continue;
    list[i] = undefined;
    const { table: t, entry: e } = c;
    if (ex) {
      if (ex.bytesIn > 0) {
        t.add(e, DT.bytes_in_cnt, ex.bytesIn, now);
        t.add(e, DT.bytes_in_rate, ex.bytesIn, now);
      }
      if (ex.bytesOut > 0) {
        t.add(e, DT.bytes_out_cnt, ex.bytesOut, now);
        t.add(e, DT.bytes_out_rate, ex.bytesOut, now);
      }
    }
    if (t.stores(DT.conn_cur)) {
      const cur = t.read(e, DT.conn_cur, now) as number;
      if (cur > 0) t.set(e, DT.conn_cur, cur - 1, now);
    }
    if (e.use > 0) e.use--;
    t.touch(e, now);
  }
}

interface CompiledRule {
  readonly phase: StickRule['phase'];
  readonly action: StickRule['action'];
  readonly counter: number;
  readonly table: StickTable | undefined;
  readonly key: ((ex: Exchange) => FetchValue) | undefined;
  readonly value: ((ex: Exchange) => FetchValue) | undefined;
  readonly condition: ((ex: Exchange) => boolean) | null;
}

/** The stick tables of a gateway, by name, as declared in `rateLimit.tables`. */
export class StickTables {
  readonly byName = new Map<string, StickTable>();
  /** Declaration order (HAProxy's `show table` lists them last first). */
  readonly ordered: StickTable[] = [];

  constructor(configs: ReadonlyArray<StickTableConfig>) {
    for (const c of configs) {
      if (this.byName.has(c.name)) throw RateLimitErrors.DUPLICATE_TABLE(c.name);
      const t = new StickTable(c);
      this.byName.set(c.name, t);
      this.ordered.push(t);
    }
  }

  get(name: string): StickTable | undefined {
    return this.byName.get(name);
  }
}

/**
 * The `stickCounters` rules of every frontend, compiled at apply time: tracking (which
 * counts conn_cur/conn_cnt/conn_rate and, for HTTP, http_req_cnt/http_req_rate), the
 * general purpose counters, and the end-of-stream accounting (conn_cur, http_err/fail,
 * bytes) in the log hook.
 */
export class StickCounterRules {
  readonly #byFrontend = new Map<string, CompiledRule[]>();
  readonly #withConnection = new Set<string>();
  readonly #logger: Logger;

  constructor(gateway: GatewayApi, tables: StickTables, logger: Logger) {
    this.#logger = logger;
    const acl = gateway.slots.get(ACL_COMPILER, 'default')?.forGateway(gateway);
    for (const fe of gateway.frontends.values()) {
      const rules = (fe.config.stickCounters as StickRule[] | undefined) ?? [];
      if (rules.length === 0) continue;
      const compiled = rules.map((r, i): CompiledRule => {
        const where = `frontends.${fe.name}.stickCounters[${i}]`;
        const fetch = (text: string, what: string): ((ex: Exchange) => FetchValue) => {
          if (!acl) throw RateLimitErrors.NO_ACL(`${where}.${what}`);
          return acl.compileFetch(text, `${where}.${what}`).read;
        };
        let table: StickTable | undefined;
        if (r.action === 'track') {
          const name = r.table ?? fe.name;
          table = tables.get(name);
          if (!table) throw RateLimitErrors.UNKNOWN_TABLE(where, name, [...tables.byName.keys()].join(', ') || 'none');
          if (!r.key) throw RateLimitErrors.BAD_KEY(where, '', 'track needs a key');
        }
        if (r.phase === 'connection') this.#withConnection.add(fe.name);
        let value: CompiledRule['value'];
        if (r.action === 'set-gpt0') {
          const v = r.value ?? 0;
          if (typeof v === 'number' || /^-?\d+$/.test(v)) {
            const n = Number(v);
            value = () => n;
          } else value = fetch(v, 'value');
        }
        return {
          phase: r.phase,
          action: r.action,
          counter: r.counter,
          table,
          key: r.key ? fetch(r.key, 'key') : undefined,
          value,
          condition: compileCondition(gateway, fe.name, r, where),
        };
      });
      this.#byFrontend.set(fe.name, compiled);
    }
  }

  get empty(): boolean {
    return this.#byFrontend.size === 0;
  }

  /** The route tap: runs the frontend's rules in order (connection rules once per client connection). */
  run(ex: Exchange): undefined {
    const rules = this.#byFrontend.get(ex.frontend.name);
    if (rules === undefined) return undefined;
    const now = nowMs();
    const firstOfConnection = this.#withConnection.has(ex.frontend.name) && !ex.connection.data.has(SESSION_KEY);
    if (firstOfConnection) {
      const list = sessionCounters(ex.connection, true)!;
      ex.connection.socket.once('close', () => releaseCounters(list, null, nowMs()));
    }
    // HTTP requests count in the counters the session already tracks (HAProxy's stream_inc_http_req_ctr).
    if (ex.kind === 'http') {
      const sess = sessionCounters(ex.connection, false);
      if (sess && !firstOfConnection) for (const c of sess) if (c) this.#countRequest(c, now);
    }
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (r.phase === 'connection' && !firstOfConnection) continue;
      if (r.condition !== null && !r.condition(ex)) continue;
      if (r.action === 'track') {
        const list = r.phase === 'connection' ? sessionCounters(ex.connection, true)! : streamCounters(ex, true)!;
        if (list[r.counter]) continue; // HAProxy: a counter tracks once
        const t = r.table!;
        const key = t.normalizeKey(r.key!(ex));
        if (key === undefined) continue;
        const e = t.getOrCreate(key, now);
        if (!e) {
          this.#logger.debug({ table: t.name }, 'stick table full: not tracked');
          continue;
        }
        e.use++;
        list[r.counter] = { table: t, entry: e };
        startCounters(t, e, now);
        if (r.phase === 'connection') {
          t.add(e, DT.sess_cnt, 1, now);
          t.add(e, DT.sess_rate, 1, now);
        }
        if (ex.kind === 'http') this.#countRequest(list[r.counter]!, now);
        t.touch(e, now);
        continue;
      }
      const c = stickCounter(ex, r.counter);
      if (!c) continue;
      const { table: t, entry: e } = c;
      if (r.action === 'inc-gpc0') {
        t.add(e, DT.gpc0, 1, now);
        t.add(e, DT.gpc0_rate, 1, now);
      } else if (r.action === 'inc-gpc1') {
        t.add(e, DT.gpc1, 1, now);
        t.add(e, DT.gpc1_rate, 1, now);
      } else if (r.action === 'set-gpt0') {
        const v = Number(r.value!(ex));
        if (Number.isFinite(v)) t.set(e, DT.gpt0, v >>> 0, now);
      }
      t.touch(e, now);
    }
    return undefined;
  }

  #countRequest(c: StkCtr, now: number): void {
    c.table.add(c.entry, DT.http_req_cnt, 1, now);
    c.table.add(c.entry, DT.http_req_rate, 1, now);
  }

  /** The log tap: http_err (4xx) / http_fail (5xx) counts, then the stream's counters released. */
  done(ex: Exchange): void {
    // Only exchanges of frontends with rules carry counters: the others are not touched.
    if (!this.#byFrontend.has(ex.frontend.name)) return;
    const stream = streamCounters(ex, false);
    const sess = ex.connection.data.has(SESSION_KEY) ? sessionCounters(ex.connection, false) : undefined;
    if (!stream && !sess) return;
    const now = nowMs();
    if (ex.kind === 'http') {
      const status = ex.status;
      const err = status >= 400 && status < 500;
      const fail = status >= 500 && status < 600 && status !== 501 && status !== 505;
      if (err || fail) {
        for (let i = 0; i < STICK_COUNTERS; i++) {
          const c = stream?.[i] ?? sess?.[i];
          if (!c) continue;
          if (err) {
            c.table.add(c.entry, DT.http_err_cnt, 1, now);
            c.table.add(c.entry, DT.http_err_rate, 1, now);
          } else {
            c.table.add(c.entry, DT.http_fail_cnt, 1, now);
            c.table.add(c.entry, DT.http_fail_rate, 1, now);
          }
          c.table.touch(c.entry, now);
        }
      }
    }
    if (stream) releaseCounters(stream, ex, now);
  }
}

// --- fetches and converters ---------------------------------------------------------------

/** Data types readable with sc_<name>, src_<name> and table_<name> (HAProxy 2.6's names). */
const READABLE: ReadonlyArray<[string, string]> = [
  ['get_gpt0', 'gpt0'], ['get_gpc0', 'gpc0'], ['gpc0_rate', 'gpc0_rate'], ['get_gpc1', 'gpc1'], ['gpc1_rate', 'gpc1_rate'],
  ['conn_cnt', 'conn_cnt'], ['conn_cur', 'conn_cur'], ['conn_rate', 'conn_rate'], ['sess_cnt', 'sess_cnt'], ['sess_rate', 'sess_rate'],
  ['http_req_cnt', 'http_req_cnt'], ['http_req_rate', 'http_req_rate'], ['http_err_cnt', 'http_err_cnt'], ['http_err_rate', 'http_err_rate'],
  ['http_fail_cnt', 'http_fail_cnt'], ['http_fail_rate', 'http_fail_rate'], ['bytes_in_rate', 'bytes_in_rate'], ['bytes_out_rate', 'bytes_out_rate'],
  ['kbytes_in', 'bytes_in_cnt'], ['kbytes_out', 'bytes_out_cnt'],
];

/** Each frontend's stick tables (fetches are compiled without a gateway; the frontend leads to its generation's tables). */
const tablesOf = new WeakMap<FrontendState, StickTables>();

export function attachTables(gateway: GatewayApi, tables: StickTables): void {
  for (const fe of gateway.frontends.values()) tablesOf.set(fe, tables);
}

function tablesFor(ex: Exchange): StickTables | undefined {
  return tablesOf.get(ex.frontend);
}

function valueOf(t: StickTable, e: StickEntry, data: string, now: number): number {
  const type = DATA_TYPE_BY_NAME.get(data)!.id;
  const v = t.read(e, type, now);
  if (typeof v !== 'number') return 0;
  return data === 'bytes_in_cnt' || data === 'bytes_out_cnt' ? Math.floor(v / 1024) : v;
}

function counterArgs(arg: string | undefined, fixed: number | undefined): { n: number; table: string | undefined } {
  const parts = (arg ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  let n = fixed;
  if (n === undefined) {
    n = Number(parts.shift());
    if (!Number.isInteger(n) || n < 0 || n >= STICK_COUNTERS) throw new Error(`sticky counter must be 0..${STICK_COUNTERS - 1}, got "${arg}"`);
  }
  return { n, table: parts[0] };
}

/** The entry a sc fetch reads: the tracked one, or with a table argument the same key in that table. */
function scEntry(ex: Exchange, n: number, table: string | undefined): { t: StickTable; e: StickEntry } | undefined {
  const c = stickCounter(ex, n);
  if (!c) return undefined;
  if (table === undefined || table === c.table.name) return { t: c.table, e: c.entry };
  const t = tablesFor(ex)?.get(table);
  const e = t?.lookup(c.entry.key);
  return t && e ? { t, e } : undefined;
}

function srcEntry(ex: Exchange, table: string | undefined, create: boolean): { t: StickTable; e: StickEntry } | undefined {
  const tables = tablesFor(ex);
  const t = tables?.get(table ?? ex.frontend.name);
  if (!t) return undefined;
  const key = t.normalizeKey(ex.clientAddress);
  if (key === undefined) return undefined;
  const e = create ? t.getOrCreate(key) : t.lookup(key);
  return e ? { t, e } : undefined;
}

/** The fetches these tables answer: sc_*, scN_*, src_*, table_cnt/table_avl. */
export function stickTableFetches(): Array<[string, FetchDefinition]> {
  const out: Array<[string, FetchDefinition]> = [];
  const both = ['http', 'tcp'] as const;
  const now = nowMs;
  for (const [suffix, data] of READABLE) {
    const scRead = (fixed: number | undefined) => (arg: string | undefined) => {
      const { n, table } = counterArgs(arg, fixed);
      return (ex: Exchange): FetchValue => {
        const hit = scEntry(ex, n, table);
        return hit ? valueOf(hit.t, hit.e, data, now()) : undefined;
      };
    };
    if (suffix !== 'http_req_rate') {
      out.push([`sc_${suffix}`, { description: `${data} of the entry tracked by sticky counter N (sc_${suffix}(N[,table])).`, arg: 'required', modes: both, defaultMatch: 'int', compile: scRead(undefined) }]);
      for (let n = 0; n < STICK_COUNTERS; n++) {
        out.push([`sc${n}_${suffix}`, { description: `Same as sc_${suffix}(${n}[,table]).`, arg: 'optional', modes: both, defaultMatch: 'int', compile: scRead(n) }]);
      }
    }
    out.push([`src_${suffix}`, {
      description: `${data} of the client address's entry in the table (src_${suffix}([table]); default: the frontend's).`,
      arg: 'optional', modes: both, defaultMatch: 'int',
      compile: (arg) => (ex) => {
        const hit = srcEntry(ex, arg?.trim() || undefined, false);
        return hit ? valueOf(hit.t, hit.e, data, now()) : 0;
      },
    }]);
  }
  const incr = (data: 'gpc0' | 'gpc1', fixed: number | undefined) => (arg: string | undefined) => {
    const { n, table } = counterArgs(arg, fixed);
    return (ex: Exchange): FetchValue => {
      const hit = scEntry(ex, n, table);
      if (!hit) return 0;
      const id = DATA_TYPE_BY_NAME.get(data)!.id;
      hit.t.add(hit.e, id, 1);
      hit.t.add(hit.e, DATA_TYPE_BY_NAME.get(`${data}_rate`)!.id, 1);
      hit.t.touch(hit.e);
      return valueOf(hit.t, hit.e, data, now());
    };
  };
  const clr = (data: 'gpc0' | 'gpc1', fixed: number | undefined) => (arg: string | undefined) => {
    const { n, table } = counterArgs(arg, fixed);
    return (ex: Exchange): FetchValue => {
      const hit = scEntry(ex, n, table);
      if (!hit) return 0;
      const id = DATA_TYPE_BY_NAME.get(data)!.id;
      const before = valueOf(hit.t, hit.e, data, now());
      hit.t.set(hit.e, id, 0);
      hit.t.touch(hit.e);
      return before;
    };
  };
  for (const data of ['gpc0', 'gpc1'] as const) {
    out.push([`sc_inc_${data}`, { description: `Increments ${data} of sticky counter N's entry and returns it.`, arg: 'required', modes: both, defaultMatch: 'int', compile: incr(data, undefined) }]);
    out.push([`sc_clr_${data}`, { description: `Clears ${data} of sticky counter N's entry and returns its former value.`, arg: 'required', modes: both, defaultMatch: 'int', compile: clr(data, undefined) }]);
    for (let n = 0; n < STICK_COUNTERS; n++) {
      out.push([`sc${n}_inc_${data}`, { description: `Same as sc_inc_${data}(${n}).`, arg: 'optional', modes: both, defaultMatch: 'int', compile: incr(data, n) }]);
      out.push([`sc${n}_clr_${data}`, { description: `Same as sc_clr_${data}(${n}).`, arg: 'optional', modes: both, defaultMatch: 'int', compile: clr(data, n) }]);
    }
    out.push([`src_inc_${data}`, {
      description: `Increments ${data} of the client address's entry (created if needed) and returns it.`, arg: 'optional', modes: both, defaultMatch: 'int',
      compile: (arg) => (ex) => {
        const hit = srcEntry(ex, arg?.trim() || undefined, true);
        if (!hit) return 0;
        hit.t.add(hit.e, DATA_TYPE_BY_NAME.get(data)!.id, 1);
        hit.t.add(hit.e, DATA_TYPE_BY_NAME.get(`${data}_rate`)!.id, 1);
        hit.t.touch(hit.e);
        return valueOf(hit.t, hit.e, data, now());
      },
    }]);
  }
  const trackers = (fixed: number | undefined) => (arg: string | undefined) => {
    const { n } = counterArgs(arg, fixed);
    return (ex: Exchange): FetchValue => stickCounter(ex, n)?.entry.use ?? 0;
  };
  out.push(['sc_trackers', { description: 'Sessions tracking the same entry as sticky counter N.', arg: 'required', modes: both, defaultMatch: 'int', compile: trackers(undefined) }]);
  for (let n = 0; n < STICK_COUNTERS; n++) out.push([`sc${n}_trackers`, { description: `Same as sc_trackers(${n}).`, arg: 'optional', modes: both, defaultMatch: 'int', compile: trackers(n) }]);
  out.push(['table_cnt', {
    description: 'Entries in the table (default: the frontend\'s).', arg: 'optional', modes: both, defaultMatch: 'int',
    compile: (arg) => (ex) => tablesFor(ex)?.get(arg?.trim() || ex.frontend.name)?.used ?? 0,
  }]);
  out.push(['table_avl', {
    description: 'Free entries in the table (default: the frontend\'s).', arg: 'optional', modes: both, defaultMatch: 'int',
    compile: (arg) => (ex) => {
      const t = tablesFor(ex)?.get(arg?.trim() || ex.frontend.name);
      return t ? t.size - t.used : 0;
    },
  }]);
  return out;
}

/** Converters on a key: table_<data>(table), in_table(table), table_trackers(table). */
export function stickTableConverters(): Array<[string, ConverterDefinition]> {
  const out: Array<[string, ConverterDefinition]> = [];
  const look = (table: string, value: FetchValue, ex: Exchange | undefined): { t: StickTable; e: StickEntry | undefined } | undefined => {
    if (!ex) return undefined;
    const t = tablesFor(ex)?.get(table);
    if (!t) return undefined;
    const key = t.normalizeKey(value);
    return { t, e: key === undefined ? undefined : t.lookup(key) };
  };
  const tableArg = (arg: string | undefined): string => {
    const t = arg?.trim();
    if (!t) throw new Error('needs a table name');
    return t;
  };
  for (const [suffix, data] of [...READABLE.map(([s, d]): [string, string] => [s.replace(/^get_/, ''), d]), ['server_id', 'server_id'] as [string, string]]) {
    out.push([`table_${suffix}`, {
      description: `${data} of the input's entry in the table (0 when the key is absent).`, arg: 'required', defaultMatch: 'int',
      compile: (arg) => {
        const table = tableArg(arg);
        return (value, ex) => {
          const hit = look(table, value, ex);
          // HAProxy: no table or a type it does not store → no value; a key it does not hold → 0.
          if (!hit || !hit.t.stores(DATA_TYPE_BY_NAME.get(data)!.id)) return undefined;
          return hit.e ? valueOf(hit.t, hit.e, data, nowMs()) : 0;
        };
      },
    }]);
  }
  out.push(['in_table', {
    description: 'True when the input is a key of the table.', arg: 'required', defaultMatch: 'bool',
    compile: (arg) => {
      const table = tableArg(arg);
      return (value, ex) => (look(table, value, ex)?.e ? 1 : 0);
    },
  }]);
  out.push(['table_trackers', {
    description: 'Sessions tracking the input\'s entry in the table.', arg: 'required', defaultMatch: 'int',
    compile: (arg) => {
      const table = tableArg(arg);
      return (value, ex) => look(table, value, ex)?.e?.use ?? 0;
    },
  }]);
  return out;
}
