/**
 * The stats page: one self-contained HTML document (inline CSS and JS, no CDN, no
 * external font), built once at start-up. It loads `<path>;json?history`, then follows
 * `<path>;events` (server-sent events) and falls back to polling `;json` every 2 s.
 */
const CSS = `
body{font-family:Helvetica,Arial,sans-serif;font-size:12px;margin:8px;background:#fff;color:#000}
h1{font-size:18px;margin:0 0 4px 0;color:#fff;background:#20a0ff;padding:6px 8px}
.info{margin:4px 0 8px 0;color:#333}
.live{display:inline-block;padding:1px 6px;border-radius:3px;background:#c0ffc0}
.live.off{background:#ff9090}
.charts{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:10px}
.chart{border:1px solid #999;padding:4px}
.chart h2{font-size:12px;margin:0 0 2px 0}
.legend span{display:inline-block;margin-right:8px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:middle}
table.px{border-collapse:collapse;margin:0 0 12px 0;min-width:900px}
table.px th,table.px td{border:1px solid #999;padding:1px 4px;text-align:right;white-space:nowrap}
table.px td.name,table.px td.status,table.px td.check{text-align:left}
th.pxname{background:#b00040;color:#ffff40;text-align:left!important;font-size:13px}
th.pxdesc{background:#b00040;color:#fff;text-align:left!important;font-weight:normal}
tr.titre th{background:#20d0d0}
tr.frontend td,tr.backend td{background:#e8e8d0;font-weight:bold}
tr.s-UP td{background:#c0ffc0}
tr.s-UP.backup td{background:#c0c0ff}
tr.s-DOWN td{background:#ff9090}
tr.s-DRAIN td{background:#80b0ff}
tr.s-MAINT td{background:#cc9966}
tr.backend.s-DOWN td{background:#ff9090}
table.legend-table td{padding:1px 6px;border:1px solid #999}
.foot{color:#666;margin-top:8px}
`;

const JS = `
(function(){
var BASE = __BASE__;
var palette = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#17becf','#7f7f7f','#bcbd22'];
var history = {};
var maxPoints = 300;
var state = null;
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
function num(n){if(n===undefined||n===null||n==='')return '';if(typeof n!=='number')return esc(n);if(n>=1e9)return (n/1e9).toFixed(1)+'G';if(n>=1e6)return (n/1e6).toFixed(1)+'M';if(n>=1e4)return (n/1e3).toFixed(1)+'k';return String(Math.round(n*100)/100);}
function ago(s){if(s<60)return s+'s';if(s<3600)return Math.floor(s/60)+'m'+(s%60)+'s';if(s<86400)return Math.floor(s/3600)+'h'+Math.floor(s%3600/60)+'m';return Math.floor(s/86400)+'d'+Math.floor(s%86400/3600)+'h';}
function lim(n){return n? num(n) : '-';}
var HEAD = '<tr class="titre"><th rowspan="2">Name</th><th rowspan="2">Status</th><th rowspan="2">Last chk</th><th rowspan="2">Last chg</th><th rowspan="2">Wght</th>'+
  '<th colspan="3">Queue</th><th colspan="2">Rate/s</th><th colspan="4">Sessions</th><th colspan="2">Bytes</th>'+
  '<th colspan="6">Responses</th><th colspan="3">Errors</th><th colspan="2">Latency ms</th></tr>'+
  '<tr class="titre"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th>'+
  '<th>In</th><th>Out</th><th>1xx</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th><th>other</th><th>Err</th><th>Retr</th><th>Redis</th><th>p50</th><th>p99</th></tr>';
function cells(x, q, extra){
  var r = x.responses;
  return '<td>'+(q?num(q.current):'')+'</td><td>'+(q?num(q.max):'')+'</td><td>'+(q?lim(q.limit):'')+'</td>'+
    '<td>'+num(x.rate.current)+'</td><td>'+num(x.rate.max)+'</td>'+
    '<td class="scur">'+num(x.sessions.current)+'</td><td>'+num(x.sessions.max)+'</td><td>'+lim(x.sessions.limit)+'</td><td class="stot">'+num(x.sessions.total)+'</td>'+
    '<td>'+num(x.bytes.in)+'</td><td>'+num(x.bytes.out)+'</td>'+
    '<td>'+num(r['1xx'])+'</td><td class="r2xx">'+num(r['2xx'])+'</td><td>'+num(r['3xx'])+'</td><td>'+num(r['4xx'])+'</td><td class="r5xx">'+num(r['5xx'])+'</td><td>'+num(r.other)+'</td>'+
    '<td>'+num(x.errors)+'</td><td>'+(extra?num(extra.retries):'')+'</td><td>'+(extra?num(extra.redispatches):'')+'</td>'+
    '<td>'+num(x.latency.p50)+'</td><td>'+num(x.latency.p99)+'</td>';
}
function checkText(c){if(!c)return '';var t=c.status!==undefined?String(c.status):'';if(c.detail!==undefined)t+=' '+String(c.detail);if(c.duration!==undefined)t+=' ('+c.duration+' ms)';return esc(t);}
function render(s){
  state = s;
  var h = '';
  s.frontends.forEach(function(f){
    h += '<table class="px" data-frontend="'+esc(f.name)+'"><tr><th class="pxname" colspan="4">'+esc(f.name)+'</th><th class="pxdesc" colspan="24">frontend, mode '+esc(f.mode)+' &middot; '+esc(f.addresses.join(', '))+' &middot; connections '+num(f.connections.total)+', '+num(f.connections.rate)+'/s (max '+num(f.connections.maxRate)+'/s)</th></tr>'+HEAD;
    h += '<tr class="frontend s-'+f.status+'"><td class="name">FRONTEND</td><td class="status">'+f.status+'</td><td></td><td></td><td></td>'+cells(f,null,null)+'</tr></table>';
  });
  s.backends.forEach(function(b){
    h += '<table class="px" data-backend="'+esc(b.name)+'"><tr><th class="pxname" colspan="4">'+esc(b.name)+'</th><th class="pxdesc" colspan="24">backend, mode '+esc(b.mode)+', balance '+esc(b.balance)+' &middot; '+b.serversUp+'/'+b.servers+' servers up</th></tr>'+HEAD;
    b.serverList.forEach(function(v){
      h += '<tr class="server s-'+v.status+(v.backup?' backup':'')+'" data-server="'+esc(b.name+'/'+v.name)+'"><td class="name" title="'+esc(v.address)+'">'+esc(v.name)+(v.backup?' (backup)':'')+'</td>'+
        '<td class="status">'+v.status+'</td><td class="check">'+checkText(v.check)+'</td><td>'+ago(v.lastChangeAgo)+'</td><td class="weight">'+v.weight+'</td>'+cells(v,null,v)+'</tr>';
    });
    h += '<tr class="backend s-'+b.status+'"><td class="name">BACKEND</td><td class="status">'+b.status+'</td><td></td><td>'+ago(b.lastChangeAgo)+'</td><td>'+b.weight+'</td>'+cells(b,b.queue,b)+'</tr></table>';
  });
  document.getElementById('tables').innerHTML = h;
  document.getElementById('uptime').textContent = ago(s.uptime);
  document.getElementById('pid').textContent = s.pid;
  document.getElementById('updated').textContent = new Date(s.time).toLocaleTimeString();
}
function addPoint(p){
  Object.keys(p.backends).forEach(function(name){
    var hs = history[name] || (history[name] = {rate:[],p50:[],p99:[]});
    var v = p.backends[name];
    hs.rate.push(v.rate); hs.p50.push(v.p50); hs.p99.push(v.p99);
    ['rate','p50','p99'].forEach(function(k){ if (hs[k].length > maxPoints) hs[k].splice(0, hs[k].length - maxPoints); });
  });
  draw();
}
function drawChart(id, key, unit){
  var c = document.getElementById(id); if (!c || !c.getContext) return;
  var ctx = c.getContext('2d'); var W = c.width, H = c.height, L = 44, B = 18, T = 6, R = 6;
  ctx.clearRect(0,0,W,H); ctx.font = '10px Helvetica,Arial,sans-serif';
  var names = Object.keys(history); var max = 0;
  var span = 60; names.forEach(function(n){ span = Math.max(span, history[n][key].length); }); span = Math.min(span, maxPoints);
  names.forEach(function(n){ var d = history[n][key]; for (var k = Math.max(0, d.length - span); k < d.length; k++) if (d[k] > max) max = d[k]; });
  max = max <= 0 ? 1 : max * 1.1;
  ctx.strokeStyle = '#ddd'; ctx.fillStyle = '#333';
  for (var i = 0; i <= 4; i++) { var y = T + (H-T-B) * i / 4; ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W-R, y); ctx.stroke(); ctx.fillText(num(max * (4-i) / 4), 2, y + 3); }
  ctx.fillText('-' + (span >= 120 ? Math.round(span/60) + ' min' : span + ' s'), L, H - 4); ctx.fillText('now', W - R - 18, H - 4);
  names.forEach(function(n, idx){
    var d = history[n][key]; if (!d.length) return; if (d.length > span) d = d.slice(d.length - span);
    ctx.strokeStyle = palette[idx % palette.length]; ctx.lineWidth = 1.5; ctx.beginPath();
    for (var j = 0; j < d.length; j++) {
      var x = L + (W-L-R) * (span - d.length + j) / (span - 1);
      var y = T + (H-T-B) * (1 - d[j] / max);
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
  fetch(BASE + ';json', {cache:'no-store'}).then(function(r){ return r.json(); }).then(function(s){
    render(s); var p = {backends:{}}; s.backends.forEach(function(b){ p.backends[b.name] = {rate:b.rate.current,p50:b.latency.p50,p99:b.latency.p99}; }); addPoint(p);
    setLive(true, 'polling');
  }).catch(function(){ setLive(false, 'offline'); }).then(function(){ setTimeout(poll, 2000); });
}
function follow(){
  if (!window.EventSource) { poll(); return; }
  var es = new EventSource(BASE + ';events'); var failures = 0;
  es.addEventListener('stats', function(ev){ failures = 0; var m = JSON.parse(ev.data); render(m.snapshot); if (m.point) addPoint(m.point); setLive(true, 'live'); });
  es.onerror = function(){ setLive(false, 'reconnecting'); if (++failures >= 3) { es.close(); poll(); } };
}
fetch(BASE + ';json?history', {cache:'no-store'}).then(function(r){ return r.json(); }).then(function(s){
  if (s.history) { Object.keys(s.history.backends).forEach(function(n){ history[n] = s.history.backends[n]; }); maxPoints = Math.max(60, Object.keys(s.history.backends).reduce(function(m, n){ return Math.max(m, s.history.backends[n].rate.length); }, __HISTORY__)); }
  render(s); draw(); follow();
}).catch(function(){ setLive(false, 'offline'); setTimeout(follow, 2000); });
})();
`;

const LEGEND = `<table class="legend-table"><tr>
<td style="background:#c0ffc0">UP</td><td style="background:#c0c0ff">backup UP</td><td style="background:#80b0ff">DRAIN (no new sessions)</td>
<td style="background:#ff9090">DOWN (health check)</td><td style="background:#cc9966">MAINT (admin)</td></tr></table>`;

/** Escapes a value for a <script> context (JSON, with < escaped so `</script>` cannot close it). */
function scriptValue(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export function renderPage(options: { path: string; title: string; historySeconds: number }): string {
  const title = options.title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const js = JS.replace('__BASE__', scriptValue(options.path)).replace('__HISTORY__', String(Math.max(60, options.historySeconds)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style></head>
<body>
<h1>${title}</h1>
<div class="info">pid <b id="pid">-</b> &middot; uptime <b id="uptime">-</b> &middot; updated <b id="updated">-</b> &middot; <span id="live" class="live off">connecting</span>
&middot; <a href="${options.path.replace(/"/g, '&quot;')};csv">CSV</a> &middot; <a href="${options.path.replace(/"/g, '&quot;')};json">JSON</a></div>
<div class="charts">
<div class="chart"><h2>Requests per second, by backend</h2><canvas id="chart-rate" width="460" height="150"></canvas><div class="legend" id="chart-rate-legend"></div></div>
<div class="chart"><h2>Latency p99 (ms), by backend</h2><canvas id="chart-p99" width="460" height="150"></canvas><div class="legend" id="chart-p99-legend"></div></div>
<div class="chart"><h2>Latency p50 (ms), by backend</h2><canvas id="chart-p50" width="460" height="150"></canvas><div class="legend" id="chart-p50-legend"></div></div>
</div>
${LEGEND}
<div id="tables"></div>
<div class="foot">Switchyard &middot; @switchyard/plugin-stats</div>
<script>${js}</script>
</body></html>
`;
}
