import type { IncomingHttpHeaders } from 'node:http';

function opaque(tag: string): string {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

/**
 * Whether a client's conditional GET/HEAD is satisfied by a stored response, so the
 * answer is 304 (RFC 9110 §13.1.2 weak comparison for If-None-Match; If-Modified-Since
 * only when there is no If-None-Match).
 */
export function notModified(req: IncomingHttpHeaders, headers: Record<string, string | string[]>): boolean {
  const inm = req['if-none-match'];
  if (inm !== undefined) {
    const etag = headers.etag;
    if (typeof etag !== 'string') return false;
    if (inm.trim() === '*') return true;
    const mine = opaque(etag);
    for (const tag of inm.split(',')) if (opaque(tag) === mine) return true;
    return false;
  }
  const ims = req['if-modified-since'];
  const lm = headers['last-modified'];
  if (ims === undefined || typeof lm !== 'string') return false;
  const since = Date.parse(ims);
  const modified = Date.parse(lm);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/** Headers a 304 carries (RFC 9110 §15.4.5): the stored ones minus the representation's framing. */
export function notModifiedHeaders(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (name === 'content-length' || name === 'content-type' || name === 'content-encoding' || name === 'content-range') continue;
    out[name] = headers[name]!;
  }
  return out;
}
