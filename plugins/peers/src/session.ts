import type { Socket } from 'node:net';
import { DATA_TYPES, FreqCounter, nowMs, type StickEntry, type StickTable } from '@switchyard/plugin-rate-limit';
import {
  CLASS, CONTROL, KEY_TYPE, MAJOR, MINOR, PROTO_NAME, Reader, STATUS, STKT, control, encodeInt, ipv4Bytes, ipv6Bytes, ipv6Text, message, parseMessages, type Parsed,
} from './protocol';

/** A table shared through a peers section, with its local protocol id and update counter. */
export interface SharedTable {
  readonly table: StickTable;
  /** The id this side gives the table in DEFINE messages (1, 2, …). */
  readonly localId: number;
  /** The name peers know it by (a peers-section table's name without `peers/`). */
  readonly syncName: string;
  /** Update ids of the entries last changed here (HAProxy's localupdate counter). */
  updateId: number;
  readonly updateOf: WeakMap<StickEntry, number>;
}

/** What a remote peer declared about one of its tables (DEFINE). */
interface RemoteTable {
  readonly shared: SharedTable | null;
  readonly data: bigint;
  lastGet: number;
  lastAcked: number;
}

export interface SessionHost {
  readonly localName: string;
  readonly tables: ReadonlyArray<SharedTable>;
  isPeer(name: string): boolean;
  /** A handshake named this session's peer: the host keeps one session per peer. */
  established(session: PeerSession): void;
  closed(session: PeerSession): void;
  log(level: 'debug' | 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
}

const HEARTBEAT_MS = 3000;
/** Nothing heard for this long: the session is dead (HAProxy reconnects after 5 s). */
const DEAD_MS = 10_000;

/** HAProxy's key_size: string keys count their terminating NUL. */
export function keySize(t: StickTable): number {
  return t.type === 'string' ? t.keyLen + 1 : t.keyLen;
}

export function netKeyType(t: StickTable): number {
  return t.type === 'ip' ? KEY_TYPE.ipv4 : t.type === 'ipv6' ? KEY_TYPE.ipv6 : t.type === 'integer' ? KEY_TYPE.sint : t.type === 'binary' ? KEY_TYPE.bin : KEY_TYPE.str;
}

/**
 * One peers session (either direction): the handshake, then DEFINE/UPDATE/ACK and control
 * messages. After the handshake it teaches the peer every entry of every shared table, then
 * each local change as it happens; what the peer sends is applied to the local tables
 * without being echoed back.
 */
export class PeerSession {
  peerName: string | undefined;
  isEstablished = false;
  #buf: Buffer = Buffer.alloc(0);
  #lines: string[] = [];
  readonly #remote = new Map<number, RemoteTable>();
  #current: RemoteTable | undefined;
  #lastLocalTable: SharedTable | undefined;
  readonly #pending = new Map<SharedTable, Set<StickEntry>>();
  #flushScheduled = false;
  #lastSent = Date.now();
  #lastHeard = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #minor = MINOR;
  readonly #dict = new Map<number, string>();
  #closed = false;

  constructor(
    readonly socket: Socket,
    readonly outgoing: boolean,
    readonly host: SessionHost,
    /** The peer dialled (outgoing sessions). */
    expected?: string,
  ) {
    this.peerName = expected;
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', (err) => this.host.log('debug', `peers session ${this.peerName ?? '?'}: ${err.message}`));
    socket.on('close', () => this.#onClose());
    if (outgoing) {
      socket.write(`${PROTO_NAME} ${MAJOR}.${MINOR}\n${expected}\n${host.localName} ${process.pid} 1\n`);
    }
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.host.closed(this);
  }

  #onData(d: Buffer): void {
    this.#lastHeard = Date.now();
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    if (!this.isEstablished && !this.#handshake()) return;
    let parsed: { messages: Parsed[]; rest: Buffer };
    try {
      parsed = parseMessages(this.#buf);
    } catch (err) {
      this.#protocolError((err as Error).message, true);
      return;
    }
    this.#buf = parsed.rest;
    for (const m of parsed.messages) {
      if (this.socket.destroyed) return;
      try {
        this.#onMessage(m);
      } catch (err) {
        this.#protocolError((err as Error).message, false);
        return;
      }
    }
    this.#sendAcks();
  }

  /** Reads handshake lines; true once established (the rest of the buffer is binary). */
  #handshake(): boolean {
    let nl: number;
    while (!this.isEstablished && (nl = this.#buf.indexOf(10)) !== -1) {
      const line = this.#buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.#buf = this.#buf.subarray(nl + 1);
      if (this.outgoing) {
        const code = Number(line.trim());
        if (code !== STATUS.SUCCESS) {
          this.host.log('warn', `peers: ${this.peerName} refused the session (status ${line.trim()})`);
          this.close();
          return false;
        }
        this.#begin();
        return true;
      }
      this.#lines.push(line);
      if (this.#lines.length < 3) continue;
      const [hello, target, who] = this.#lines as [string, string, string];
      const m = /^(\S+) (\d+)\.(\d+)$/.exec(hello);
      if (!m || m[1] !== PROTO_NAME) return this.#refuse(STATUS.ERRPROTO, `bad hello "${hello}"`);
      if (Number(m[2]) !== MAJOR) return this.#refuse(STATUS.ERRVERSION, `protocol version ${m[2]}.${m[3]}`);
      this.#minor = Math.min(MINOR, Number(m[3]));
      if (target !== this.host.localName) return this.#refuse(STATUS.ERRHOST, `it asked for peer "${target}", this is "${this.host.localName}"`);
      const name = who.split(' ')[0] ?? '';
      if (!this.host.isPeer(name)) return this.#refuse(STATUS.ERRPEER, `unknown peer "${name}"`);
      this.peerName = name;
      this.socket.write(`${STATUS.SUCCESS}\n`);
      this.#begin();
      return true;
    }
    if (this.#buf.length > 4096) this.#refuse(STATUS.ERRPROTO, 'handshake too long');
    return false;
  }

  #refuse(code: number, why: string): false {
    this.host.log('warn', `peers: session refused (${code}): ${why}`);
    this.socket.end(`${code}\n`);
    return false;
  }

  #protocolError(why: string, size: boolean): void {
    this.host.log('warn', `peers: protocol error from ${this.peerName}: ${why}`);
    this.socket.end(Buffer.from([CLASS.ERROR, size ? 1 : 0]));
  }

  #begin(): void {
    this.isEstablished = true;
    this.host.established(this);
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
    this.teachAll(false);
  }

  #tick(): void {
    const now = Date.now();
    if (now - this.#lastHeard > DEAD_MS) {
      this.host.log('info', `peers: nothing from ${this.peerName} for ${DEAD_MS} ms, closing`);
      this.close();
      return;
    }
    if (now - this.#lastSent >= HEARTBEAT_MS) this.#write(control(CONTROL.HEARTBEAT));
  }

  #write(b: Buffer): void {
    if (this.socket.destroyed || !this.isEstablished) return;
    this.#lastSent = Date.now();
    this.socket.write(b);
  }

  requestResync(): void {
    this.#write(control(CONTROL.RESYNCREQ));
  }

  /** Every entry of every shared table (a peer that just connected, or asked for a resync). */
  teachAll(thenFinished: boolean): void {
    const now = nowMs();
    for (const st of this.host.tables) {
      this.#define(st);
      for (const e of st.table.entries()) this.#write(this.#update(st, e, st.updateOf.get(e) ?? 0, this.#minor >= 1, now));
    }
    if (thenFinished) this.#write(control(CONTROL.RESYNCFINISHED));
  }

  /** A local change, sent on the next turn of the event loop (several changes of one entry go once). */
  queue(st: SharedTable, e: StickEntry): void {
    if (!this.isEstablished) return;
    let set = this.#pending.get(st);
    if (!set) this.#pending.set(st, (set = new Set()));
    set.add(e);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const now = nowMs();
      for (const [t, entries] of this.#pending) {
        for (const entry of entries) this.#write(this.#update(t, entry, t.updateOf.get(entry) ?? 0, false, now));
      }
      this.#pending.clear();
    });
  }

  #define(st: SharedTable): void {
    const t = st.table;
    const body: number[] = [];
    encodeInt(st.localId, body);
    const name = Buffer.from(st.syncName);
    encodeInt(name.length, body);
    body.push(...name);
    encodeInt(netKeyType(t), body);
    encodeInt(keySize(t), body);
    let bits = 0n;
    const params: number[] = [];
    for (const id of t.storedTypes()) {
      bits |= 1n << BigInt(id);
      if (DATA_TYPES[id]!.withPeriod) {
        encodeInt(id, params);
        encodeInt(t.periods[id] ?? 0, params);
      }
    }
    encodeInt(bits, body);
    encodeInt(t.expire, body);
    body.push(...params);
    this.#write(message(CLASS.STICKTABLE, STKT.DEFINE, body));
    this.#lastLocalTable = st;
  }

  #update(st: SharedTable, e: StickEntry, updateId: number, timed: boolean, now: number): Buffer {
    if (this.#lastLocalTable !== st) this.#define(st);
    const t = st.table;
    const body: number[] = [];
    const u32 = (v: number): void => {
      body.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    };
    u32(updateId >>> 0);
    if (timed) u32(e.expire === 0 ? 0 : Math.max(0, e.expire - now));
    if (t.type === 'string') {
      const k = Buffer.from(e.key);
      encodeInt(k.length, body);
      body.push(...k);
    } else if (t.type === 'integer') u32(Number(e.key) >>> 0);
    else if (t.type === 'ip') body.push(...ipv4Bytes(e.key));
    else if (t.type === 'ipv6') body.push(...ipv6Bytes(e.key));
    else {
      const k = Buffer.alloc(t.keyLen);
      Buffer.from(e.key).copy(k);
      body.push(...k);
    }
    for (const id of t.storedTypes()) {
      const v = e.data[id];
      const std = DATA_TYPES[id]!.std;
      if (v instanceof FreqCounter) {
        encodeInt((now - v.currTick) >>> 0, body);
        encodeInt(v.curr, body);
        encodeInt(v.prev, body);
      } else if (std === 'dict') encodeInt(0, body);
      else encodeInt(typeof v === 'number' ? v : 0, body);
    }
    return message(CLASS.STICKTABLE, timed ? STKT.UPDATE_TIMED : STKT.UPDATE, body);
  }

  #onMessage(m: Parsed): void {
    if (m.cls === CLASS.CONTROL) {
      if (m.type === CONTROL.RESYNCREQ) this.teachAll(true);
      else if (m.type === CONTROL.RESYNCFINISHED || m.type === CONTROL.RESYNCPARTIAL) this.#write(control(CONTROL.RESYNCCONFIRM));
      return;
    }
    if (m.cls === CLASS.ERROR) {
      this.host.log('warn', `peers: ${this.peerName} reported a ${m.type === 1 ? 'size limit' : 'protocol'} error`);
      this.close();
      return;
    }
    if (m.cls !== CLASS.STICKTABLE || !m.body) return;
    const r = new Reader(m.body);
    switch (m.type) {
      case STKT.DEFINE:
        return this.#onDefine(r);
      case STKT.SWITCH:
        this.#current = this.#remote.get(r.int());
        return;
      case STKT.ACK:
        return;
      case STKT.UPDATE:
      case STKT.INCUPDATE:
      case STKT.UPDATE_TIMED:
      case STKT.INCUPDATE_TIMED:
        return this.#onUpdate(r, m.type === STKT.UPDATE || m.type === STKT.UPDATE_TIMED, m.type === STKT.UPDATE_TIMED || m.type === STKT.INCUPDATE_TIMED);
      default:
        return;
    }
  }

  #onDefine(r: Reader): void {
    const id = r.int();
    const name = r.bytes(r.int()).toString();
    const type = r.int();
    const size = r.int();
    const data = BigInt(r.int());
    const shared = this.host.tables.find((s) => s.syncName === name);
    let usable: SharedTable | null = shared ?? null;
    if (shared && (netKeyType(shared.table) !== type || keySize(shared.table) !== size)) {
      this.host.log('warn', `peers: ${this.peerName}'s table "${name}" has another key type or size (${type}/${size}): its updates are ignored`);
      usable = null;
    }
    // Types beyond HAProxy 2.6's scalar ones (the gpc/gpt arrays) have a layout we do not read.
    if (usable && data >> BigInt(DATA_TYPES.length) !== 0n) {
      this.host.log('warn', `peers: ${this.peerName}'s table "${name}" stores array data types: its updates are ignored`);
      usable = null;
    }
    const prev = this.#remote.get(id);
    const rt: RemoteTable = { shared: usable, data, lastGet: prev?.lastGet ?? 0, lastAcked: prev?.lastAcked ?? 0 };
    this.#remote.set(id, rt);
    this.#current = rt;
  }

  #onUpdate(r: Reader, withId: boolean, timed: boolean): void {
    const rt = this.#current;
    if (!rt) return;
    rt.lastGet = withId ? r.u32() : rt.lastGet + 1;
    const remoteExpire = timed ? r.u32() : undefined;
    const st = rt.shared;
    if (!st) return;
    const t = st.table;
    let key: string | undefined;
    if (t.type === 'string') {
      const len = r.int();
      const b = r.bytes(len);
      key = t.normalizeKey(b.toString());
    } else if (t.type === 'integer') key = String(r.u32());
    else if (t.type === 'ip') key = [...r.bytes(4)].join('.');
    else if (t.type === 'ipv6') key = ipv6Text(r.bytes(16));
    else key = r.bytes(keySize(t)).toString().replace(/\0+$/, '');
    const now = nowMs();
    const e = key === undefined ? undefined : t.getOrCreate(key, now);
    for (let id = 0; id < DATA_TYPES.length; id++) {
      if (((rt.data >> BigInt(id)) & 1n) === 0n) continue;
      const def = DATA_TYPES[id]!;
      const stored = e !== undefined && t.stores(id);
      if (def.std === 'frqp') {
        const elapsed = r.int();
        const curr = r.int();
        const prev = r.int();
        if (stored) {
          const f = e!.data[id] as FreqCounter;
          f.currTick = now - elapsed;
          f.curr = curr;
          f.prev = prev;
        }
      } else if (def.std === 'dict') {
        const len = r.int();
        if (len === 0) continue;
        const inner = new Reader(r.bytes(len));
        const dictId = inner.int();
        let value = this.#dict.get(dictId);
        if (!inner.done) {
          value = inner.bytes(inner.int()).toString();
          this.#dict.set(dictId, value);
        }
        if (stored && value !== undefined) e!.data[id] = value;
      } else {
        const v = r.int();
        if (stored) e!.data[id] = def.std === 'sint' ? v | 0 : v;
      }
    }
    if (e && t.expire > 0) e.expire = now + (remoteExpire ?? t.expire);
  }

  #sendAcks(): void {
    for (const [id, rt] of this.#remote) {
      if (rt.lastGet === rt.lastAcked) continue;
      rt.lastAcked = rt.lastGet;
      const body: number[] = [];
      encodeInt(id, body);
      body.push((rt.lastGet >>> 24) & 0xff, (rt.lastGet >>> 16) & 0xff, (rt.lastGet >>> 8) & 0xff, rt.lastGet & 0xff);
      this.#write(message(CLASS.STICKTABLE, STKT.ACK, body));
    }
  }
}
