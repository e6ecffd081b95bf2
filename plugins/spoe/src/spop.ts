import { parseV6 } from '@switchyard/sdk';

/**
 * SPOP, the Stream Processing Offload Protocol (HAProxy's doc/SPOE.txt, version 2.0):
 * length-prefixed frames, peers-encoded varints, typed data. Pure encoding, no I/O.
 */

export const FrameType = Object.freeze({
  UNSET: 0,
  HAPROXY_HELLO: 1,
  HAPROXY_DISCONNECT: 2,
  NOTIFY: 3,
  AGENT_HELLO: 101,
  AGENT_DISCONNECT: 102,
  ACK: 103,
});

export const DataType = Object.freeze({ NULL: 0, BOOL: 1, INT32: 2, UINT32: 3, INT64: 4, UINT64: 5, IPV4: 6, IPV6: 7, STRING: 8, BINARY: 9 });
export const ActionType = Object.freeze({ SET_VAR: 1, UNSET_VAR: 2 });
export const VAR_SCOPES = ['proc', 'sess', 'txn', 'req', 'res'] as const;
export type VarScope = (typeof VAR_SCOPES)[number];

export const FLAG_FIN = 1;
export const FLAG_ABORT = 2;

/** A typed value of SPOP. */
export type TypedValue =
  | { type: 'null' }
  | { type: 'bool'; value: boolean }
  | { type: 'int32' | 'uint32' | 'int64' | 'uint64'; value: bigint }
  | { type: 'ipv4' | 'ipv6'; value: string }
  | { type: 'string'; value: string }
  | { type: 'binary'; value: Buffer };

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  frameId: number;
  payload: Buffer;
}

export class SpopError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** SPOP status codes (doc/SPOE.txt 3.5). */
export const Status = Object.freeze({
  NORMAL: 0, IO: 1, TIMEOUT: 2, TOO_BIG: 3, INVALID: 4, NO_VSN: 5, NO_FRAME_SIZE: 6, NO_CAP: 7, BAD_VSN: 8, BAD_FRAME_SIZE: 9,
  FRAG_NOT_SUPPORTED: 10, INTERLACED_FRAMES: 11, FRAMEID_NOTFOUND: 12, RES: 13, UNKNOWN: 99,
});

export const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  0: 'normal', 1: 'I/O error', 2: 'a timeout occurred', 3: 'frame is too big', 4: 'invalid frame received', 5: 'version value not found',
  6: 'max-frame-size value not found', 7: 'capabilities value not found', 8: 'unsupported version', 9: 'max-frame-size too big or too small',
  10: 'payload fragmentation is not supported', 11: 'invalid interlaced frames', 12: 'frame-id not found', 13: 'resource allocation error', 99: 'an unknown error occurred',
});

/** Writes bytes into a growing buffer. */
export class Writer {
  #buf = Buffer.allocUnsafe(256);
  #len = 0;

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  byte(b: number): this {
    this.#room(1);
    this.#buf[this.#len++] = b & 0xff;
    return this;
  }

  u32(v: number): this {
    this.#room(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }

  bytes(b: Buffer): this {
    this.#room(b.length);
    b.copy(this.#buf, this.#len);
    this.#len += b.length;
    return this;
  }

  /** Peers encoding: < 240 in one byte, then 4 bits in the first byte and 7 per following byte. */
  varint(value: number | bigint): this {
    let v = BigInt(value);
    if (v < 0n) v = BigInt.asUintN(64, v);
    if (v < 240n) return this.byte(Number(v));
    this.byte(Number((v | 240n) & 0xffn));
    v = (v - 240n) >> 4n;
    while (v >= 128n) {
      this.byte(Number((v | 128n) & 0xffn));
      v = (v - 128n) >> 7n;
    }
    return this.byte(Number(v));
  }

  /** A STRING without its type byte (names, message names): varint length + bytes. */
  str(s: string | Buffer): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return this.varint(b.length).bytes(b);
  }

  typed(v: TypedValue): this {
    switch (v.type) {
      case 'null':
        return this.byte(DataType.NULL);
      case 'bool':
        return this.byte(DataType.BOOL | (v.value ? 0x10 : 0));
      case 'int32':
        return this.byte(DataType.INT32).varint(v.value);
      case 'uint32':
        return this.byte(DataType.UINT32).varint(v.value);
      case 'int64':
        return this.byte(DataType.INT64).varint(v.value);
      case 'uint64':
        return this.byte(DataType.UINT64).varint(v.value);
      case 'ipv4':
        return this.byte(DataType.IPV4).bytes(Buffer.from(v.value.split('.').map(Number)));
      case 'ipv6':
        return this.byte(DataType.IPV6).bytes(ipv6Bytes(v.value));
      case 'string':
        return this.byte(DataType.STRING).str(v.value);
      case 'binary':
        return this.byte(DataType.BINARY).str(v.value);
    }
  }

  done(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

function ipv6Bytes(text: string): Buffer {
  const words = new Uint32Array(4);
  if (!parseV6(text, words)) throw new SpopError(Status.INVALID, `"${text}" is not an IPv6 address`);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeUInt32BE(words[i]!, i * 4);
  return out;
}

function ipv6Text(b: Buffer): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i).toString(16));
  // The longest run of zeros becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === -1) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** Reads a frame's payload. Throws SpopError(INVALID) on a short or bad encoding. */
export class Reader {
  readonly #b: Buffer;
  #i: number;

  constructor(b: Buffer, offset = 0) {
    this.#b = b;
    this.#i = offset;
  }

  get done(): boolean {
    return this.#i >= this.#b.length;
  }

  get offset(): number {
    return this.#i;
  }

  byte(): number {
    if (this.#i >= this.#b.length) throw new SpopError(Status.INVALID, 'truncated frame');
    return this.#b[this.#i++]!;
  }

  u32(): number {
    if (this.#i + 4 > this.#b.length) throw new SpopError(Status.INVALID, 'truncated frame');
    const v = this.#b.readUInt32BE(this.#i);
    this.#i += 4;
    return v;
  }

  varint(): bigint {
    let b = this.byte();
    let v = BigInt(b);
    if (b < 240) return v;
    let shift = 4n;
    do {
      b = this.byte();
      v += BigInt(b) << shift;
      shift += 7n;
      if (shift > 70n) throw new SpopError(Status.INVALID, 'varint too long');
    } while (b >= 128);
    return v;
  }

  bytes(n: number): Buffer {
    if (this.#i + n > this.#b.length) throw new SpopError(Status.INVALID, 'truncated frame');
    const out = this.#b.subarray(this.#i, this.#i + n);
    this.#i += n;
    return out;
  }

  str(): string {
    return this.bytes(Number(this.varint())).toString('utf8');
  }

  typed(): TypedValue {
    const t = this.byte();
    switch (t & 0x0f) {
      case DataType.NULL:
        return { type: 'null' };
      case DataType.BOOL:
        return { type: 'bool', value: (t & 0x10) !== 0 };
      case DataType.INT32:
        return { type: 'int32', value: BigInt.asIntN(64, this.varint()) };
      case DataType.UINT32:
        return { type: 'uint32', value: this.varint() };
      case DataType.INT64:
        return { type: 'int64', value: BigInt.asIntN(64, this.varint()) };
      case DataType.UINT64:
        return { type: 'uint64', value: this.varint() };
      case DataType.IPV4:
        return { type: 'ipv4', value: [...this.bytes(4)].join('.') };
      case DataType.IPV6:
        return { type: 'ipv6', value: ipv6Text(this.bytes(16)) };
      case DataType.STRING:
        return { type: 'string', value: this.str() };
      case DataType.BINARY:
        return { type: 'binary', value: Buffer.from(this.bytes(Number(this.varint()))) };
      default:
        throw new SpopError(Status.INVALID, `unknown data type ${t & 0x0f}`);
    }
  }

  kvList(): Map<string, TypedValue> {
    const out = new Map<string, TypedValue>();
    while (!this.done) {
      const k = this.str();
      out.set(k, this.typed());
    }
    return out;
  }
}

/** `<length:4><type:1><flags:4><stream-id><frame-id><payload>`. */
export function encodeFrame(type: number, streamId: number, frameId: number, payload: Buffer, flags = FLAG_FIN): Buffer {
  const w = new Writer().u32(0).byte(type).u32(flags).varint(streamId).varint(frameId).bytes(payload);
  const b = w.done();
  b.writeUInt32BE(b.length - 4, 0);
  return Buffer.from(b);
}

/** Decodes one frame body (the bytes after the length). */
export function decodeFrame(body: Buffer): Frame {
  const r = new Reader(body);
  const type = r.byte();
  const flags = r.u32();
  const streamId = Number(r.varint());
  const frameId = Number(r.varint());
  return { type, flags, streamId, frameId, payload: body.subarray(r.offset) };
}

/** Splits a byte stream into frame bodies; refuses frames over `max` bytes. */
export class FrameSplitter {
  #pending: Buffer[] = [];
  #size = 0;
  readonly #max: () => number;

  constructor(max: () => number) {
    this.#max = max;
  }

  push(chunk: Buffer): Buffer[] {
    this.#pending.push(chunk);
    this.#size += chunk.length;
    const out: Buffer[] = [];
    let buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len > this.#max()) throw new SpopError(Status.TOO_BIG, `frame of ${len} bytes is over max-frame-size ${this.#max()}`);
      if (buf.length - off - 4 < len) break;
      out.push(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    buf = buf.subarray(off);
    this.#pending = buf.length > 0 ? [buf] : [];
    this.#size = buf.length;
    return out;
  }
}

export function kvPayload(items: ReadonlyArray<[string, TypedValue]>): Buffer {
  const w = new Writer();
  for (const [k, v] of items) w.str(k).typed(v);
  return w.done();
}

export interface SpopMessage {
  name: string;
  args: Array<{ name: string; value: TypedValue }>;
}

export function messagesPayload(messages: ReadonlyArray<SpopMessage>): Buffer {
  const w = new Writer();
  for (const m of messages) {
    w.str(m.name).byte(m.args.length);
    for (const a of m.args) w.str(a.name).typed(a.value);
  }
  return w.done();
}

export function decodeMessages(payload: Buffer): SpopMessage[] {
  const r = new Reader(payload);
  const out: SpopMessage[] = [];
  while (!r.done) {
    const name = r.str();
    const n = r.byte();
    const args: SpopMessage['args'] = [];
    for (let i = 0; i < n; i++) args.push({ name: r.str(), value: r.typed() });
    out.push({ name, args });
  }
  return out;
}

export type SpopAction = { action: 'set-var'; scope: VarScope; name: string; value: TypedValue } | { action: 'unset-var'; scope: VarScope; name: string };

/** An ACK's LIST-OF-ACTIONS; malformed or unknown actions end the list, as HAProxy skips them. */
export function decodeActions(payload: Buffer): SpopAction[] {
  const r = new Reader(payload);
  const out: SpopAction[] = [];
  try {
    while (!r.done) {
      const type = r.byte();
      const nb = r.byte();
      if (type === ActionType.SET_VAR && nb === 3) {
        const scope = VAR_SCOPES[r.byte()];
        const name = r.str();
        const value = r.typed();
        if (scope) out.push({ action: 'set-var', scope, name, value });
      } else if (type === ActionType.UNSET_VAR && nb === 2) {
        const scope = VAR_SCOPES[r.byte()];
        const name = r.str();
        if (scope) out.push({ action: 'unset-var', scope, name });
      } else break;
    }
  } catch {
    // a truncated action: the ones before it stand
  }
  return out;
}

export function actionsPayload(actions: ReadonlyArray<SpopAction>): Buffer {
  const w = new Writer();
  for (const a of actions) {
    if (a.action === 'set-var') w.byte(ActionType.SET_VAR).byte(3).byte(VAR_SCOPES.indexOf(a.scope)).str(a.name).typed(a.value);
    else w.byte(ActionType.UNSET_VAR).byte(2).byte(VAR_SCOPES.indexOf(a.scope)).str(a.name);
  }
  return w.done();
}
