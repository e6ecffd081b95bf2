import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import Negotiator from 'negotiator';
import { haproxyDecision, haproxyRewrite, typePrefixes } from './haproxy-rules';
import type { FrontendState, HttpExchange, ResponseHead } from '@switchyard/sdk';
import type { CompressionConfig, Encoding } from './schema';

export type { CompressionConfig, Encoding };

/** Media-type matching compiled once: exact names, `type/*` wildcards and `+suffix` structured syntaxes. */
class TypeMatcher {
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #suffixes: string[] = [];

  constructor(types: ReadonlyArray<string>) {
    for (const raw of types) {
      const t = raw.trim().toLowerCase();
      if (t.endsWith('/*')) this.#prefixes.push(t.slice(0, -1));
      else if (t.startsWith('+')) this.#suffixes.push(t);
      else this.#exact.add(t);
    }
  }

  matches(contentType: string): boolean {
    const semi = contentType.indexOf(';');
    const t = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    // zlib holds small writes back: an event stream would reach the client late.
    if (t === 'text/event-stream') return false;
    if (this.#exact.has(t)) return true;
    for (const p of this.#prefixes) if (t.startsWith(p)) return true;
    for (const s of this.#suffixes) if (t.endsWith(s)) return true;
    return false;
  }
}

const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i;
const ACCEPT_ENCODING = /(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i;

/** negotiator 1.x takes a server preference order; its published types predate it. */
interface NegotiatorWithPreference {
  encoding(available: string[], options: { preferred: string[] }): string | undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Compresses response bodies on their way to the client (a zlib stream pushed into the
 * response head's transforms), choosing the encoding from the client's Accept-Encoding.
 */
export class ResponseCompressor {
  readonly #config: CompressionConfig;
  readonly #types: TypeMatcher;
  readonly #frontends: ReadonlySet<FrontendState>;
  readonly #available: string[];
  /** rules: haproxy — the `compression type` prefixes (null: every type). */
  readonly #prefixes: string[] | null | undefined;

  constructor(config: CompressionConfig, frontends: ReadonlySet<FrontendState>) {
    this.#config = config;
    this.#types = new TypeMatcher(config.types);
    this.#frontends = frontends;
    this.#available = [...config.encodings];
    this.#prefixes = config.rules === 'haproxy' ? (config.types.length === 0 ? null : typePrefixes(config.types)) : undefined;
  }

  respond(head: ResponseHead, ex: HttpExchange): ResponseHead {
    if (!this.#frontends.has(ex.frontend)) return head;
    if (this.#prefixes !== undefined) return this.#haproxy(head, ex, this.#prefixes);
    const status = head.statusCode;
    if (status < 200 || status === 204 || status === 206 || status === 304) return head;
    const h = head.headers;
    const contentType = first(h['content-type']);
    if (contentType === undefined || !this.#types.matches(contentType)) return head;
    const cacheControl = first(h['cache-control']);
    if (cacheControl !== undefined && NO_TRANSFORM.test(cacheControl)) return head;
    const existing = first(h['content-encoding']);
    if (existing !== undefined && existing.trim().toLowerCase() !== 'identity') return head;
    // From here the representation depends on Accept-Encoding, whatever this client sent.
    const vary = first(h.vary);
    if (vary === undefined || vary.trim() === '') h.vary = 'Accept-Encoding';
    else if (!ACCEPT_ENCODING.test(vary)) h.vary = vary + ', Accept-Encoding';
    if (ex.method === 'HEAD' || ex.headers.range !== undefined) return head;
    const length = first(h['content-length']);
    if (length !== undefined && Number(length) < this.#config.minSize) return head;
    const accept = ex.headers['accept-encoding'];
    if (accept === undefined || accept === '') return head;
    const negotiator = new Negotiator({ headers: ex.headers }) as unknown as NegotiatorWithPreference;
    const chosen = negotiator.encoding(this.#available, { preferred: this.#available }) as Encoding | 'identity' | undefined;
    if (chosen === undefined || chosen === 'identity') return head;
    const stream = this.#stream(chosen, length === undefined ? undefined : Number(length));
    h['content-encoding'] = chosen;
    delete h['content-length'];
    delete h['accept-ranges'];
    const etag = first(h.etag);
    if (etag !== undefined && !etag.startsWith('W/')) h.etag = 'W/' + etag;
    head.transforms.push(stream);
    return head;
  }

  #haproxy(head: ResponseHead, ex: HttpExchange, prefixes: string[] | null): ResponseHead {
    const encoding = haproxyDecision(head, ex, this.#config.encodings, prefixes);
    if (encoding === undefined) return head;
    const length = first(head.headers['content-length']);
    if (length !== undefined && Number(length) < this.#config.minSize) return head;
    haproxyRewrite(head, encoding);
    head.transforms.push(this.#stream(encoding, length === undefined ? undefined : Number(length)));
    return head;
  }

  #stream(encoding: Encoding, sizeHint: number | undefined): Transform {
    const { level, brotliQuality } = this.#config;
    switch (encoding) {
      case 'br':
        return zlib.createBrotliCompress({
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality,
            ...(sizeHint === undefined ? {} : { [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint }),
          },
        });
      case 'gzip':
        return zlib.createGzip({ level });
      case 'deflate':
        return zlib.createDeflate({ level });
    }
  }
}
