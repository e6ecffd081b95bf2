import { cookieValue, type Exchange, type FetchDefinition, type FetchValue, type HttpExchange, type ResponseHead } from '@switchyard/sdk';
import { INSPECTING, RESPONSE_VAR } from './types';

type Reader = (ex: Exchange) => FetchValue;

/** Request headers as rules see them: after earlier set-header rules, if any ran. */
function headerValue(ex: HttpExchange, name: string): string | string[] | undefined {
  return ex.upstreamTouched ? ex.upstream.headers[name] : ex.headers[name];
}

function urlOf(ex: HttpExchange): string {
  return ex.upstreamTouched ? ex.upstream.path : ex.url;
}

function pathOf(ex: HttpExchange): string {
  if (!ex.upstreamTouched) return ex.path;
  const u = ex.upstream.path;
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/** HAProxy's hdr(): every value, split at commas (req.fhdr keeps full values). */
function splitValues(v: string | string[] | undefined): FetchValue {
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    if (v.indexOf(',') === -1) return v.trim();
    return v.split(',').map((s) => s.trim());
  }
  const out: string[] = [];
  for (const x of v) for (const s of x.split(',')) out.push(s.trim());
  return out;
}

function fullValues(v: string | string[] | undefined): FetchValue {
  return v;
}

/** Host without port, lower-case; `[::1]:8080` → `::1`. */
export function hostWithoutPort(host: string): string {
  let h = host;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end === -1 ? h : h.slice(1, end);
  } else {
    const colon = h.lastIndexOf(':');
    if (colon !== -1 && h.indexOf(':') === colon) h = h.slice(0, colon);
  }
  return h.toLowerCase();
}

function queryOf(url: string): string | undefined {
  const q = url.indexOf('?');
  return q === -1 ? undefined : url.slice(q + 1);
}

function urlParam(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  let i = q + 1;
  while (i <= url.length) {
    let amp = url.indexOf('&', i);
    if (amp === -1) amp = url.length;
    const eq = url.indexOf('=', i);
    if (eq !== -1 && eq < amp) {
      if (eq - i === name.length && url.startsWith(name, i)) return url.slice(eq + 1, amp);
    } else if (amp - i === name.length && url.startsWith(name, i)) {
      return '';
    }
    i = amp + 1;
  }
  return undefined;
}

function responseOf(ex: Exchange): ResponseHead | undefined {
  return ex.kind === 'http' ? (ex.vars.get(RESPONSE_VAR) as ResponseHead | undefined) : undefined;
}

function httpVersion(ex: HttpExchange): string {
  const v = ex.httpVersion;
  return v === '2.0' || v === '2' ? '2.0' : v;
}

function countValues(v: FetchValue | string | string[] | undefined): number {
  return v === undefined || v === null ? 0 : Array.isArray(v) ? v.length : 1;
}

const http = (read: (ex: HttpExchange) => FetchValue): Reader => (ex) => (ex.kind === 'http' ? read(ex) : undefined);

function needArg(name: string, arg: string | undefined): string {
  if (arg === undefined || arg.trim() === '') throw new Error(`${name}(<name>) needs an argument`);
  return arg.trim();
}

function def(
  description: string,
  arg: FetchDefinition['arg'],
  modes: FetchDefinition['modes'],
  compile: (arg: string | undefined) => Reader,
): FetchDefinition {
  return Object.freeze({ description, arg, modes, compile });
}

const both = ['http', 'tcp'] as const;
const httpOnly = ['http'] as const;

/**
 * The fetches this plugin registers in the `fetch` slot. Other plugins (hash balancing,
 * rate limits, log formats) look them up by name.
 */
export const FETCHES: Readonly<Record<string, FetchDefinition>> = Object.freeze({
  src: def('Client address (after PROXY protocol), IPv4 or IPv6 text.', 'none', both, () => (ex) => ex.clientAddress),
  src_port: def('Client port.', 'none', both, () => (ex) => ex.clientPort),
  dst: def('Local address the client connected to.', 'none', both, () => (ex) => ex.connection.localAddress),
  dst_port: def('Local port the client connected to.', 'none', both, () => (ex) => ex.connection.localPort),
  method: def('Request method (after set-method rules).', 'none', httpOnly, () => http((ex) => (ex.upstreamTouched ? ex.upstream.method : ex.method))),
  path: def('Request path without the query (after set-path rules).', 'none', httpOnly, () => http(pathOf)),
  url: def('Request target in origin form: path and query.', 'none', httpOnly, () => http(urlOf)),
  query: def('Query string without "?"; absent when the target has none.', 'none', httpOnly, () => http((ex) => queryOf(urlOf(ex)))),
  url_param: def('Value of the first query parameter of that name (not decoded).', 'required', httpOnly, (arg) => {
    const name = needArg('url_param', arg);
    return http((ex) => urlParam(urlOf(ex), name));
  }),
  hdr: def('Values of a request header, split at commas (HAProxy hdr()).', 'required', httpOnly, (arg) => {
    const name = needArg('hdr', arg).toLowerCase();
    return http((ex) => splitValues(headerValue(ex, name)));
  }),
  'req.hdr': def('Same as hdr(name).', 'required', httpOnly, (arg) => {
    const name = needArg('req.hdr', arg).toLowerCase();
    return http((ex) => splitValues(headerValue(ex, name)));
  }),
  'req.fhdr': def('Full values of a request header, not split at commas.', 'required', httpOnly, (arg) => {
    const name = needArg('req.fhdr', arg).toLowerCase();
    return http((ex) => fullValues(headerValue(ex, name)));
  }),
  host: def('Request host (Host header or absolute target), lower-case, without port.', 'none', httpOnly, () =>
    http((ex) => {
      const h = ex.upstreamTouched ? ex.upstream.headers.host : ex.host;
      const v = Array.isArray(h) ? h[0] : h;
      return v === undefined || v === '' ? undefined : hostWithoutPort(v);
    }),
  ),
  base: def('Host header value followed by the path (HAProxy base).', 'none', httpOnly, () =>
    http((ex) => {
      const h = headerValue(ex, 'host');
      return `${Array.isArray(h) ? (h[0] ?? '') : (h ?? '')}${pathOf(ex)}`;
    }),
  ),
  cookie: def('Value of a request cookie.', 'required', httpOnly, (arg) => {
    const name = needArg('cookie', arg);
    return http((ex) => cookieValue(headerValue(ex, 'cookie'), name));
  }),
  'req.cook': def('Same as cookie(name).', 'required', httpOnly, (arg) => {
    const name = needArg('req.cook', arg);
    return http((ex) => cookieValue(headerValue(ex, 'cookie'), name));
  }),
  ssl_fc: def('True when the client connection is TLS terminated here.', 'none', both, () => (ex) => ex.connection.tls !== null),
  ssl_fc_sni: def('Server name (SNI) the client sent in a TLS connection terminated here (plugin-tls provides the same fetch; its copy wins when loaded).', 'none', both, () => (ex) => ex.connection.tls?.servername ?? undefined),
  'req.len': def('Bytes read from a TCP client so far (content inspection).', 'none', ['tcp'], () => (ex) => {
    if (ex.kind !== 'tcp') return undefined;
    let n = 0;
    for (const b of ex.buffered) n += b.length;
    return n;
  }),
  'req.payload': def('Bytes the TCP client sent, as inspected so far: req.payload(<offset>,<length>), length 0 = up to the end of what is buffered; binary (undefined until that many bytes are in).', 'required', ['tcp'], (arg) => {
    const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(arg ?? '');
    if (!m) throw new Error(`req.payload(${arg ?? ''}): needs <offset>,<length> (two integers, length 0 = to the end)`);
    const offset = Number(m[1]);
    const length = Number(m[2]);
    return (ex) => {
      if (ex.kind !== 'tcp' || ex.buffered.length === 0) return undefined;
      const buf = ex.buffered.length === 1 ? ex.buffered[0]! : Buffer.concat(ex.buffered);
      if (length === 0) return buf.length < offset ? undefined : buf.toString('latin1', offset);
      return buf.length < offset + length ? undefined : buf.toString('latin1', offset, offset + length);
    };
  }),
  wait_end: def('False while tcp-request content inspection still waits for data, true once the inspect-delay has passed (the predefined ACL WAIT_END).', 'none', both, () => (ex) => !ex.connection.data.has(INSPECTING)),
  var: def('A variable set by set-var (name such as txn.user).', 'required', both, (arg) => {
    const name = needArg('var', arg);
    return (ex) => {
      const v = ex.vars.get(name);
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
    };
  }),
  'capture.req.uri': def('The request target as the client sent it (before any rewrite).', 'none', httpOnly, () => http((ex) => ex.url)),
  'capture.req.method': def('The request method as the client sent it.', 'none', httpOnly, () => http((ex) => ex.method)),
  'capture.req.ver': def('The request version as the client sent it: HTTP/1.0, HTTP/1.1, HTTP/2.0.', 'none', httpOnly, () => http((ex) => `HTTP/${httpVersion(ex)}`)),
  'req.ver': def('The request version: 1.0, 1.1 or 2.0.', 'none', httpOnly, () => http((ex) => httpVersion(ex))),
  pathq: def('Path and query (after set-path/set-query rules), without scheme and authority.', 'none', httpOnly, () => http(urlOf)),
  'req.hdr_cnt': def('Number of values of a request header (comma-separated values count one each; 0 when absent).', 'required', httpOnly, (arg) => {
    const name = needArg('req.hdr_cnt', arg).toLowerCase();
    return http((ex) => countValues(splitValues(headerValue(ex, name))));
  }),
  'req.fhdr_cnt': def('Number of lines of a request header (0 when absent).', 'required', httpOnly, (arg) => {
    const name = needArg('req.fhdr_cnt', arg).toLowerCase();
    return http((ex) => countValues(headerValue(ex, name)));
  }),
  str: def('A constant string: str(<text>).', 'required', both, (arg) => {
    const v = arg ?? '';
    return () => v;
  }),
  int: def('A constant integer: int(<n>).', 'required', both, (arg) => {
    if (!/^-?\d+$/.test((arg ?? '').trim())) throw new Error(`int(${arg ?? ''}): not an integer`);
    const v = Number(arg!.trim());
    return () => v;
  }),
  bool: def('A constant boolean: bool(0|1|true|false).', 'required', both, (arg) => {
    const v = /^(1|true)$/i.test((arg ?? '').trim());
    return () => v;
  }),
  always_true: def('Always true.', 'none', both, () => () => true),
  always_false: def('Always false.', 'none', both, () => () => false),
  status: def('Response status code (http-response rules only).', 'none', httpOnly, () => (ex) => responseOf(ex)?.statusCode),
  'res.hdr': def('Values of a response header (http-response rules only).', 'required', httpOnly, (arg) => {
    const name = needArg('res.hdr', arg).toLowerCase();
    return (ex) => splitValues(responseOf(ex)?.headers[name]);
  }),
});

/** Other names people write for the same fetch. */
export const FETCH_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  req_ssl_hello_type: 'req.ssl_hello_type',
  req_ssl_sni: 'req.ssl_sni',
  req_ver: 'req.ver',
  hdr_cnt: 'req.hdr_cnt',
  fhdr_cnt: 'req.fhdr_cnt',
  cook: 'cookie',
  urlp: 'url_param',
  'req.host': 'host',
  'http.host': 'host',
});

/** Match method used when an ACL names none. */
export const DEFAULT_METHOD: Readonly<Record<string, string>> = Object.freeze({
  src: 'ip',
  dst: 'ip',
  src_port: 'int',
  dst_port: 'int',
  'req.len': 'int',
  wait_end: 'bool',
  'req.hdr_cnt': 'int',
  'req.fhdr_cnt': 'int',
  always_true: 'bool',
  always_false: 'bool',
  status: 'int',
  ssl_fc: 'bool',
});
