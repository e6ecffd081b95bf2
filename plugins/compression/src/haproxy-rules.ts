import type { HttpExchange, ResponseHead } from '@switchyard/sdk';
import type { Encoding } from './compressor';

/**
 * HAProxy 2.6's choice of whether and how to compress (flt_http_comp.c), for configs adapted
 * from haproxy.cfg (`rules: haproxy`):
 *
 * - none for old browsers (a User-Agent "Mozilla/4…" that is not MSIE 6 SV1 or MSIE 7+);
 * - the algorithm: each Accept-Encoding token in order, the highest q-value winning (the first
 *   on a tie), matched against the configured algorithms in their order (`*` takes the first);
 * - no compression of HTTP/1.0 requests, HEAD, statuses other than 200–203, a response that
 *   already has a Content-Encoding, `Cache-Control: no-transform`, a malformed ETag or several
 *   ETags, multipart types, or a Content-Type that is not a prefix match of a configured type
 *   (none given: every type; no Content-Type but types given: none);
 * - when compressing: Content-Encoding set, Content-Length removed, a strong ETag made weak,
 *   and `Vary: Accept-Encoding` added — only then (HAProxy adds no Vary otherwise).
 */

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

function all(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** HAProxy's http_parse_qvalue: "1", "1.000", "0.5" → 0..1000. */
function qvalue(s: string): number {
  const m = /^\s*([01])(?:\.(\d{0,3}))?/.exec(s);
  if (!m) return 0;
  if (m[1] === '1') return 1000;
  return Number(((m[2] ?? '') + '000').slice(0, 3));
}

/** The algorithm HAProxy picks from the request's Accept-Encoding, or undefined. */
export function haproxyAlgorithm(acceptEncoding: string | string[] | undefined, algos: ReadonlyArray<Encoding>): Encoding | undefined {
  let best = 0;
  let chosen: Encoding | undefined;
  for (const header of all(acceptEncoding)) {
    for (const raw of header.split(',')) {
      const value = raw.trim();
      if (value === '') continue;
      const token = TOKEN.exec(value)?.[0] ?? '';
      const qm = /;\s*q=([^;]*)/i.exec(value.slice(token.length));
      const q = qm ? qvalue(qm[1]!) : 1000;
      if (q <= best) continue;
      const hit = value.startsWith('*') ? algos[0] : algos.find((a) => a === token.toLowerCase());
      if (hit !== undefined) {
        chosen = hit;
        best = q;
      }
    }
  }
  return chosen;
}

/** HAProxy's http_get_etag_type: strong `"…"`, weak `W/"…"`, anything else invalid. */
function validEtag(v: string): boolean {
  const t = v.trim();
  const quoted = (s: string): boolean => s.length >= 2 && s.startsWith('"') && s.endsWith('"');
  return quoted(t) || (t.startsWith('W/') && quoted(t.slice(2)));
}

/** Prefix matchers of `compression type` (HAProxy compares each as a prefix of the Content-Type). */
export function typePrefixes(types: ReadonlyArray<string>): string[] {
  return types.map((t) => t.toLowerCase().replace(/\*$/, ''));
}

/** The encoding to apply to this response as HAProxy would, or undefined to leave it. */
/**
 * HAProxy's old-browser rule: no compression for a User-Agent starting "Mozilla/4" unless it
 * is MSIE 6 with "SV1" (XP SP2) or MSIE 7 and later.
 */
function oldBrowser(ua: string | string[] | undefined): boolean {
  const v = all(ua)[0];
  if (v === undefined || v.length < 9 || !v.startsWith('Mozilla/4')) return false;
  if (v.length < 31 || v.slice(25, 30) !== 'MSIE ') return true;
  const major = v.charAt(30);
  if (major < '6') return true;
  return major === '6' && (v.length < 54 || v.slice(51, 54) !== 'SV1');
}

export function haproxyDecision(head: ResponseHead, ex: HttpExchange, algos: ReadonlyArray<Encoding>, prefixes: ReadonlyArray<string> | null): Encoding | undefined {
  if (oldBrowser(ex.headers['user-agent'])) return undefined;
  const algo = haproxyAlgorithm(ex.headers['accept-encoding'], algos);
  if (algo === undefined) return undefined;
  if (ex.httpVersion === '1.0' || ex.httpVersion === '0.9') return undefined;
  if (ex.method === 'HEAD') return undefined;
  const status = head.statusCode;
  if (status < 200 || status > 203) return undefined;
  const h = head.headers;
  if (h['content-encoding'] !== undefined) return undefined;
  for (const cc of all(h['cache-control'])) if (/(?:^|[\s,])no-transform(?:$|[\s,])/i.test(cc)) return undefined;
  const etags = all(h.etag).flatMap((v) => v.split(',').filter((x) => x.trim() !== ''));
  if (etags.length > 1) return undefined;
  if (etags.length === 1 && !validEtag(etags[0]!)) return undefined;
  const types = all(h['content-type']);
  if (types.length > 0) {
    const ct = types[0]!.toLowerCase();
    if (ct.startsWith('multipart')) return undefined;
    if (prefixes !== null && !prefixes.some((p) => ct.startsWith(p))) return undefined;
  } else if (prefixes !== null) return undefined;
  return algo;
}

/** The head changes HAProxy makes when it compresses (set_compression_response_header). */
export function haproxyRewrite(head: ResponseHead, encoding: Encoding): void {
  const h = head.headers;
  h['content-encoding'] = encoding;
  delete h['content-length'];
  const etag = all(h.etag)[0];
  if (etag !== undefined && etag.trimStart().startsWith('"')) h.etag = 'W/' + etag.trim();
  const vary = all(h.vary);
  h.vary = vary.length === 0 ? 'Accept-Encoding' : [...vary, 'Accept-Encoding'];
}
