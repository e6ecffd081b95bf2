/** Headers never forwarded in either direction (RFC 9110 §7.6.1), plus `expect` (answered by the gateway). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer',
  'proxy-authenticate', 'http2-settings', 'expect',
]);

function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  let out: Set<string> | null = null;
  for (const t of value.split(',')) {
    const token = t.trim().toLowerCase();
    if (token !== '' && token !== 'close' && token !== 'keep-alive') (out ??= new Set()).add(token);
  }
  return out;
}

/**
 * Client raw headers → the flat [name, value, …] list undici takes, without hop-by-hop
 * headers and those the Connection header names. No object is built on this path.
 */
export function requestHeaderList(raw: string[], connection: string | undefined): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.length <= 17 ? name.toLowerCase() : name; // longest hop-by-hop name is 17 chars
    if (HOP_BY_HOP.has(lower) || (named !== null && named.has(name.toLowerCase()))) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
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
 * hop-by-hop headers: Node frames the body to the client itself.
 */
export function responseHeaderList(raw: Buffer[]): string[] {
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toString('latin1').toLowerCase() === 'connection') connection = raw[i + 1]!.toString('latin1');
  }
  const named = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named !== null && named.has(lower))) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  return out;
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
