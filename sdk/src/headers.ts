/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded.
 * The core builds `exchange.upstream` without them and the forwarders strip them both ways.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer',
  'proxy-authenticate', 'http2-settings',
]);

/** Header names a Connection header lists (lower-case; `close`/`keep-alive` left out), or null. */
export function connectionHeaderTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  let out: Set<string> | null = null;
  for (const t of value.split(',')) {
    const token = t.trim().toLowerCase();
    if (token !== '' && token !== 'close' && token !== 'keep-alive') (out ??= new Set()).add(token);
  }
  return out;
}
