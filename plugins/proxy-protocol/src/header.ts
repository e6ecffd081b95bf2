import * as net from 'node:net';
import { ProxyProtocolErrors } from './errors';

/** The 12-byte signature that starts a v2 header. */
export const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v1 headers are at most 107 bytes (spec §2.1). */
const V1_MAX = 107;
/** Our limit for a v2 header with its TLVs (the spec allows 64 KiB; nobody sends that). */
export const V2_MAX = 16 + 2048;

export interface ProxyAddresses {
  family: 'tcp4' | 'tcp6';
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** 'local' (v2 LOCAL, v1 UNKNOWN): a health check from the proxy itself; keep the real addresses. */
  command: 'proxy' | 'local';
  addresses: ProxyAddresses | null;
  /** v2 TLVs, type → value. */
  tlvs: Map<number, Buffer>;
}

export type ParseResult = { header: ProxyHeader; length: number } | 'incomplete';

function bad(why: string): never {
  throw ProxyProtocolErrors.BAD_HEADER(why);
}

function parsePort(s: string): number {
  if (!/^\d{1,5}$/.test(s)) bad(`port "${s}"`);
  const n = Number(s);
  if (n > 65535) bad(`port ${n}`);
  return n;
}

function parseV1(buf: Buffer): ParseResult {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (buf.length >= V1_MAX) bad('v1 line longer than 107 bytes');
    return 'incomplete';
  }
  if (end + 2 > V1_MAX) bad('v1 line longer than 107 bytes');
  const parts = buf.toString('latin1', 0, end).split(' ');
  const proto = parts[1];
  if (proto === 'UNKNOWN') return { header: { version: 1, command: 'local', addresses: null, tlvs: new Map() }, length: end + 2 };
  if (parts.length !== 6 || (proto !== 'TCP4' && proto !== 'TCP6')) bad(`v1 "${buf.toString('latin1', 0, end).slice(0, 60)}"`);
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const check = proto === 'TCP4' ? net.isIPv4 : net.isIPv6;
  if (!check(src) || !check(dst)) bad(`v1 addresses for ${proto}`);
  return {
    header: {
      version: 1,
      command: 'proxy',
      addresses: { family: proto === 'TCP4' ? 'tcp4' : 'tcp6', sourceAddress: src, sourcePort: parsePort(sport), destinationAddress: dst, destinationPort: parsePort(dport) },
      tlvs: new Map(),
    },
    length: end + 2,
  };
}

function ipv6(buf: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i).toString(16));
  // Canonical form through the URL parser (compresses zero runs).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function parseV2(buf: Buffer): ParseResult {
  if (buf.length < 16) return 'incomplete';
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) bad(`v2 version ${verCmd >> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) bad(`v2 command ${cmd}`);
  const fam = buf[13]!;
  const len = buf.readUInt16BE(14);
  if (16 + len > V2_MAX) bad(`v2 header of ${len} bytes`);
  if (buf.length < 16 + len) return 'incomplete';
  const body = buf.subarray(16, 16 + len);
  let addresses: ProxyAddresses | null = null;
  let tlvAt = 0;
  if (fam === 0x11 || fam === 0x12) {
    if (len < 12) bad('v2 INET block too short');
    addresses = {
      family: 'tcp4',
      sourceAddress: `${body[0]}.${body[1]}.${body[2]}.${body[3]}`,
      destinationAddress: `${body[4]}.${body[5]}.${body[6]}.${body[7]}`,
      sourcePort: body.readUInt16BE(8),
      destinationPort: body.readUInt16BE(10),
    };
    tlvAt = 12;
  } else if (fam === 0x21 || fam === 0x22) {
    if (len < 36) bad('v2 INET6 block too short');
    addresses = { family: 'tcp6', sourceAddress: ipv6(body, 0), destinationAddress: ipv6(body, 16), sourcePort: body.readUInt16BE(32), destinationPort: body.readUInt16BE(34) };
    tlvAt = 36;
  } else if (fam === 0x31 || fam === 0x32) {
    tlvAt = Math.min(len, 216);
  } else if (fam !== 0x00) {
    bad(`v2 family 0x${fam.toString(16)}`);
  }
  const tlvs = new Map<number, Buffer>();
  while (tlvAt + 3 <= len) {
    const type = body[tlvAt]!;
    const l = body.readUInt16BE(tlvAt + 1);
    if (tlvAt + 3 + l > len) bad('v2 TLV past the end');
    tlvs.set(type, body.subarray(tlvAt + 3, tlvAt + 3 + l));
    tlvAt += 3 + l;
  }
  const local = cmd === 0 || addresses === null;
  return { header: { version: 2, command: local ? 'local' : 'proxy', addresses: local ? null : addresses, tlvs }, length: 16 + len };
}

/** Parses a PROXY header (v1 or v2) at the start of `buf`; throws a coded error when it is not one. */
export function parseProxyHeader(buf: Buffer): ParseResult {
  if (buf.length === 0) return 'incomplete';
  if (buf[0] === 0x50 /* P */) {
    const n = Math.min(buf.length, V1_PREFIX.length);
    if (!buf.subarray(0, n).equals(V1_PREFIX.subarray(0, n))) bad('no PROXY signature');
    return n < V1_PREFIX.length ? 'incomplete' : parseV1(buf);
  }
  if (buf[0] === 0x0d) {
    const n = Math.min(buf.length, 12);
    if (!buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n))) bad('no PROXY signature');
    return n < 12 ? 'incomplete' : parseV2(buf);
  }
  return bad('no PROXY signature');
}

function v4Mapped(a: string): string {
  return `::ffff:${a}`;
}

/** Encodes a header for the given addresses; mixed families are sent as IPv6 (v4-mapped). */
export function encodeProxyHeader(version: 1 | 2, a: { sourceAddress: string; sourcePort: number; destinationAddress: string; destinationPort: number } | null): Buffer {
  let src = a?.sourceAddress ?? '';
  let dst = a?.destinationAddress ?? '';
  const v4 = a !== null && net.isIPv4(src) && net.isIPv4(dst);
  const v6 = a !== null && !v4 && (net.isIPv4(src) || net.isIPv6(src)) && (net.isIPv4(dst) || net.isIPv6(dst));
  if (v6) {
    if (net.isIPv4(src)) src = v4Mapped(src);
    if (net.isIPv4(dst)) dst = v4Mapped(dst);
  }
  if (version === 1) {
    if (!v4 && !v6) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    return Buffer.from(`PROXY ${v4 ? 'TCP4' : 'TCP6'} ${src} ${dst} ${a!.sourcePort} ${a!.destinationPort}\r\n`, 'latin1');
  }
  if (!v4 && !v6) return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const addrLen = v4 ? 12 : 36;
  const out = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21;
  out[13] = v4 ? 0x11 : 0x21;
  out.writeUInt16BE(addrLen, 14);
  if (v4) {
    src.split('.').forEach((o, i) => (out[16 + i] = Number(o)));
    dst.split('.').forEach((o, i) => (out[20 + i] = Number(o)));
    out.writeUInt16BE(a!.sourcePort, 24);
    out.writeUInt16BE(a!.destinationPort, 26);
  } else {
    writeIpv6(out, 16, src);
    writeIpv6(out, 32, dst);
    out.writeUInt16BE(a!.sourcePort, 48);
    out.writeUInt16BE(a!.destinationPort, 50);
  }
  return out;
}

function writeIpv6(out: Buffer, at: number, addr: string): void {
  let text = addr;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const o = dotted[1]!.split('.').map(Number);
    text = text.slice(0, -dotted[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail === null ? [] : tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), at + i * 2));
}

/**
 * Reads a PROXY header off a fresh socket without consuming anything after it: the bytes
 * past the header are put back (unshift) for whoever reads next (TLS, HTTP, TCP).
 */
export function readProxyHeader(socket: net.Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (err: Error | null, header?: ProxyHeader, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) return reject(err);
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(header!);
    };
    const onEnd = (): void => done(ProxyProtocolErrors.BAD_HEADER('connection closed before the header'));
    const onReadable = (): void => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        let result: ParseResult;
        try {
          result = parseProxyHeader(buf);
        } catch (err) {
          return done(err as Error);
        }
        if (result !== 'incomplete') return done(null, result.header, buf.subarray(result.length));
        if (buf.length > V2_MAX) return done(ProxyProtocolErrors.BAD_HEADER('header too long'));
      }
    };
    const timer = setTimeout(() => done(ProxyProtocolErrors.TIMEOUT(timeoutMs)), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}
