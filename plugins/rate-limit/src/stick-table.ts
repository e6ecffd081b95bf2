import { isIP } from 'node:net';

/**
 * HAProxy's stick tables, held in this process as HAProxy holds them: one entry per key
 * with the data types the table `store`s, an expiry, and a use count (how many sessions
 * track the entry now). The data types, their numbering, their order in `show table`, and
 * the frequency counters follow HAProxy 2.6 (src/stick_table.c, include/haproxy/freq_ctr.h),
 * so the CLI output and the peers protocol (which numbers data types the same way) match.
 */

/** Container token of the gateway's stick tables (`StickTables`), registered at apply: the CLI and the peers plugin read it. */
export const STICK_TABLES = 'switchyard.rate-limit.stickTables';

export type KeyType = 'ip' | 'ipv6' | 'integer' | 'string' | 'binary';

/** Standard storage kinds (HAProxy's STD_T_*). */
export type StdType = 'sint' | 'uint' | 'ull' | 'frqp' | 'dict';

export interface DataTypeInfo {
  readonly id: number;
  readonly name: string;
  readonly std: StdType;
  /** Frequency counters take a period: `conn_rate(10s)`. */
  readonly withPeriod: boolean;
}

/** HAProxy 2.6's stktable_data_types[], in id order (ids are what peers send). */
export const DATA_TYPES: ReadonlyArray<DataTypeInfo> = [
  ['server_id', 'sint'],
  ['gpt0', 'uint'],
  ['gpc0', 'uint'],
  ['gpc0_rate', 'frqp'],
  ['conn_cnt', 'uint'],
  ['conn_rate', 'frqp'],
  ['conn_cur', 'uint'],
  ['sess_cnt', 'uint'],
  ['sess_rate', 'frqp'],
  ['http_req_cnt', 'uint'],
  ['http_req_rate', 'frqp'],
  ['http_err_cnt', 'uint'],
  ['http_err_rate', 'frqp'],
  ['bytes_in_cnt', 'ull'],
  ['bytes_in_rate', 'frqp'],
  ['bytes_out_cnt', 'ull'],
  ['bytes_out_rate', 'frqp'],
  ['gpc1', 'uint'],
  ['gpc1_rate', 'frqp'],
  ['server_key', 'dict'],
  ['http_fail_cnt', 'uint'],
  ['http_fail_rate', 'frqp'],
].map(([name, std], id) => ({ id, name: name!, std: std as StdType, withPeriod: std === 'frqp' }));

export const DATA_TYPE_BY_NAME: ReadonlyMap<string, DataTypeInfo> = new Map(DATA_TYPES.map((d) => [d.name, d]));

/** HAProxy's clock for stick tables: milliseconds, monotonic. */
export const nowMs = (): number => Math.floor(performance.timeOrigin + performance.now());

/**
 * HAProxy's freq_ctr over a period: the events of the current period and of the previous
 * one; the rate is the previous period's count weighted by what is left of it, plus the
 * current count (read_freq_ctr_period).
 */
export class FreqCounter {
  currTick = 0;
  curr = 0;
  prev = 0;

  #rotate(period: number, now: number): void {
    const elapsed = now - this.currTick;
    if (elapsed < period) return;
    this.prev = elapsed < 2 * period ? this.curr : 0;
    this.curr = 0;
    this.currTick = now - (elapsed % period);
  }

  add(period: number, n: number, now = nowMs()): void {
    if (this.currTick === 0 && this.curr === 0 && this.prev === 0) this.currTick = now;
    this.#rotate(period, now);
    this.curr += n;
  }

  read(period: number, now = nowMs()): number {
    if (period <= 0) return this.curr;
    let elapsed = now - this.currTick;
    let curr = this.curr;
    let past = this.prev;
    if (elapsed >= period) {
      if (elapsed >= 2 * period) return 0;
      past = curr;
      curr = 0;
      elapsed -= period;
    }
    return Math.floor((past * (period - elapsed) + curr * period) / period);
  }
}

export interface StickEntry {
  readonly key: string;
  /** Sessions tracking it right now (HAProxy's ref_cnt, `use=` in `show table`). */
  use: number;
  /** Expiry date (nowMs) or 0 when the table has no expire. */
  expire: number;
  /** One slot per data type id the table stores: a number, a FreqCounter or a string (server_key). */
  readonly data: Array<number | FreqCounter | string | undefined>;
  /** Address in `show table` (a stable per-entry id). */
  readonly ptr: number;
}

export interface StickTableConfig {
  name: string;
  type: KeyType;
  /** Key length for string/binary keys (bytes). */
  len?: number;
  size: number;
  /** Entry lifetime in ms; absent: entries never expire (evicted only when full). */
  expire?: number;
  nopurge?: boolean;
  /** Data types, with their periods: `conn_rate(10s)` → { name: 'conn_rate', period: 10000 }. */
  store: Array<{ name: string; period?: number }>;
  /** The `peers` section that synchronises this table. */
  peers?: string;
  /** The name peers know this table by (default: `name`; a peers section's `table t` is `peers/t` here, `t` on the wire). */
  syncName?: string;
}

let nextPtr = 0x55d0_0000_1000;

/** What a table tells its listeners (the peers plugin): an entry was created or its data changed locally. */
export type StickListener = (entry: StickEntry, table: StickTable) => void;

export class StickTable {
  readonly name: string;
  readonly type: KeyType;
  readonly size: number;
  readonly expire: number;
  readonly keyLen: number;
  /** Periods (ms) of the stored data types, by id; undefined when not stored. */
  readonly periods: Array<number | undefined> = [];
  readonly stored: boolean[] = [];
  readonly peers: string | undefined;
  readonly config: StickTableConfig;
  readonly #entries = new Map<string, StickEntry>();
  readonly #listeners: StickListener[] = [];
  readonly #nopurge: boolean;

  constructor(config: StickTableConfig) {
    this.config = config;
    this.name = config.name;
    this.type = config.type;
    this.size = config.size;
    this.expire = config.expire ?? 0;
    this.keyLen = config.type === 'string' ? (config.len ?? 32) : config.type === 'binary' ? (config.len ?? 32) : config.type === 'ipv6' ? 16 : config.type === 'ip' ? 4 : 4;
    this.peers = config.peers;
    this.#nopurge = config.nopurge === true;
    for (const s of config.store) {
      const t = DATA_TYPE_BY_NAME.get(s.name)!;
      this.stored[t.id] = true;
      this.periods[t.id] = t.withPeriod ? (s.period ?? 0) : undefined;
    }
  }

  get used(): number {
    this.purgeExpired();
    return this.#entries.size;
  }

  stores(type: number): boolean {
    return this.stored[type] === true;
  }

  /** Data type ids stored, in id order (the `show table` order). */
  storedTypes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < DATA_TYPES.length; i++) if (this.stored[i]) out.push(i);
    return out;
  }

  onUpdate(fn: StickListener): void {
    this.#listeners.push(fn);
  }

  /** Called after local changes to an entry: re-arms its expiry and tells the listeners (peers). */
  touch(e: StickEntry, now = nowMs()): void {
    if (this.expire > 0) e.expire = now + this.expire;
    for (const l of this.#listeners) l(e, this);
  }

  /**
   * A sample as this table's key (HAProxy's smp_to_stkey): an address for ip/ipv6 (an
   * IPv4-mapped IPv6 address is IPv4), a decimal for integer, text cut to `len` for
   * string; undefined when it cannot be one.
   */
  normalizeKey(value: unknown): string | undefined {
    if (value === undefined || value === null || value === false) return undefined;
    let s = Array.isArray(value) ? String(value[0] ?? '') : String(value);
    switch (this.type) {
      case 'ip': {
        if (s.startsWith('::ffff:') && isIP(s.slice(7)) === 4) s = s.slice(7);
        return isIP(s) === 4 ? s : undefined;
      }
      case 'ipv6': {
        if (isIP(s) === 4) return `::ffff:${s}`;
        return isIP(s) === 6 ? s : undefined;
      }
      case 'integer': {
        if (!/^[-+]?\d+$/.test(s.trim())) return undefined;
        return String(Number.parseInt(s, 10) >>> 0);
      }
      default: {
        const b = Buffer.from(s);
        return b.length > this.keyLen ? b.subarray(0, this.keyLen).toString() : s;
      }
    }
  }

  lookup(key: string): StickEntry | undefined {
    const e = this.#entries.get(key);
    if (e && this.#expired(e)) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** The entry of `key`, created when absent (oldest unused entries are evicted when the table is full). */
  getOrCreate(key: string, now = nowMs()): StickEntry | undefined {
    const found = this.lookup(key);
    if (found) return found;
    if (this.#entries.size >= this.size) {
      this.purgeExpired(now);
      if (this.#entries.size >= this.size && !this.#evictOne()) return undefined;
    }
    const data: StickEntry['data'] = [];
    for (const id of this.storedTypes()) {
      const t = DATA_TYPES[id]!;
      data[id] = t.std === 'frqp' ? new FreqCounter() : t.std === 'dict' ? undefined : 0;
    }
    const e: StickEntry = { key, use: 0, expire: this.expire > 0 ? now + this.expire : 0, data, ptr: (nextPtr += 0x48) };
    this.#entries.set(key, e);
    return e;
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  /** Every live entry, in HAProxy's tree order (keys compared as the bytes it stores). */
  entries(): StickEntry[] {
    this.purgeExpired();
    const list = [...this.#entries.values()];
    const sortKey = (k: string): Buffer => {
      if (this.type === 'ip') return Buffer.from(k.split('.').map(Number));
      if (this.type === 'integer') return Buffer.from(Number(k).toString(16).padStart(8, '0'), 'hex');
      return Buffer.from(k);
    };
    if (this.type === 'ipv6') return list;
    const keys = new Map(list.map((e) => [e, sortKey(e.key)]));
    return list.sort((a, b) => Buffer.compare(keys.get(a)!, keys.get(b)!));
  }

  purgeExpired(now = nowMs()): void {
    if (this.expire === 0) return;
    for (const [k, e] of this.#entries) if (e.use === 0 && e.expire !== 0 && e.expire <= now) this.#entries.delete(k);
  }

  #expired(e: StickEntry): boolean {
    return e.use === 0 && e.expire !== 0 && e.expire <= nowMs();
  }

  #evictOne(): boolean {
    if (this.#nopurge) return false;
    let victim: StickEntry | undefined;
    for (const e of this.#entries.values()) if (e.use === 0 && (!victim || e.expire < victim.expire)) victim = e;
    if (!victim) return false;
    this.#entries.delete(victim.key);
    return true;
  }

  // --- data access (HAProxy semantics per storage kind) ---

  /** The value of a data type as fetches and `show table` read it; undefined when not stored. */
  read(e: StickEntry, type: number, now = nowMs()): number | string | undefined {
    if (!this.stored[type]) return undefined;
    const v = e.data[type];
    if (v instanceof FreqCounter) return v.read(this.periods[type] ?? 0, now);
    if (typeof v === 'string') return v;
    return v ?? 0;
  }

  /** Adds to a counter or a frequency counter (no-op when the type is not stored). */
  add(e: StickEntry, type: number, n = 1, now = nowMs()): void {
    if (!this.stored[type]) return;
    const v = e.data[type];
    if (v instanceof FreqCounter) v.add(this.periods[type] ?? 0, n, now);
    else if (typeof v === 'number') e.data[type] = v + n;
  }

  /** Sets a counter; a frequency counter restarts with this many events in its current period. */
  set(e: StickEntry, type: number, value: number | string, now = nowMs()): void {
    if (!this.stored[type]) return;
    const v = e.data[type];
    if (v instanceof FreqCounter) {
      v.currTick = now;
      v.curr = Number(value);
      v.prev = 0;
    } else if (DATA_TYPES[type]!.std === 'dict') e.data[type] = String(value);
    else e.data[type] = Number(value);
  }

  /** `show table` line of one entry (HAProxy's table_dump_entry_to_buffer). */
  dumpEntry(e: StickEntry, now = nowMs()): string {
    let line = `0x${e.ptr.toString(16)}: key=${this.#printKey(e.key)} use=${e.use} exp=${e.expire === 0 ? 0 : Math.max(0, e.expire - now)}`;
    for (const id of this.storedTypes()) {
      const t = DATA_TYPES[id]!;
      const v = this.read(e, id, now);
      if (t.withPeriod) line += ` ${t.name}(${this.periods[id] ?? 0})=${v}`;
      else if (t.std === 'dict') line += ` ${t.name}=${v ?? '-'}`;
      else line += ` ${t.name}=${v}`;
    }
    return line;
  }

  header(): string {
    return `# table: ${this.name}, type: ${this.type}, size:${this.size}, used:${this.used}`;
  }

  #printKey(key: string): string {
    if (this.type === 'binary') return Buffer.from(key).toString('hex').toUpperCase();
    return key;
  }
}

/** `10s`, `1m`, `50000` (ms) → ms, as HAProxy reads a data type's period. */
export function parsePeriod(text: string): number | undefined {
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const f: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Math.floor(n * f[unit]!);
}

/** `type string len 32 size 10m expire 30s store gpc0,conn_rate(10s) peers p nopurge` → a table config. */
export function parseStickTableWords(name: string, words: ReadonlyArray<string>): StickTableConfig | string {
  const cfg: StickTableConfig = { name, type: 'ip', size: 0, store: [] };
  let sized = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const arg = words[i + 1];
    switch (w) {
      case 'type': {
        if (arg === 'ip' || arg === 'ipv6' || arg === 'integer' || arg === 'string' || arg === 'binary') cfg.type = arg;
        else return `stick-table: unknown type "${arg ?? ''}" (ip, ipv6, integer, string, binary)`;
        i++;
        if ((arg === 'string' || arg === 'binary') && words[i + 1] === 'len') {
          const n = Number(words[i + 2]);
          if (!Number.isInteger(n) || n <= 0) return `stick-table: len needs a positive integer`;
          cfg.len = n;
          i += 2;
        }
        break;
      }
      case 'size': {
        const m = /^(\d+)([kmg])?$/i.exec(arg ?? '');
        if (!m) return `stick-table: size needs a number (k, m, g suffixes allowed)`;
        const mult = { k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
        cfg.size = Number(m[1]) * mult;
        sized = true;
        i++;
        break;
      }
      case 'expire': {
        const ms = parsePeriod(arg ?? '');
        if (ms === undefined) return `stick-table: expire needs a time ("${arg ?? ''}")`;
        cfg.expire = ms;
        i++;
        break;
      }
      case 'peers':
        if (!arg) return 'stick-table: peers needs a section name';
        cfg.peers = arg;
        i++;
        break;
      case 'nopurge':
        cfg.nopurge = true;
        break;
      case 'store': {
        if (!arg) return 'stick-table: store needs data types';
        for (const item of arg.split(',')) {
          const m = /^([a-z0-9_]+)(?:\(([^)]*)\))?$/.exec(item.trim());
          const t = m ? DATA_TYPE_BY_NAME.get(m[1]!) : undefined;
          if (!m || !t) return `stick-table: unknown data type "${item}"${/^gp[ct]\(/.test(item) ? ' (the gpc/gpt arrays of HAProxy 2.5+ are not supported; use gpc0, gpc1, gpt0)' : ''}`;
          if (t.withPeriod) {
            const p = parsePeriod(m[2] ?? '');
            if (p === undefined) return `stick-table: ${t.name} needs a period, e.g. ${t.name}(10s)`;
            cfg.store.push({ name: t.name, period: p });
          } else cfg.store.push({ name: t.name });
        }
        i++;
        break;
      }
      case 'srvkey':
        i++;
        break;
      case 'write-to':
        return 'stick-table: write-to is not supported';
      default:
        return `stick-table: unknown argument "${w}"`;
    }
  }
  if (!sized) return 'stick-table: size is required';
  return cfg;
}
