import type { BackendStats, FrontendStats, ServerStats, StatsSnapshot } from './types';

/**
 * Columns in HAProxy's `show stat` order where the meaning is the same (pxname, svname,
 * qcur…), then Switchyard's own (lat_p50_ms, lat_p99_ms). `type`: 0 frontend, 1 backend, 2 server.
 */
export const CSV_COLUMNS = [
  'pxname', 'svname', 'qcur', 'qmax', 'scur', 'smax', 'slim', 'stot', 'bin', 'bout', 'ereq', 'econ', 'wretr', 'wredis',
  'status', 'weight', 'act', 'bck', 'lastchg', 'qlimit', 'type', 'rate', 'rate_max', 'hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx',
  'hrsp_4xx', 'hrsp_5xx', 'hrsp_other', 'check_status', 'lat_p50_ms', 'lat_p99_ms', 'mode', 'conn_rate', 'conn_rate_max', 'conn_tot',
] as const;

type Row = Record<(typeof CSV_COLUMNS)[number], string | number>;

const empty = (): Row => Object.fromEntries(CSV_COLUMNS.map((c) => [c, ''])) as Row;

function field(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function common(row: Row, x: FrontendStats | BackendStats | ServerStats): void {
  row.scur = x.sessions.current;
  row.smax = x.sessions.max;
  row.slim = x.sessions.limit || '';
  row.stot = x.sessions.total;
  row.bin = x.bytes.in;
  row.bout = x.bytes.out;
  row.status = x.status;
  row.rate = x.rate.current;
  row.rate_max = x.rate.max;
  row.hrsp_1xx = x.responses['1xx']!;
  row.hrsp_2xx = x.responses['2xx']!;
  row.hrsp_3xx = x.responses['3xx']!;
  row.hrsp_4xx = x.responses['4xx']!;
  row.hrsp_5xx = x.responses['5xx']!;
  row.hrsp_other = x.responses.other!;
  row.lat_p50_ms = x.latency.p50;
  row.lat_p99_ms = x.latency.p99;
}

export function toCsv(snap: StatsSnapshot): string {
  const rows: Row[] = [];
  for (const f of snap.frontends) {
    const r = empty();
    common(r, f);
    Object.assign(r, {
      pxname: f.name, svname: 'FRONTEND', ereq: f.errors, type: 0, mode: f.mode,
      conn_rate: f.connections.rate, conn_rate_max: f.connections.maxRate, conn_tot: f.connections.total,
    });
    rows.push(r);
  }
  for (const b of snap.backends) {
    for (const s of b.serverList) {
      const r = empty();
      common(r, s);
      Object.assign(r, {
        pxname: b.name, svname: s.name, econ: s.errors, wretr: s.retries, wredis: s.redispatches, weight: s.weight,
        act: s.backup ? 0 : 1, bck: s.backup ? 1 : 0, lastchg: s.lastChangeAgo, type: 2, mode: b.mode,
        check_status: s.check && typeof s.check.status === 'string' ? s.check.status : '',
      });
      rows.push(r);
    }
    const r = empty();
    common(r, b);
    Object.assign(r, {
      pxname: b.name, svname: 'BACKEND', qcur: b.queue.current, qmax: b.queue.max, qlimit: b.queue.limit || '',
      econ: b.errors, wretr: b.retries, wredis: b.redispatches, weight: b.weight, act: b.serversUp, bck: b.backups,
      lastchg: b.lastChangeAgo, type: 1, mode: b.mode,
    });
    rows.push(r);
  }
  let out = `# ${CSV_COLUMNS.join(',')}\n`;
  for (const r of rows) out += CSV_COLUMNS.map((c) => field(r[c])).join(',') + '\n';
  return out;
}
