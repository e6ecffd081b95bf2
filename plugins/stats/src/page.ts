/**
 * The stats page: one self-contained HTML document (inline CSS and JS, no CDN, no external
 * font). The tables are rendered on the server, so the first HTML already has every
 * frontend, backend and server with its state (curl, text browsers, checks that grep the
 * page, and browsers without JavaScript see everything). On top, the script follows
 * `<path>;events` (server-sent events carrying the same server-rendered tables) — falling
 * back to polling `<path>;tables` — keeps the columns sorted as the user chose, and draws
 * the charts. Admin actions are plain HTML forms (POST `<path>;admin`), so they work without
 * JavaScript too.
 */
import type { BackendStats, FrontendStats, ServerStats, StatsSnapshot } from './types';
import { serverStatusText } from './csv';

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;font-size:12px;margin:8px;background:#fff;color:#000;max-width:1264px}
h1{font-size:18px;margin:0 0 4px 0;color:#fff;background:#20a0ff;padding:6px 8px}
.info{margin:4px 0 8px 0;color:#333}
.live{display:inline-block;padding:1px 6px;border-radius:3px;background:#c0ffc0}
.live.off{background:#ff9090}
.notice{margin:4px 0;padding:3px 6px;background:#ffffc0;border:1px solid #cc9}
.charts{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:10px}
.chart{border:1px solid #999;padding:4px}
.chart h2{font-size:12px;margin:0 0 2px 0}
.legend span{display:inline-block;margin-right:8px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:middle}
table.px{border-collapse:collapse;margin:0 0 12px 0;width:100%}
table.px th,table.px td{border:1px solid #999;padding:1px 2px;text-align:right;white-space:nowrap}
table.px td.name,table.px td.status,table.px td.check{text-align:left}
/* Cells ignore max-width in an auto-layout table: the text sits in a clipped span instead. */
.clip{display:inline-block;vertical-align:bottom;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
td.name .clip{max-width:8em}
td.check .clip{max-width:8em}
table.px th[data-col]{cursor:pointer}
table.px th[data-col]:hover{text-decoration:underline}
table.px th.sorted-asc::after{content:" \\25B4"}
table.px th.sorted-desc::after{content:" \\25BE"}
th.pxname{background:#b00040;color:#ffff40;text-align:left!important;font-size:13px}
th.pxdesc{background:#b00040;color:#fff;text-align:left!important;font-weight:normal;white-space:normal!important}
tr.titre th{background:#20d0d0}
tr.frontend td,tr.backend td{background:#e8e8d0;font-weight:bold}
tr.s-UP td{background:#c0ffc0}
tr.s-UP.backup td{background:#c0c0ff}
tr.s-DOWN td{background:#ff9090}
tr.s-DRAIN td{background:#80b0ff}
tr.s-MAINT td{background:#cc9966}
tr.backend.s-DOWN td{background:#ff9090}
form.adm{display:inline;margin:0}
form.adm select,form.adm input,form.adm button{font-size:11px;padding:0 1px;margin:0}
form.adm input{width:2.2em}
table.legend-table td{padding:1px 6px;border:1px solid #999}
.foot{color:#666;margin-top:8px}
`;

const JS = `
(function(){
var BASE = __BASE__;
var palette = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#17becf','#7f7f7f','#bcbd22'];
var history = {};
var maxPoints = 300;
var sort = {};
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
function num(n){if(n>=1e9)return (n/1e9).toFixed(1)+'G';if(n>=1e6)return (n/1e6).toFixed(1)+'M';if(n>=1e4)return (n/1e3).toFixed(1)+'k';return String(Math.round(n*100)/100);}
function ago(s){if(s<60)return s+'s';if(s<3600)return Math.floor(s/60)+'m'+(s%60)+'s';if(s<86400)return Math.floor(s/3600)+'h'+Math.floor(s%3600/60)+'m';return Math.floor(s/86400)+'d'+Math.floor(s%86400/3600)+'h';}
/* Sorting: a click on a column heading sorts that table's server rows (again: the other way).
   The choice is kept across live updates. */
function cellValue(tr, col){var td = tr.children[col]; if (!td) return ''; var v = td.getAttribute('data-v'); if (v !== null && v !== '') return Number(v); return td.textContent;}
function applySort(table){
  var key = table.getAttribute('data-backend') || table.getAttribute('data-frontend'); var s = sort[key];
  table.querySelectorAll('th[data-col]').forEach(function(th){ th.classList.remove('sorted-asc','sorted-desc'); if (s && Number(th.getAttribute('data-col')) === s.col) th.classList.add(s.dir > 0 ? 'sorted-asc' : 'sorted-desc'); });
  if (!s) return;
  var rows = Array.prototype.slice.call(table.querySelectorAll('tr.server'));
  if (rows.length < 2) return;
  var anchor = rows[rows.length - 1].nextSibling; var parent = rows[0].parentNode;
  rows.sort(function(a, b){ var x = cellValue(a, s.col), y = cellValue(b, s.col); if (typeof x === 'number' && typeof y === 'number') return (x - y) * s.dir; return String(x).localeCompare(String(y)) * s.dir; });
  rows.forEach(function(r){ parent.insertBefore(r, anchor); });
}
function bindSort(){
  document.querySelectorAll('#tables table.px').forEach(function(table){
    table.querySelectorAll('th[data-col]').forEach(function(th){
      th.onclick = function(){ var key = table.getAttribute('data-backend') || table.getAttribute('data-frontend'); var col = Number(th.getAttribute('data-col')); var s = sort[key]; sort[key] = { col: col, dir: s && s.col === col ? -s.dir : 1 }; applySort(table); };
    });
    applySort(table);
  });
}
/* While the user edits an admin form (changed a field or focuses one), live updates wait, so
   the form is not redrawn under the click; they resume 15 s after the last edit. */
var editing = 0;
document.getElementById('tables').addEventListener('input', function(e){ if (e.target.form) editing = Date.now(); });
document.getElementById('tables').addEventListener('change', function(e){ if (e.target.form) editing = Date.now(); });
function showTables(html){
  var a = document.activeElement; if (a && a.form && a.form.className === 'adm') return;
  if (Date.now() - editing < 15000) return;
  document.getElementById('tables').innerHTML = html; bindSort();
}
function info(s){ document.getElementById('uptime').textContent = ago(s.uptime); document.getElementById('pid').textContent = s.pid; document.getElementById('updated').textContent = new Date(s.time).toLocaleTimeString(); }
function addPoint(p){
  Object.keys(p.backends).forEach(function(name){
    var hs = history[name] || (history[name] = {rate:[],p50:[],p99:[]});
    var v = p.backends[name];
    hs.rate.push(v.rate); hs.p50.push(v.p50); hs.p99.push(v.p99);
    ['rate','p50','p99'].forEach(function(k){ if (hs[k].length > maxPoints) hs[k].splice(0, hs[k].length - maxPoints); });
  });
  draw();
}
/* Round axis ticks: a step of 1, 2 or 5 times a power of ten, and the top of the axis a multiple of it. */
function niceTicks(max, count){
  if (!(max > 0)) max = 1;
  var raw = max / count; var mag = Math.pow(10, Math.floor(Math.log10(raw))); var f = raw / mag;
  var step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  var ticks = []; var top = Math.ceil(max / step - 1e-9) * step;
  for (var i = 0; i * step <= top + step / 1e6; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}
function drawChart(id, key){
  var c = document.getElementById(id); if (!c || !c.getContext) return;
  var ctx = c.getContext('2d'); var W = c.width, H = c.height, L = 44, B = 18, T = 6, R = 6;
  ctx.clearRect(0,0,W,H); ctx.font = '10px Helvetica,Arial,sans-serif';
  var names = Object.keys(history); var max = 0;
  var span = 60; names.forEach(function(n){ span = Math.max(span, history[n][key].length); }); span = Math.min(span, maxPoints);
  names.forEach(function(n){ var d = history[n][key]; for (var k = Math.max(0, d.length - span); k < d.length; k++) if (d[k] > max) max = d[k]; });
  var ticks = niceTicks(max, 4); var top = ticks[ticks.length - 1];
  c.setAttribute('data-ticks', ticks.join(','));
  ctx.strokeStyle = '#ddd'; ctx.fillStyle = '#333';
  ticks.forEach(function(t){ var y = T + (H-T-B) * (1 - t / top); ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W-R, y); ctx.stroke(); ctx.fillText(num(t), 2, y + 3); });
  ctx.fillText('-' + (span >= 120 ? Math.round(span/60) + ' min' : span + ' s'), L, H - 4); ctx.fillText('now', W - R - 18, H - 4);
  names.forEach(function(n, idx){
    var d = history[n][key]; if (!d.length) return; if (d.length > span) d = d.slice(d.length - span);
    ctx.strokeStyle = palette[idx % palette.length]; ctx.lineWidth = 1.5; ctx.beginPath();
    for (var j = 0; j < d.length; j++) {
      var x = L + (W-L-R) * (span - d.length + j) / (span - 1);
      var y = T + (H-T-B) * (1 - d[j] / top);
      if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
  });
  var lg = document.getElementById(id + '-legend');
  lg.innerHTML = names.map(function(n, idx){ return '<span><i style="background:'+palette[idx % palette.length]+'"></i>'+esc(n)+'</span>'; }).join('');
}
function draw(){ drawChart('chart-rate', 'rate'); drawChart('chart-p99', 'p99'); drawChart('chart-p50', 'p50'); }
function setLive(on, text){ var e = document.getElementById('live'); e.className = on ? 'live' : 'live off'; e.textContent = text; }
function poll(){
  Promise.all([fetch(BASE + ';tables', {cache:'no-store'}).then(function(r){ return r.text(); }), fetch(BASE + ';json', {cache:'no-store'}).then(function(r){ return r.json(); })]).then(function(x){
    showTables(x[0]); info(x[1]); var p = {backends:{}}; x[1].backends.forEach(function(b){ p.backends[b.name] = {rate:b.rate.current,p50:b.latency.p50,p99:b.latency.p99}; }); addPoint(p);
    setLive(true, 'polling');
  }).catch(function(){ setLive(false, 'offline'); }).then(function(){ setTimeout(poll, 2000); });
}
function follow(){
  if (!window.EventSource) { poll(); return; }
  var es = new EventSource(BASE + ';events'); var failures = 0;
  es.addEventListener('stats', function(ev){ failures = 0; var m = JSON.parse(ev.data); if (m.tables) showTables(m.tables); info(m.snapshot); if (m.point) addPoint(m.point); setLive(true, 'live'); });
  es.onerror = function(){ setLive(false, 'reconnecting'); if (++failures >= 3) { es.close(); poll(); } };
}
window.__stats = { niceTicks: niceTicks };
bindSort();
fetch(BASE + ';json?history', {cache:'no-store'}).then(function(r){ return r.json(); }).then(function(s){
  if (s.history) { Object.keys(s.history.backends).forEach(function(n){ history[n] = s.history.backends[n]; }); maxPoints = Math.max(60, Object.keys(s.history.backends).reduce(function(m, n){ return Math.max(m, s.history.backends[n].rate.length); }, __HISTORY__)); }
  info(s); draw(); follow();
}).catch(function(){ setLive(false, 'offline'); setTimeout(follow, 2000); });
})();
`;

const LEGEND = `<table class="legend-table"><tr>
<td style="background:#c0ffc0">UP</td><td style="background:#c0c0ff">backup UP</td><td style="background:#80b0ff">DRAIN (no new sessions)</td>
<td style="background:#ff9090">DOWN (health check)</td><td style="background:#cc9966">MAINT (admin)</td></tr></table>`;

/** What an admin form needs; null when this viewer may not act. */
export interface AdminForms {
  /** Anti-CSRF token every form carries. */
  token: string;
}

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page's short number form (1.2k, 3.4M); the exact value goes in `data-v` for sorting. */
function num(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n * 100) / 100);
}

function ago(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

const td = (n: number, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''} data-v="${n}">${num(n)}</td>`;
const lim = (n: number): string => (n ? td(n) : '<td data-v="0">-</td>');
const blank = '<td></td>';

const HEADINGS = ['Name', 'Status', 'Last chk', 'Last chg', 'Wght', 'Queue Cur', 'Max', 'Limit', 'Rate/s Cur', 'Max', 'Sessions Cur', 'Max', 'Limit', 'Total', 'Bytes In', 'Out',
  '1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'Err', 'Retr', 'Redis', 'p50', 'p99'];

function head(admin: boolean): string {
  const top = '<tr class="titre"><th rowspan="2" data-col="0">Name</th><th rowspan="2" data-col="1">Status</th><th rowspan="2" data-col="2">Last chk</th><th rowspan="2" data-col="3">Last chg</th><th rowspan="2" data-col="4">Wght</th>'
    + '<th colspan="3">Queue</th><th colspan="2">Rate/s</th><th colspan="4">Sessions</th><th colspan="2">Bytes</th><th colspan="6">Responses</th><th colspan="3">Errors</th><th colspan="2">Latency ms</th>'
    + (admin ? '<th rowspan="2">Admin</th>' : '') + '</tr>';
  const sub = ['Cur', 'Max', 'Limit', 'Cur', 'Max', 'Cur', 'Max', 'Limit', 'Total', 'In', 'Out', '1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'Err', 'Retr', 'Redis', 'p50', 'p99'];
  return `${top}<tr class="titre">${sub.map((h, i) => `<th data-col="${i + 5}">${h}</th>`).join('')}</tr>`;
}

/** Cells from Queue to Latency, in HEADINGS order. */
function cells(x: FrontendStats | BackendStats | ServerStats, queue: { current: number; max: number; limit: number } | null, retries: { retries: number; redispatches: number } | null): string {
  const r = x.responses;
  return (queue ? td(queue.current) + td(queue.max) + lim(queue.limit) : blank + blank + blank)
    + td(x.rate.current) + td(x.rate.max)
    + td(x.sessions.current, 'scur') + td(x.sessions.max) + lim(x.sessions.limit) + td(x.sessions.total, 'stot')
    + td(x.bytes.in, 'bin') + td(x.bytes.out, 'bout')
    + td(r['1xx'] ?? 0) + td(r['2xx'] ?? 0, 'r2xx') + td(r['3xx'] ?? 0) + td(r['4xx'] ?? 0) + td(r['5xx'] ?? 0, 'r5xx') + td(r.other ?? 0)
    + td(x.errors) + (retries ? td(retries.retries) + td(retries.redispatches) : blank + blank)
    + td(x.latency.p50) + td(x.latency.p99);
}

function checkText(c: Record<string, unknown> | null): string {
  if (!c) return '';
  let t = c.status !== undefined ? String(c.status) : '';
  if (c.detail !== undefined) t += ` ${String(c.detail)}`;
  if (c.duration !== undefined) t += ` (${String(c.duration)} ms)`;
  return t;
}

function adminCell(base: string, b: BackendStats, s: ServerStats, forms: AdminForms): string {
  const opt = (v: string): string => `<option value="${v}"${s.admin === v ? ' selected' : ''}>${v}</option>`;
  return `<td class="admin"><form class="adm" method="post" action="${esc(base)};admin">`
    + `<input type="hidden" name="token" value="${esc(forms.token)}"><input type="hidden" name="server" value="${esc(`${b.name}/${s.name}`)}">`
    + `<select name="action" aria-label="state of ${esc(s.name)}">${opt('ready')}${opt('drain')}${opt('maint')}<option value="weight">weight</option></select>`
    + `<input name="weight" value="${s.weight}" inputmode="numeric" aria-label="weight of ${esc(s.name)}"><button type="submit">Set</button></form></td>`;
}

/** The tables: one per frontend, one per backend with its servers and its BACKEND row. */
export function renderTables(snap: StatsSnapshot, base: string, forms: AdminForms | null): string {
  const admin = forms !== null;
  const extra = admin ? blank : '';
  let h = '';
  for (const f of snap.frontends) {
    h += `<table class="px" data-frontend="${esc(f.name)}"><tr><th class="pxname" colspan="4">${esc(f.name)}</th><th class="pxdesc" colspan="${HEADINGS.length - 4 + (admin ? 1 : 0)}">frontend, mode ${esc(f.mode)} &middot; ${esc(f.addresses.join(', '))} &middot; connections ${num(f.connections.total)}, ${num(f.connections.rate)}/s (max ${num(f.connections.maxRate)}/s)</th></tr>${head(admin)}`;
    h += `<tr class="frontend s-${f.status}"><td class="name">FRONTEND</td><td class="status">${f.status}</td>${blank}${blank}${blank}${cells(f, null, null)}${extra}</tr></table>\n`;
  }
  for (const b of snap.backends) {
    h += `<table class="px" data-backend="${esc(b.name)}"><tr><th class="pxname" colspan="4">${esc(b.name)}</th><th class="pxdesc" colspan="${HEADINGS.length - 4 + (admin ? 1 : 0)}">backend, mode ${esc(b.mode)}, balance ${esc(b.balance)} &middot; ${b.serversUp}/${b.servers} servers up</th></tr>${head(admin)}`;
    for (const s of b.serverList) {
      const check = checkText(s.check);
      h += `<tr class="server s-${s.status}${s.backup ? ' backup' : ''}" data-server="${esc(`${b.name}/${s.name}`)}">`
        + `<td class="name" title="${esc(s.address)}"><span class="clip">${esc(s.name)}${s.backup ? ' (backup)' : ''}</span></td>`
        + `<td class="status" title="${esc(serverStatusText(s))}">${s.status}</td><td class="check" title="${esc(check)}"><span class="clip">${esc(check)}</span></td>`
        + `<td data-v="${s.lastChangeAgo}">${ago(s.lastChangeAgo)}</td><td class="weight" data-v="${s.weight}">${s.weight}</td>`
        + cells(s, null, s) + (forms ? adminCell(base, b, s, forms) : '') + '</tr>';
    }
    h += `<tr class="backend s-${b.status}"><td class="name">BACKEND</td><td class="status">${b.status}</td>${blank}<td data-v="${b.lastChangeAgo}">${ago(b.lastChangeAgo)}</td><td data-v="${b.weight}">${b.weight}</td>${cells(b, b.queue, b)}${extra}</tr></table>\n`;
  }
  return h;
}

/** Escapes a value for a <script> context (JSON, with < escaped so `</script>` cannot close it). */
function scriptValue(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export interface PageOptions {
  path: string;
  title: string;
  historySeconds: number;
}

export function renderPage(options: PageOptions, snap: StatsSnapshot, forms: AdminForms | null, notice?: string): string {
  const title = esc(options.title);
  const base = esc(options.path);
  const js = JS.replace('__BASE__', scriptValue(options.path)).replace('__HISTORY__', String(Math.max(60, options.historySeconds)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style></head>
<body>
<h1>${title}</h1>
<div class="info">pid <b id="pid">${snap.pid}</b> &middot; uptime <b id="uptime">${ago(snap.uptime)}</b> &middot; updated <b id="updated">${new Date(snap.time).toISOString().slice(11, 19)} UTC</b> &middot; <span id="live" class="live off">static</span>
&middot; <a href="${base};csv">CSV</a> &middot; <a href="${base};json">JSON</a> &middot; <a href="${base}">refresh</a>${forms ? ' &middot; admin actions enabled' : ''}</div>
${notice ? `<div class="notice" role="status">${esc(notice)}</div>` : ''}
<div class="charts">
<div class="chart"><h2>Requests per second, by backend</h2><canvas id="chart-rate" width="400" height="150"></canvas><div class="legend" id="chart-rate-legend"></div></div>
<div class="chart"><h2>Latency p99 (ms), by backend</h2><canvas id="chart-p99" width="400" height="150"></canvas><div class="legend" id="chart-p99-legend"></div></div>
<div class="chart"><h2>Latency p50 (ms), by backend</h2><canvas id="chart-p50" width="400" height="150"></canvas><div class="legend" id="chart-p50-legend"></div></div>
</div>
${LEGEND}
<div id="tables">
${renderTables(snap, options.path, forms)}</div>
<div class="foot">Switchyard &middot; @switchyard/plugin-stats &middot; click a column heading to sort</div>
<script>${js}</script>
</body></html>
`;
}
