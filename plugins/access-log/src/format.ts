import * as os from 'node:os';
import { FETCH_SLOT, type Exchange, type FetchDefinition, type GatewayApi, type SlotRegistry, type Termination } from '@switchyard/sdk';
import { AccessLogErrors } from './errors';

/** HAProxy's `option httplog` line (no captured headers or cookies). */
export const HTTPLOG = '%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r';
/** HAProxy's `option tcplog` line. */
export const TCPLOG = '%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq';

type Field = (ex: Exchange, ctx: LineContext) => string;

/** Values computed once per line and shared by the fields that need them. */
export interface LineContext {
  /** Total time in ms. */
  ms: number;
  gateway: GatewayApi;
}

const HOSTNAME = os.hostname();
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => (n < 10 ? '0' : '') + n;
const p3 = (n: number): string => (n < 10 ? '00' : n < 100 ? '0' : '') + n;

/** HAProxy's date: `25/Nov/2026:17:09:24.123` (local time). */
export function haproxyDate(ms: number): string {
  const d = new Date(ms);
  return `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${p3(d.getMilliseconds())}`;
}

/** HAProxy's two first characters of the termination state (who ended it, at which step). */
const TERMINATION: Record<Termination, string> = {
  ok: '--',
  local: 'PR',
  'client-abort': 'CD',
  'client-timeout': 'cD',
  'server-refused': 'SC',
  'server-reset': 'SH',
  'server-timeout': 'sH',
  'queue-timeout': 'sQ',
  'no-server': 'SC',
  'internal-error': 'PH',
};

function connections(gw: GatewayApi): number {
  let n = 0;
  for (const fe of gw.frontends.values()) n += fe.connections;
  return n;
}

function backendActive(ex: Exchange): number {
  if (ex.backend === null) return 0;
  let n = 0;
  for (const s of ex.backend.servers) n += s.active;
  return n;
}

/**
 * Body bytes. For TCP the core runs the log hook on the client socket's 'close' before the
 * TCP forwarder copies the socket's counters into the exchange: read the socket then.
 */
export const bytesOut = (ex: Exchange): number => (ex.kind === 'tcp' && ex.bytesOut === 0 ? ex.socket.bytesWritten : ex.bytesOut);
export const bytesIn = (ex: Exchange): number => (ex.kind === 'tcp' && ex.bytesIn === 0 ? ex.socket.bytesRead : ex.bytesIn);

const dash = (v: string | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : v);
const http = <T>(ex: Exchange, f: (h: Extract<Exchange, { kind: 'http' }>) => T, otherwise: T): T => (ex.kind === 'http' ? f(ex) : otherwise);

/** The %-variables (HAProxy's log-format names, where Switchyard knows the value). */
export const VARIABLES: Record<string, { description: string; field: Field }> = {
  ci: { description: 'client IP (after PROXY protocol)', field: (ex) => ex.clientAddress },
  cp: { description: 'client port', field: (ex) => String(ex.clientPort) },
  fi: { description: 'frontend IP the client connected to', field: (ex) => ex.connection.localAddress },
  fp: { description: 'frontend port', field: (ex) => String(ex.connection.localPort) },
  t: { description: 'start date, `25/Nov/2026:17:09:24.123`', field: (ex) => haproxyDate(ex.startTime) },
  tr: { description: 'request date (same as %t: the exchange start)', field: (ex) => haproxyDate(ex.startTime) },
  Ts: { description: 'start as Unix seconds', field: (ex) => String(Math.floor(ex.startTime / 1000)) },
  ms: { description: 'start milliseconds part', field: (ex) => p3(ex.startTime % 1000) },
  ft: { description: 'frontend name, with `~` when TLS', field: (ex) => ex.frontend.name + (ex.connection.tls ? '~' : '') },
  f: { description: 'frontend name', field: (ex) => ex.frontend.name },
  b: { description: 'backend name or `-`', field: (ex) => dash(ex.backend?.name) },
  s: { description: 'server name, or `<NOSRV>`', field: (ex) => ex.server?.name ?? '<NOSRV>' },
  si: { description: 'server IP', field: (ex) => dash(ex.server?.host) },
  sp: { description: 'server port', field: (ex) => (ex.server ? String(ex.server.port) : '-') },
  TR: { description: 'time to receive the request head (not measured: 0)', field: () => '0' },
  Tq: { description: 'HAProxy\'s Th + Ti + TR, the time until the request head was in (not measured: 0, as TR)', field: () => '0' },
  Tw: { description: 'time waiting in queue (not measured: 0)', field: () => '0' },
  Tc: { description: 'time to connect (not measured: 0)', field: () => '0' },
  Tr: { description: 'server response time (not measured separately: Ta when a server answered, else -1)', field: (ex, c) => (ex.server && ex.error === null ? String(Math.round(c.ms)) : '-1') },
  Ta: { description: 'total active time of the request, ms', field: (ex, c) => String(Math.round(c.ms)) },
  Tt: { description: 'total session time, ms', field: (ex, c) => String(Math.round(c.ms)) },
  ST: { description: 'HTTP status sent to the client (0 for TCP)', field: (ex) => String(ex.kind === 'http' ? ex.status : 0) },
  B: { description: 'bytes sent to the client (response body)', field: (ex) => String(bytesOut(ex)) },
  U: { description: 'bytes received from the client (request body)', field: (ex) => String(bytesIn(ex)) },
  CC: { description: 'captured request cookie (none: `-`)', field: () => '-' },
  CS: { description: 'captured response cookie (none: `-`)', field: () => '-' },
  tsc: { description: 'termination state with cookie status (4 chars)', field: (ex) => TERMINATION[ex.termination] + '--' },
  ts: { description: 'termination state (2 chars)', field: (ex) => TERMINATION[ex.termination] },
  ac: { description: 'connections open on the whole gateway', field: (_ex, c) => String(connections(c.gateway)) },
  fc: { description: 'connections open on the frontend', field: (ex) => String(ex.frontend.connections) },
  bc: { description: 'exchanges in flight on the backend', field: (ex) => String(backendActive(ex)) },
  sc: { description: 'exchanges in flight on the server', field: (ex) => String(ex.server?.active ?? 0) },
  rc: { description: 'retries', field: (ex) => String(ex.retries) },
  sq: { description: 'server queue (Switchyard queues per backend: 0)', field: () => '0' },
  bq: { description: 'requests waiting in the backend queue', field: (ex) => String(ex.backend?.queued ?? 0) },
  r: { description: 'request line, `GET /path HTTP/1.1`', field: (ex) => http(ex, (h) => `${h.method} ${h.url} HTTP/${h.httpVersion}`, '') },
  HM: { description: 'HTTP method', field: (ex) => http(ex, (h) => h.method, '-') },
  HU: { description: 'request URI (path and query)', field: (ex) => http(ex, (h) => h.url, '-') },
  HP: { description: 'request path', field: (ex) => http(ex, (h) => h.path, '-') },
  HQ: { description: 'query string with its `?`, or empty', field: (ex) => http(ex, (h) => { const i = h.url.indexOf('?'); return i === -1 ? '' : h.url.slice(i); }, '') },
  HV: { description: 'HTTP version, `HTTP/1.1`', field: (ex) => http(ex, (h) => `HTTP/${h.httpVersion}`, '-') },
  Hh: { description: 'Host of the request', field: (ex) => http(ex, (h) => dash(h.host), '-') },
  ID: { description: 'exchange id', field: (ex) => String(ex.id) },
  E: { description: 'error code (SWY_ERR_...) or `-`', field: (ex) => dash(ex.error?.code) },
  H: { description: 'host name of the machine', field: () => HOSTNAME },
  pid: { description: 'process id', field: () => String(process.pid) },
  mode: { description: '`http` or `tcp`', field: (ex) => ex.kind },
  // Captured headers: nothing is captured (haproxy.cfg `capture` lines are ignored with a
  // warning), and HAProxy writes nothing for them when it captures none.
  hr: { description: 'captured request headers: empty (no header captures)', field: () => '' },
  hrl: { description: 'captured request headers, one per field: empty (no header captures)', field: () => '' },
  hs: { description: 'captured response headers: empty (no header captures)', field: () => '' },
  hsl: { description: 'captured response headers, one per field: empty (no header captures)', field: () => '' },
  o: { description: 'writes nothing; its flags (`%{+Q}o`) apply to every variable after it, as in HAProxy', field: () => '' },
};

const NAMES = Object.keys(VARIABLES).sort((a, b) => b.length - a.length);
/** `%%`, `%{flags}name`, `%{flags}[fetch(arg)]`. */
const TOKEN = new RegExp(`%%|%(\\{[^}]*\\})?(\\[[^\\]]+\\]|${NAMES.join('|')})`, 'g');

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => '\\' + c)}"`;
}

/** Strips CR, LF and other control characters so a client cannot forge a log line. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(s) ? s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : s;
}

/**
 * Compiles a log-format template once into a list of field functions. `%[name(arg)]`
 * calls a sample fetch from the `fetch` slot (compiled now, with its argument).
 */
export function compileFormat(template: string, slots: SlotRegistry): (ex: Exchange, ctx: LineContext) => string {
  const parts: Field[] = [];
  const literal = (lit: string): void => {
    // Every `%` that starts a known variable or `%%` was consumed: one left here is unknown.
    const i = lit.indexOf('%');
    if (i !== -1) {
      const name = /^%(\{[^}]*\})?([A-Za-z]*)/.exec(lit.slice(i))![2];
      throw AccessLogErrors.FORMAT(template, `unknown variable %${name} (known: ${Object.keys(VARIABLES).join(', ')}, %[fetch(arg)], %%)`);
    }
    parts.push(() => lit);
  };
  let last = 0;
  let quoteAll = false;
  for (const m of template.matchAll(TOKEN)) {
    if (m.index! > last) literal(template.slice(last, m.index));
    last = m.index! + m[0].length;
    if (m[0] === '%%') {
      parts.push(() => '%');
      continue;
    }
    const flags = m[1] ? m[1].slice(1, -1).split(',') : [];
    if (m[2] === 'o') {
      // HAProxy's "global options" pseudo-variable: +Q/-Q for all that follow
      if (flags.includes('+Q')) quoteAll = true;
      if (flags.includes('-Q')) quoteAll = false;
      continue;
    }
    const quoted = flags.includes('+Q') || (quoteAll && !flags.includes('-Q'));
    let field: Field;
    if (m[2]!.startsWith('[')) {
      const expr = m[2]!.slice(1, -1);
      const fm = /^([a-zA-Z0-9_.-]+)(?:\((.*)\))?$/.exec(expr);
      if (!fm) throw AccessLogErrors.FORMAT(template, `bad fetch expression %[${expr}]`);
      const def = slots.get<FetchDefinition>(FETCH_SLOT, fm[1]!);
      if (!def) throw AccessLogErrors.FORMAT(template, `no loaded plugin provides the fetch "${fm[1]}"`);
      let read: (ex: Exchange) => unknown;
      try {
        read = def.compile(fm[2]);
      } catch (err) {
        throw AccessLogErrors.FORMAT.with({ cause: err }, template, `fetch ${fm[1]}: ${err instanceof Error ? err.message : String(err)}`);
      }
      field = (ex) => {
        const v = read(ex);
        if (v === undefined || v === null) return '-';
        return Array.isArray(v) ? v.join(',') : String(v);
      };
    } else {
      field = VARIABLES[m[2]!]!.field;
    }
    parts.push(quoted ? (ex, c) => quote(clean(field(ex, c))) : (ex, c) => clean(field(ex, c)));
  }
  if (last < template.length) literal(template.slice(last));
  return (ex, ctx) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) out += parts[i]!(ex, ctx);
    return out;
  };
}
