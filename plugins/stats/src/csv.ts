import type { BackendStats, FrontendStats, ServerStats, StatsSnapshot } from './types';

/**
 * HAProxy 2.6's `show stat` / `;csv` layout, column for column (as `haproxy -v` 2.6.12 with
 * its default stats modules prints it), so scripts that read fields by position work:
 * the 103 proxy fields, HAProxy's `-` separator, then the ssl, h2 and h1 module fields.
 *
 * A field HAProxy leaves empty for a row type is empty here too. A field HAProxy fills but
 * Switchyard does not measure (compression, connection reuse, agent checks, module counters…)
 * is empty rather than a made-up 0; docs/monitoring.md lists which are filled.
 */
export const CSV_COLUMNS = [
  'pxname', 'svname', 'qcur', 'qmax', 'scur', 'smax', 'slim', 'stot', 'bin', 'bout', 'dreq', 'dresp', 'ereq', 'econ', 'eresp',
  'wretr', 'wredis', 'status', 'weight', 'act', 'bck', 'chkfail', 'chkdown', 'lastchg', 'downtime', 'qlimit', 'pid', 'iid', 'sid',
  'throttle', 'lbtot', 'tracked', 'type', 'rate', 'rate_lim', 'rate_max', 'check_status', 'check_code', 'check_duration',
  'hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other', 'hanafail', 'req_rate', 'req_rate_max', 'req_tot',
  'cli_abrt', 'srv_abrt', 'comp_in', 'comp_out', 'comp_byp', 'comp_rsp', 'lastsess', 'last_chk', 'last_agt', 'qtime', 'ctime',
  'rtime', 'ttime', 'agent_status', 'agent_code', 'agent_duration', 'check_desc', 'agent_desc', 'check_rise', 'check_fall',
  'check_health', 'agent_rise', 'agent_fall', 'agent_health', 'addr', 'cookie', 'mode', 'algo', 'conn_rate', 'conn_rate_max',
  'conn_tot', 'intercepted', 'dcon', 'dses', 'wrew', 'connect', 'reuse', 'cache_lookups', 'cache_hits', 'srv_icur', 'src_ilim',
  'qtime_max', 'ctime_max', 'rtime_max', 'ttime_max', 'eint', 'idle_conn_cur', 'safe_conn_cur', 'used_conn_cur', 'need_conn_est',
  'uweight', 'agg_server_status', 'agg_server_check_status', 'agg_check_status', '-',
  'ssl_sess', 'ssl_reused_sess', 'ssl_failed_handshake', 'h2_headers_rcvd', 'h2_data_rcvd', 'h2_settings_rcvd',
  'h2_rst_stream_rcvd', 'h2_goaway_rcvd', 'h2_detected_conn_protocol_errors', 'h2_detected_strm_protocol_errors',
  'h2_rst_stream_resp', 'h2_goaway_resp', 'h2_open_connections', 'h2_backend_open_streams', 'h2_total_connections',
  'h2_backend_total_streams', 'h1_open_connections', 'h1_open_streams', 'h1_total_connections', 'h1_total_streams',
  'h1_bytes_in', 'h1_bytes_out', 'h1_spliced_bytes_in', 'h1_spliced_bytes_out',
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** One row's subject: `type` 0 frontend, 1 backend, 2 server (HAProxy's numbering). */
export type StatRow =
  | { type: 0; iid: number; frontend: FrontendStats }
  | { type: 1; iid: number; backend: BackendStats }
  | { type: 2; iid: number; sid: number; backend: BackendStats; server: ServerStats };

type Value = string | number;
type Cell = (row: StatRow) => Value;

const fe = (f: (x: FrontendStats) => Value): Partial<Record<0 | 1 | 2, Cell>> => ({ 0: (r) => f((r as { frontend: FrontendStats }).frontend) });
const be = (f: (x: BackendStats) => Value): Cell => (r) => f((r as { backend: BackendStats }).backend);
const sv = (f: (x: ServerStats, b: BackendStats) => Value): Cell => (r) => {
  const x = r as { backend: BackendStats; server: ServerStats };
  return f(x.server, x.backend);
};
const int = (n: number): number => Math.round(n);
const limit = (n: number): Value => (n > 0 ? n : '');
const http = <T extends { responses: Record<string, number> }>(cls: string, mode: 'http' | 'tcp', x: T): Value => (mode === 'http' ? x.responses[cls] ?? 0 : '');

/** HAProxy's `check_status` code for the health-check plugin's HAProxy-worded reason. */
const CHECK_CODES: Record<string, string> = {
  'Layer4 check passed': 'L4OK', 'Layer4 timeout': 'L4TOUT', 'Layer4 connection problem': 'L4CON', 'Layer4 internal error': 'SOCKERR',
  'Layer6 check passed': 'L6OK', 'Layer6 timeout': 'L6TOUT', 'Layer6 invalid response': 'L6RSP',
  'Layer7 check passed': 'L7OK', 'Layer7 timeout': 'L7TOUT', 'Layer7 invalid response': 'L7RSP', 'Layer7 wrong status': 'L7STS',
  'Layer7 wrong content': 'L7RSP', 'Layer7 agent reports down': 'L7STS',
};

/** HAProxy's backend weight: the active servers' that are up, or the backups' when none is. */
function backendWeight(b: BackendStats): number {
  let active = 0;
  let backup = 0;
  for (const s of b.serverList) {
    if (s.status !== 'UP') continue;
    if (s.backup) backup += s.weight;
    else active += s.weight;
  }
  return active > 0 ? active : backup;
}

function hasCheck(s: ServerStats): boolean {
  return s.check !== null && s.check.status !== 'disabled';
}

/** HAProxy's server `status` words: `no check` for an up server nobody checks. */
export function serverStatusText(s: ServerStats): string {
  if (s.status === 'UP' && !hasCheck(s)) return 'no check';
  return s.status;
}

function checkStatus(s: ServerStats): Value {
  if (!hasCheck(s)) return '';
  const reason = String(s.check!.status ?? '');
  if (reason === 'pending') return 'INI';
  return CHECK_CODES[reason] ?? 'UNK';
}

function checkCode(s: ServerStats): Value {
  if (!hasCheck(s)) return '';
  const code = Number(s.check!.code);
  return Number.isInteger(code) && code > 0 ? code : '';
}

/**
 * The cells per column, by row type (0 frontend, 1 backend, 2 server). A missing type is
 * an empty field, as HAProxy prints it.
 */
const CELLS: Partial<Record<CsvColumn, Partial<Record<0 | 1 | 2, Cell>>>> = {
  pxname: { ...fe((f) => f.name), 1: be((b) => b.name), 2: sv((_s, b) => b.name) },
  svname: { 0: () => 'FRONTEND', 1: () => 'BACKEND', 2: sv((s) => s.name) },
  qcur: { 1: be((b) => b.queue.current), 2: () => 0 },
  qmax: { 1: be((b) => b.queue.max), 2: () => 0 },
  scur: { ...fe((f) => f.sessions.current), 1: be((b) => b.sessions.current), 2: sv((s) => s.sessions.current) },
  smax: { ...fe((f) => f.sessions.max), 1: be((b) => b.sessions.max), 2: sv((s) => s.sessions.max) },
  slim: { ...fe((f) => limit(f.sessions.limit)), 2: sv((s) => limit(s.sessions.limit)) },
  // A frontend's sessions are its client connections; a backend's and a server's are exchanges.
  stot: { ...fe((f) => f.connections.total), 1: be((b) => b.sessions.total), 2: sv((s) => s.sessions.total) },
  bin: { ...fe((f) => f.bytes.in), 1: be((b) => b.bytes.in), 2: sv((s) => s.bytes.in) },
  bout: { ...fe((f) => f.bytes.out), 1: be((b) => b.bytes.out), 2: sv((s) => s.bytes.out) },
  dreq: { ...fe((f) => f.denied), 1: () => 0 },
  ereq: fe((f) => f.requestErrors),
  econ: { 1: be((b) => b.connectionErrors), 2: sv((s) => s.connectionErrors) },
  eresp: { 1: be((b) => b.responseErrors), 2: sv((s) => s.responseErrors) },
  wretr: { 1: be((b) => b.retries), 2: sv((s) => s.retries) },
  wredis: { 1: be((b) => b.redispatches), 2: sv((s) => s.redispatches) },
  status: { ...fe((f) => f.status), 1: be((b) => b.status), 2: sv((s) => serverStatusText(s)) },
  weight: { 1: be((b) => backendWeight(b)), 2: sv((s) => s.weight) },
  act: { 1: be((b) => b.serverList.filter((s) => !s.backup && s.status === 'UP').length), 2: sv((s) => (s.backup ? 0 : 1)) },
  bck: { 1: be((b) => b.serverList.filter((s) => s.backup && s.status === 'UP').length), 2: sv((s) => (s.backup ? 1 : 0)) },
  chkdown: { 1: be((b) => b.downTransitions), 2: sv((s) => (hasCheck(s) ? s.downTransitions : '')) },
  lastchg: { 1: be((b) => b.lastChangeAgo), 2: sv((s) => s.lastChangeAgo) },
  downtime: { 1: be((b) => b.downtime), 2: sv((s) => (hasCheck(s) ? s.downtime : '')) },
  pid: { 0: () => 1, 1: () => 1, 2: () => 1 },
  iid: { 0: (r) => r.iid, 1: (r) => r.iid, 2: (r) => r.iid },
  sid: { 0: () => 0, 1: () => 0, 2: (r) => (r as { sid: number }).sid },
  lbtot: { 1: be((b) => b.sessions.total), 2: sv((s) => s.sessions.total) },
  type: { 0: () => 0, 1: () => 1, 2: () => 2 },
  rate: { ...fe((f) => int(f.connections.rate)), 1: be((b) => int(b.rate.current)), 2: sv((s) => int(s.rate.current)) },
  rate_lim: fe(() => 0),
  rate_max: { ...fe((f) => int(f.connections.maxRate)), 1: be((b) => int(b.rate.max)), 2: sv((s) => int(s.rate.max)) },
  check_status: { 2: sv((s) => checkStatus(s)) },
  check_code: { 2: sv((s) => checkCode(s)) },
  check_duration: { 2: sv((s) => (hasCheck(s) && typeof s.check!.duration === 'number' ? int(s.check!.duration) : '')) },
  hrsp_1xx: { ...fe((f) => http('1xx', f.mode, f)), 1: be((b) => http('1xx', b.mode, b)), 2: sv((s, b) => http('1xx', b.mode, s)) },
  hrsp_2xx: { ...fe((f) => http('2xx', f.mode, f)), 1: be((b) => http('2xx', b.mode, b)), 2: sv((s, b) => http('2xx', b.mode, s)) },
  hrsp_3xx: { ...fe((f) => http('3xx', f.mode, f)), 1: be((b) => http('3xx', b.mode, b)), 2: sv((s, b) => http('3xx', b.mode, s)) },
  hrsp_4xx: { ...fe((f) => http('4xx', f.mode, f)), 1: be((b) => http('4xx', b.mode, b)), 2: sv((s, b) => http('4xx', b.mode, s)) },
  hrsp_5xx: { ...fe((f) => http('5xx', f.mode, f)), 1: be((b) => http('5xx', b.mode, b)), 2: sv((s, b) => http('5xx', b.mode, s)) },
  hrsp_other: { ...fe((f) => http('other', f.mode, f)), 1: be((b) => http('other', b.mode, b)), 2: sv((s, b) => http('other', b.mode, s)) },
  req_rate: fe((f) => (f.mode === 'http' ? int(f.rate.current) : '')),
  req_rate_max: fe((f) => (f.mode === 'http' ? int(f.rate.max) : '')),
  req_tot: { ...fe((f) => (f.mode === 'http' ? f.sessions.total : '')), 1: be((b) => (b.mode === 'http' ? b.sessions.total : '')), 2: sv((s, b) => (b.mode === 'http' ? s.sessions.total : '')) },
  cli_abrt: { 1: be((b) => b.clientAborts), 2: sv((s) => s.clientAborts) },
  srv_abrt: { 1: be((b) => b.serverAborts), 2: sv((s) => s.serverAborts) },
  lastsess: { 1: be((b) => b.lastSessionAgo), 2: sv((s) => s.lastSessionAgo) },
  // HAProxy's last_chk is the check's extra information (empty for a plain pass).
  last_chk: { 2: sv((s) => (hasCheck(s) && s.check!.info !== undefined && s.check!.info !== null ? String(s.check!.info) : '')) },
  ttime: { 1: be((b) => int(b.time.avg)), 2: sv((s) => int(s.time.avg)) },
  check_desc: { 2: sv((s) => (hasCheck(s) ? String(s.check!.status ?? '') : '')) },
  mode: { ...fe((f) => f.mode), 1: be((b) => b.mode), 2: sv((_s, b) => b.mode) },
  conn_rate: fe((f) => int(f.connections.rate)),
  conn_rate_max: fe((f) => int(f.connections.maxRate)),
  conn_tot: fe((f) => f.connections.total),
  intercepted: fe((f) => f.intercepted),
  ttime_max: { 1: be((b) => int(b.time.max)), 2: sv((s) => int(s.time.max)) },
  eint: { ...fe((f) => f.internalErrors), 1: be((b) => b.internalErrors), 2: sv((s) => s.internalErrors) },
  uweight: { 1: be((b) => backendWeight(b)), 2: sv((s) => s.weight) },
  '-': { 0: () => '-', 1: () => '-', 2: () => '-' },
};

/** The rows in HAProxy's order: per proxy (frontends first, then backends), servers before their BACKEND row. */
export function statRows(snap: StatsSnapshot): StatRow[] {
  const rows: StatRow[] = [];
  let iid = 0;
  for (const frontend of snap.frontends) rows.push({ type: 0, iid: ++iid, frontend });
  for (const backend of snap.backends) {
    const id = ++iid;
    backend.serverList.forEach((server, i) => rows.push({ type: 2, iid: id, sid: i + 1, backend, server }));
    rows.push({ type: 1, iid: id, backend });
  }
  return rows;
}

/** One field of one row as HAProxy prints it ('' = empty). */
export function statField(row: StatRow, column: CsvColumn): string {
  const cell = CELLS[column]?.[row.type];
  return cell === undefined ? '' : String(cell(row));
}

function quote(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `# pxname,svname,…,` then one line per row; every line ends with a comma, as HAProxy's do. */
export function toCsv(snap: StatsSnapshot): string {
  let out = `# ${CSV_COLUMNS.join(',')},\n`;
  for (const row of statRows(snap)) {
    let line = '';
    for (const c of CSV_COLUMNS) line += quote(statField(row, c)) + ',';
    out += line + '\n';
  }
  return out;
}
