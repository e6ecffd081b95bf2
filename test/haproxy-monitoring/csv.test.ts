/**
 * Differential test of the stats CSV: one haproxy.cfg, real HAProxy 2.6 and Switchyard,
 * the same requests; `<stats uri>;csv` of both must have the same header (column for column),
 * the same rows, the same empty fields per row type, and the same values where the meaning
 * is shared, within the traffic sent.
 */
import * as fs from 'node:fs';
import { freePort, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { CSV_COLUMNS, STATS_SERVICE, toCsv, type StatsService } from '@switchyard/plugin-stats';
import { HAPROXY, fetchText, startHaproxy, startSwitchyard, traffic, until, type Haproxy } from './haproxy';



/**
 * Fields HAProxy fills that Switchyard does not measure: they stay empty in Switchyard's CSV
 * (never a made-up 0). Everything else must be empty exactly where HAProxy's is.
 */
const NOT_MEASURED = new Set([
  'check_rise', 'check_fall', 'check_health', 'hanafail',
  'dresp', 'chkfail', 'throttle', 'comp_in', 'comp_out', 'comp_byp', 'comp_rsp', 'qtime', 'ctime', 'rtime',
  'dcon', 'dses', 'wrew', 'connect', 'reuse', 'cache_lookups', 'cache_hits', 'srv_icur', 'qtime_max', 'ctime_max', 'rtime_max',
  'idle_conn_cur', 'safe_conn_cur', 'used_conn_cur', 'need_conn_est', 'agg_server_status', 'agg_server_check_status', 'agg_check_status',
  'ssl_sess', 'ssl_reused_sess', 'ssl_failed_handshake', 'h2_headers_rcvd', 'h2_data_rcvd', 'h2_settings_rcvd', 'h2_rst_stream_rcvd',
  'h2_goaway_rcvd', 'h2_detected_conn_protocol_errors', 'h2_detected_strm_protocol_errors', 'h2_rst_stream_resp', 'h2_goaway_resp',
  'h2_open_connections', 'h2_backend_open_streams', 'h2_total_connections', 'h2_backend_total_streams', 'h1_open_connections',
  'h1_open_streams', 'h1_total_connections', 'h1_total_streams', 'h1_bytes_in', 'h1_bytes_out', 'h1_spliced_bytes_in', 'h1_spliced_bytes_out',
]);
/** A backend's session limit is HAProxy's `fullconn` (1000 by default); Switchyard has none. */
const NOT_MEASURED_FOR = { BACKEND: new Set(['slim']) } as Record<string, Set<string>>;

/** Same value in both, after the same traffic. */
const EXACT = ['check_status', 'check_desc', 'pxname', 'svname', 'qcur', 'qmax', 'slim', 'stot', 'dreq', 'ereq', 'econ', 'eresp', 'wretr', 'wredis', 'status', 'weight',
  'act', 'bck', 'pid', 'sid', 'lbtot', 'type', 'rate_lim', 'hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other',
  'cli_abrt', 'srv_abrt', 'mode', 'conn_tot', 'eint', 'uweight', '-'];
/** Integers in both (rates are whole sessions per second in HAProxy). */
const INTEGER = ['rate', 'rate_max', 'req_rate', 'req_rate_max', 'conn_rate', 'conn_rate_max', 'lastchg', 'lastsess', 'ttime', 'ttime_max', 'scur', 'smax'];

type Row = Record<string, string>;

function parseCsv(text: string): { header: string; rows: Map<string, Row> } {
  const lines = text.split('\n').filter((l) => l !== '');
  const header = lines[0]!;
  const cols = header.replace(/^# /, '').split(',');
  const rows = new Map<string, Row>();
  for (const l of lines.slice(1)) {
    const v = l.split(',');
    const row = Object.fromEntries(cols.map((c, i) => [c, v[i] ?? '']));
    rows.set(`${row.pxname}/${row.svname}`, row);
  }
  return { header, rows };
}

const maybe = fs.existsSync(HAPROXY) ? describe : describe.skip;

maybe('stats CSV: the same layout and meaning as HAProxy 2.6', () => {
  let ups: Upstream[] = [];
  let hap: Haproxy;
  let sy: { gw: TestGateway; dir: string };
  let hapPort = 0;
  const cfg = (port: number): string => `
global
  maxconn 200
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend web
  bind 127.0.0.1:${port}
  maxconn 50
  stats uri /stats
  default_backend app
backend app
  balance roundrobin
  server s1 ${ups[0]!.address} weight 2 maxconn 20
  server s2 ${ups[1]!.address}
  server b1 ${ups[2]!.address} backup
# Health checks on a backend of their own (no traffic): a server that comes up or goes down
# shifts HAProxy's weighted round-robin phase, which would blur the traffic counts above.
backend checked
  option httpchk GET /health
  # A check slowed down by a busy machine must not flip a server (inter alone is also the timeout).
  timeout check 3s
  server c1 ${ups[0]!.address} check inter 250ms rise 1 fall 1
  server c2 ${ups[3]!.address} check inter 250ms rise 1 fall 1
`;
  const paths = ['/a', '/b', '/c', '/d', '/e', '/f', '/g', '/h', '/i'];

  beforeAll(async () => {
    // s2 answers 404 to everything: per-server response classes do not depend on which
    // server round-robin starts with.
    const handler = (missing: boolean) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
      req.resume();
      if (req.url === '/health') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 }).end('ok\n');
      const body = missing ? 'not here\n' : 'hello from the server\n';
      res.writeHead(missing ? 404 : 200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    ups = await Promise.all(['s1', 's2', 'b1'].map((name) => startUpstream({ name, handler: handler(name === 's2') })));
    // c2's health endpoint fails: 503.
    ups.push(await startUpstream({ name: 'sick', handler: (req, res) => void (req.resume(), res.writeHead(503, { 'content-length': 5 }).end('sick\n')) }));
    hapPort = await freePort();
    hap = await startHaproxy(cfg(hapPort));
    sy = await startSwitchyard(cfg(0));
  });
  afterAll(async () => {
    await hap?.stop();
    await sy?.gw.stop();
    if (sy) fs.rmSync(sy.dir, { recursive: true, force: true });
    await Promise.all(ups.map((u) => u.close()));
  });

  it('same header, rows, empty fields and counters after the same traffic', async () => {
    // Both have checked c1 (passes) and c2 (503): HAProxy asked on its stats socket, not traffic.
    const settled = (rows: Map<string, Row>): boolean =>
      rows.get('checked/c1')?.check_status === 'L7OK' && rows.get('checked/c1')?.status === 'UP'
      && rows.get('checked/c2')?.check_status === 'L7STS' && rows.get('checked/c2')?.status === 'DOWN';
    await until('both to have checked c1 and c2', async () => {
      if (!settled(parseCsv(await hap.cli('show stat')).rows)) return false;
      return settled(parseCsv(toCsv(sy.gw.gateway.container.resolve<StatsService>(STATS_SERVICE).collector.snapshot())).rows);
    });
    const hapBase = `http://127.0.0.1:${hapPort}`;
    const syBase = sy.gw.url('');
    // Which server round-robin starts with differs (see the adapter's differential test): compare counts.
    const sorted = (a: number[]): number[] => [...a].sort();
    expect(sorted(await traffic(hapBase, paths))).toEqual(sorted(await traffic(syBase, paths)));
    // The first CSV request is traffic too (both count it once it ended); compare the second.
    await fetchText(`${hapBase}/stats;csv`);
    await fetchText(`${syBase}/stats;csv`);
    const h = parseCsv(await fetchText(`${hapBase}/stats;csv`));
    const s = parseCsv(await fetchText(`${syBase}/stats;csv`));

    // 1. The header, byte for byte; and our exported column list is it.
    expect(s.header).toBe(h.header);
    expect(`# ${CSV_COLUMNS.join(',')},`).toBe(h.header);
    // 2. The same rows in the same order.
    expect([...s.rows.keys()]).toEqual([...h.rows.keys()]);
    expect([...h.rows.keys()]).toEqual(['web/FRONTEND', 'app/s1', 'app/s2', 'app/b1', 'app/BACKEND', 'checked/c1', 'checked/c2', 'checked/BACKEND']);
    expect(s.rows.get('checked/c2')).toMatchObject({ status: 'DOWN', check_status: 'L7STS', check_code: '503' });
    // HAProxy's check_code is 0 while a check is under way: only ours is pinned.
    expect(['0', '503']).toContain(h.rows.get('checked/c2')!.check_code);
    // last_chk: HAProxy puts the server's reason phrase there ("Service Unavailable", empty
    // while a check is under way), Switchyard the health check's own explanation.
    expect(s.rows.get('checked/c2')!.last_chk).toBe('expected status 200-399');
    // chkdown: c2 went DOWN once (HAProxy may also count a first check of c1 that failed while
    // the machine was busy, so only ours is pinned); the app backend never went down.
    expect(s.rows.get('checked/c2')!.chkdown).toBe('1');
    expect(Number(h.rows.get('checked/c2')!.chkdown)).toBeGreaterThanOrEqual(1);
    expect(s.rows.get('app/BACKEND')).toMatchObject({ chkdown: '0', downtime: '0' });

    const mismatches: string[] = [];
    for (const [key, hr] of h.rows) {
      const sr = s.rows.get(key)!;
      const svname = key.split('/')[1]!;
      for (const c of CSV_COLUMNS) {
        const hv = hr[c]!;
        const sv = sr[c]!;
        const unmeasured = NOT_MEASURED.has(c) || NOT_MEASURED_FOR[svname]?.has(c);
        // 3. Empty where HAProxy's is empty; a field we do not measure is empty, not invented.
        if (unmeasured) {
          if (sv !== '') mismatches.push(`${key} ${c}: not measured, must be empty, is "${sv}"`);
          continue;
        }
        if ((hv === '') !== (sv === '')) mismatches.push(`${key} ${c}: haproxy "${hv}", switchyard "${sv}"`);
        else if (EXACT.includes(c) && hv !== sv) mismatches.push(`${key} ${c}: haproxy "${hv}", switchyard "${sv}"`);
        else if (INTEGER.includes(c) && sv !== '' && !/^-?\d+$/.test(sv)) mismatches.push(`${key} ${c}: not an integer "${sv}"`);
      }
    }
    expect(mismatches).toEqual([]);

    // 4. Counters within the traffic sent: 9 requests on one connection (s1 answers 6 × 200,
    //    s2 3 × 404), plus the first CSV request (200) on its own; the second is in flight.
    const fe = s.rows.get('web/FRONTEND')!;
    const hfe = h.rows.get('web/FRONTEND')!;
    expect(hfe).toMatchObject({ hrsp_2xx: '7', hrsp_4xx: '3', conn_tot: '3', stot: '3' });
    expect(fe).toMatchObject({ hrsp_2xx: '7', hrsp_4xx: '3', conn_tot: '3', stot: '3' });
    // HAProxy counts a request when it starts (the in-flight CSV request), Switchyard when it ends.
    expect(Number(hfe.req_tot) - Number(fe.req_tot)).toBe(1);
    expect(fe.req_tot).toBe('10');
    // 2 weights to 1: s1 gets 6 of 9, s2 3, the backup none.
    expect(['s1', 's2', 'b1', 'BACKEND'].map((n) => s.rows.get(`app/${n}`)!.stot)).toEqual(['6', '3', '0', '9']);
    expect(s.rows.get('app/b1')!.lastsess).toBe('-1');
    // Bytes with the heads included, as HAProxy counts them. HAProxy 2.6 counts its internal
    // (HTX) form of a head, a few bytes per header shorter than the wire; Switchyard counts the
    // wire. The responses also differ in the headers each proxy sets: within 30 %.
    for (const key of ['web/FRONTEND', 'app/s1', 'app/s2', 'app/BACKEND']) {
      const hb = Number(h.rows.get(key)!.bin);
      const sb = Number(s.rows.get(key)!.bin);
      expect(sb).toBeGreaterThan(0);
      expect(Math.abs(sb - hb)).toBeLessThanOrEqual(hb * 0.3);
      const ho = Number(h.rows.get(key)!.bout);
      const so = Number(s.rows.get(key)!.bout);
      expect(so).toBeGreaterThan(0);
      expect(Math.abs(so - ho)).toBeLessThanOrEqual(ho * 0.3);
    }
  });
});
