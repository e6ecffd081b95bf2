/**
 * HAProxy's peers protocol, version 2.1 (src/peers.c): the wire format only.
 *
 * A session starts with text lines — the connecting side sends
 * `HAProxyS 2.1\n<remote peer name>\n<local peer name> <pid> <relative pid>\n`, the other
 * answers a status line (`200\n` or an error code) — then both sides exchange binary
 * messages: a class byte, a type byte, and for types >= 128 a length (varint) and a body.
 * Integers in bodies are HAProxy's varints (intencode/intdecode), update ids and expiry
 * delays are 32-bit big-endian.
 */

export const PROTO_NAME = 'HAProxyS';
export const MAJOR = 2;
export const MINOR = 1;

export const CLASS = { CONTROL: 0, ERROR: 1, STICKTABLE: 10 } as const;
export const CONTROL = { RESYNCREQ: 0, RESYNCFINISHED: 1, RESYNCPARTIAL: 2, RESYNCCONFIRM: 3, HEARTBEAT: 4 } as const;
export const ERROR = { PROTOCOL: 0, SIZELIMIT: 1 } as const;
export const STKT = { UPDATE: 0x80, INCUPDATE: 0x81, DEFINE: 0x82, SWITCH: 0x83, ACK: 0x84, UPDATE_TIMED: 0x85, INCUPDATE_TIMED: 0x86 } as const;

export const STATUS = { SUCCESS: 200, TRYAGAIN: 300, ERRPROTO: 501, ERRVERSION: 502, ERRHOST: 503, ERRPEER: 504 } as const;

/** Network key types (PEER_KT_*). */
export const KEY_TYPE = { sint: 2, ipv4: 4, ipv6: 5, str: 6, bin: 7 } as const;

/** Largest message body accepted (HAProxy's buffers are 16 kB). */
export const MAX_BODY = 64 * 1024;

/** HAProxy's intencode: < 240 in one byte; then 4 bits, then 7 bits per byte with bit 7 as "more". */
export function encodeInt(value: number | bigint, out: number[]): void {
  let i = BigInt.asUintN(64, BigInt(value));
  if (i < 240n) {
    out.push(Number(i));
    return;
  }
  out.push(Number((i & 0xffn) | 0xf0n));
  i = (i - 240n) >> 4n;
  while (i >= 128n) {
    out.push(Number((i & 0xffn) | 0x80n));
    i = (i - 128n) >> 7n;
  }
  out.push(Number(i));
}

/** A body being read: decoding past its end throws (a malformed message). */
export class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  int(): number {
    if (this.pos >= this.buf.length) throw new Error('truncated integer');
    let i = BigInt(this.buf[this.pos++]!);
    if (i >= 240n) {
      let shift = 4n;
      let b: number;
      do {
        if (this.pos >= this.buf.length) throw new Error('truncated integer');
        b = this.buf[this.pos++]!;
        i += BigInt(b) << shift;
        shift += 7n;
      } while (b >= 128);
    }
    return Number(BigInt.asUintN(64, i) & 0x1f_ffff_ffff_ffffn);
  }

  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error('truncated u32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('truncated bytes');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** A message with a body: class, type, varint length, body. */
export function message(cls: number, type: number, body: number[] | Buffer): Buffer {
  const head: number[] = [cls, type];
  encodeInt(body.length, head);
  return Buffer.concat([Buffer.from(head), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

export function control(type: number): Buffer {
  return Buffer.from([CLASS.CONTROL, type]);
}

export interface Parsed {
  cls: number;
  type: number;
  body: Buffer | null;
}

/**
 * Splits complete messages off the front of `buf`: returns them and what is left.
 * Throws on a body above MAX_BODY (HAProxy answers that with a size-limit error).
 */
export function parseMessages(buf: Buffer): { messages: Parsed[]; rest: Buffer } {
  const messages: Parsed[] = [];
  let pos = 0;
  for (;;) {
    if (buf.length - pos < 2) break;
    const cls = buf[pos]!;
    const type = buf[pos + 1]!;
    if (type < 0x80) {
      messages.push({ cls, type, body: null });
      pos += 2;
      continue;
    }
    const r = new Reader(buf.subarray(pos + 2));
    let len: number;
    try {
      len = r.int();
    } catch {
      break; // the length itself is not all here yet
    }
    if (len > MAX_BODY) throw new Error(`message of ${len} bytes is above the limit`);
    const start = pos + 2 + r.pos;
    if (buf.length < start + len) break;
    messages.push({ cls, type, body: buf.subarray(start, start + len) });
    pos = start + len;
  }
  return { messages, rest: buf.subarray(pos) };
}

/** IPv4 dotted text ↔ 4 bytes; IPv6 text ↔ 16 bytes. */
export function ipv4Bytes(text: string): Buffer {
  const b = Buffer.alloc(4);
  text.split('.').forEach((p, i) => (b[i] = Number(p) & 0xff));
  return b;
}

export function ipv6Bytes(text: string): Buffer {
  let t = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  let tail: number[] = [];
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    t = t.slice(0, -v4[1]!.length).replace(/:$/, ':0').replace(/::0$/, '::');
    if (t.endsWith(':') && !t.endsWith('::')) t = t.slice(0, -1);
  }
  const [head, rest] = t.includes('::') ? t.split('::') : [t, undefined];
  const h = head ? head.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const groups = rest === undefined ? [...h, ...tail] : [...h, ...new Array(8 - h.length - r.length - tail.length).fill(0), ...r, ...tail];
  const b = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => b.writeUInt16BE(g & 0xffff, i * 2));
  return b;
}

/** 16 bytes → RFC 5952 text (longest run of zero groups as ::, IPv4-mapped as ::ffff:a.b.c.d). */
export function ipv6Text(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(i * 2));
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
