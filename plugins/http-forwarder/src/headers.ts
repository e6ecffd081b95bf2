import { connectionHeaderTokens, HOP_BY_HOP_HEADERS } from '@switchyard/sdk';

/** Never forwarded in either direction: hop-by-hop headers, plus `expect` (answered by the gateway). */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS, 'expect']);
/** A longer name can't be hop-by-hop: no need to lower-case it to look it up. */
const HOP_BY_HOP_MAX = Math.max(...[...HOP_BY_HOP].map((n) => n.length));
const connectionTokens = connectionHeaderTokens;

/**
 * Client raw headers → the flat [name, value, …] list undici takes, without hop-by-hop
 * headers and those the Connection header names. No object is built on this path.
 */
export function requestHeaderList(raw: ReadonlyArray<string>): string[] {
  let named: Set<string> | null = null;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length <= HOP_BY_HOP_MAX && HOP_BY_HOP.has(name.toLowerCase())) {
      if (name.length === 10 && name.toLowerCase() === 'connection') {
        const tokens = connectionTokens(raw[i + 1]!);
        if (tokens !== null) {
          if (named === null) named = tokens;
          else for (const t of tokens) named.add(t);
        }
      }
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (named === null) return out;
  // Headers the Connection header names (rare) are hop-by-hop too.
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

export function requestHeaderObjectToList(headers: Record<string, string | string[]>): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const v = headers[name]!;
    if (HOP_BY_HOP.has(name)) continue;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, v);
  }
  return out;
}

/**
 * Server raw headers (Buffers from undici) → a flat list for res.writeHead, without
 * hop-by-hop headers: Node frames the body to the client itself. One pass: headers that a
 * Connection header names (rare) are filtered out afterwards, only when there are any.
 */
/** Header names and values come as strings (llhttp) or Buffers (undici). */
export function latin1(x: Buffer | string): string {
  return typeof x === 'string' ? x : x.toString('latin1');
}

export function responseHeaderList(raw: ReadonlyArray<Buffer | string>): string[] {
  let named: Set<string> | null = null;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    if (name.length <= HOP_BY_HOP_MAX && HOP_BY_HOP.has(name.toLowerCase())) {
      if (name.length === 10 && name.toLowerCase() === 'connection') {
        const tokens = connectionTokens(latin1(raw[i + 1]!));
        if (tokens !== null) {
          if (named === null) named = tokens;
          else for (const t of tokens) named.add(t);
        }
      }
      continue;
    }
    out.push(name, latin1(raw[i + 1]!));
  }
  if (named === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

export function listToObject(list: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    const value = list[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

export function objectToList(headers: Record<string, string | string[]>): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const v = headers[name]!;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, v);
  }
  return out;
}
