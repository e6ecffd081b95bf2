import type { Socket } from 'node:net';
import { SniErrors } from './errors';

/** Largest ClientHello we wait for (post-quantum key shares make them ~2 KiB; 16 KiB is one full record). */
export const MAX_HELLO = 16 * 1024 + 5;

export interface ClientHelloInfo {
  /** server_name (host_name) from the SNI extension, lower-case, or null. */
  servername: string | null;
  /** ALPN protocols offered, or an empty list. */
  alpn: string[];
  /** legacy_version of the record layer, e.g. 0x0301. */
  recordVersion: number;
}

/**
 * Parses a ClientHello from the bytes a client sent first (RFC 8446 §4.1.2, RFC 6066 §3).
 * Returns 'incomplete' until the whole handshake message is there (it may span records).
 * Throws a coded error when the bytes are not TLS.
 */
export function parseClientHello(buf: Buffer): ClientHelloInfo | 'incomplete' {
  // Reassemble the handshake layer from consecutive handshake records.
  const parts: Buffer[] = [];
  let at = 0;
  let recordVersion = 0;
  let have = 0;
  let need = -1;
  while (true) {
    if (buf.length < at + 5) return 'incomplete';
    if (buf[at] !== 22) throw SniErrors.NOT_TLS(at === 0 ? `first byte 0x${buf[0]!.toString(16)}` : 'a non-handshake record inside the ClientHello');
    if (buf[at + 1] !== 3) throw SniErrors.NOT_TLS(`record version ${buf[at + 1]}.${buf[at + 2]}`);
    if (at === 0) recordVersion = buf.readUInt16BE(1);
    const len = buf.readUInt16BE(at + 3);
    if (len === 0 || len > 16384 + 2048) throw SniErrors.NOT_TLS(`record length ${len}`);
    if (buf.length < at + 5 + len) return 'incomplete';
    parts.push(buf.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need === -1) {
      const first = parts[0]!;
      if (first.length < 4) {
        if (have >= 4) {
          const joined = Buffer.concat(parts);
          if (joined[0] !== 1) throw SniErrors.NOT_TLS('first handshake message is not a ClientHello');
          need = 4 + joined.readUIntBE(1, 3);
        }
      } else {
        if (first[0] !== 1) throw SniErrors.NOT_TLS('first handshake message is not a ClientHello');
        need = 4 + first.readUIntBE(1, 3);
      }
      if (need > MAX_HELLO) throw SniErrors.NOT_TLS(`ClientHello of ${need} bytes`);
    }
    if (need !== -1 && have >= need) break;
  }
  const hs = Buffer.concat(parts).subarray(4, need);
  return { ...readHelloBody(hs), recordVersion };
}

function readHelloBody(b: Buffer): { servername: string | null; alpn: string[] } {
  let p = 2 + 32; // client_version, random
  const need = (n: number): void => {
    if (p + n > b.length) throw SniErrors.NOT_TLS('truncated ClientHello');
  };
  need(1);
  p += 1 + b[p]!; // session_id
  need(2);
  p += 2 + b.readUInt16BE(p); // cipher_suites
  need(1);
  p += 1 + b[p]!; // compression_methods
  let servername: string | null = null;
  const alpn: string[] = [];
  if (p + 2 > b.length) return { servername, alpn }; // no extensions
  const extEnd = p + 2 + b.readUInt16BE(p);
  p += 2;
  if (extEnd > b.length) throw SniErrors.NOT_TLS('truncated extensions');
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const body = b.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if (p > extEnd) throw SniErrors.NOT_TLS('truncated extension');
    if (type === 0 && body.length >= 2) {
      // server_name_list: name_type(1) length(2) name
      let q = 2;
      const listEnd = Math.min(body.length, 2 + body.readUInt16BE(0));
      while (q + 3 <= listEnd) {
        const nameType = body[q]!;
        const nameLen = body.readUInt16BE(q + 1);
        if (nameType === 0 && q + 3 + nameLen <= listEnd) {
          const name = body.toString('latin1', q + 3, q + 3 + nameLen);
          // A host name: letters, digits, hyphens, dots (RFC 6066 §3). Anything else is ignored.
          if (/^[A-Za-z0-9._-]{1,253}$/.test(name)) servername = name.toLowerCase().replace(/\.$/, '');
          break;
        }
        q += 3 + nameLen;
      }
    } else if (type === 16 && body.length >= 2) {
      let q = 2;
      const listEnd = Math.min(body.length, 2 + body.readUInt16BE(0));
      while (q < listEnd) {
        const l = body[q]!;
        if (q + 1 + l > listEnd) break;
        alpn.push(body.toString('latin1', q + 1, q + 1 + l));
        q += 1 + l;
      }
    }
  }
  return { servername, alpn };
}

/**
 * Reads the client's first bytes until a whole ClientHello is in, without answering.
 * Resolves with what it found and every byte read (to be sent to the server first).
 */
export function peekClientHello(socket: Socket, timeoutMs: number): Promise<{ hello: ClientHelloInfo; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, hello?: ClientHelloInfo): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err);
      else resolve({ hello: hello!, bytes: buf });
    };
    const onEnd = (): void => finish(SniErrors.NOT_TLS('connection closed before the ClientHello was complete'));
    const onReadable = (): void => {
      for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) {
        buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
        let r: ClientHelloInfo | 'incomplete';
        try {
          r = parseClientHello(buf);
        } catch (err) {
          return finish(err as Error);
        }
        if (r !== 'incomplete') return finish(null, r);
        if (buf.length > MAX_HELLO + 5 * 4) return finish(SniErrors.NOT_TLS('ClientHello too large'));
      }
    };
    const timer = setTimeout(() => finish(SniErrors.TIMEOUT(timeoutMs)), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    onReadable();
  });
}
