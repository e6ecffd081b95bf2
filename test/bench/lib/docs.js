'use strict';
// docs/performance.md, generated from one run's JSON (run.js --write-docs, or --from-json FILE
// --write-docs). Every figure on the page comes from `result`; the only constants here are the
// issue's targets and the harness's own settings, both named as such.
const MB = 1024 * 1024;
const CATEGORY_PROGRAM = require('./profile').CATEGORIES[9];

const fin = Number.isFinite;
const fmt = (x, d = 0) => (fin(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
const ms = (x) => (fin(x) ? (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1)) : '-');
const mb = (b) => (fin(b) && b > 0 ? `${(b / MB).toFixed(1)} MB` : '-');
const mbSigned = (b) => (fin(b) ? `${b >= 0 ? '+' : '−'}${(Math.abs(b) / MB).toFixed(1)} MB` : '-');
const x2 = (r) => (fin(r) ? `${r.toFixed(2)}×` : '-');
const us = (perCore) => (fin(perCore) && perCore > 0 ? (1e6 / perCore).toFixed(1) : '-');
const pc = (r) => (fin(r) ? `${(r * 100).toFixed(1)} %` : '-');

/** The issue-17 / issue-19 targets, evaluated on one run. */
function evaluate(result) {
  const t = result.tables ?? {};
  const c = result.settings.connections;
  const row = (table, id) => (t[table] ?? []).find((r) => r.id === id);
  const out = [];
  const ratioTarget = (name, r, field, perCoreField, min, what) => {
    if (!r) return out.push({ name, measured: 'not measured', status: 'not measured' });
    const a = r[field];
    const b = r[perCoreField];
    const ok = fin(a) && fin(b) && a >= min && b >= min;
    const short = (v) => (v >= min ? 'met' : `short by ${(min - v).toFixed(2)} (${((1 - v / min) * 100).toFixed(0)} % below the target)`);
    out.push({
      name,
      measured: `${x2(a)} req/s (${short(a)}); ${x2(b)} requests per CPU-second (${short(b)}) ${what}`,
      status: ok ? 'met' : fin(a) && fin(b) ? 'NOT met' : 'not measured',
    });
  };
  const c0 = `http c${c[0]}`;
  const cLast = `http c${c[c.length - 1]}`;
  ratioTarget(`Switchyard minimal ≥ 0.45× HAProxy at c${c[0]}`, row(c0, 'switchyard'), 'vsNative', 'perCoreVsNative', 0.45, 'of HAProxy');
  ratioTarget(`Switchyard minimal ≥ 0.95× the raw Node floor at c${c[0]}`, row(c0, 'switchyard'), 'vsFloor', 'perCoreVsFloor', 0.95, 'of the floor');
  ratioTarget(`Switchyard with the standard set ≥ 0.35× HAProxy at c${c[0]}`, row(c0, 'switchyard-standard'), 'vsNative', 'perCoreVsNative', 0.35, 'of HAProxy');
  for (const [table, max] of [[c0, 2], [cLast, 3]]) {
    const r = row(table, 'switchyard');
    const v = r?.p99VsNative;
    out.push({
      name: `p99 ≤ ${max}× HAProxy's at ${table.split(' ')[1]}`,
      measured: r ? `${x2(v)} (${ms(r.p99)} ms vs HAProxy's ${ms(row(table, 'haproxy')?.p99)} ms, medians of rounds)${fin(v) && v > max ? `: over by ${(v - max).toFixed(2)}×` : ''}` : 'not measured',
      status: !fin(v) ? 'not measured' : v <= max ? 'met' : 'NOT met',
    });
  }
  const cost = result.pluginCost?.[`c${c[0]}`];
  if (cost) {
    const ok = cost.rps <= 0.05 && cost.perCore <= 0.05;
    out.push({
      name: `ten no-op plugins on every hook cost ≤ 5 % (c${c[0]}, vs the same YAML config without them)`,
      measured: `${lossText(cost.rps)} of req/s; ${lossText(cost.perCore)} of requests per CPU-second`,
      status: fin(cost.rps) && fin(cost.perCore) ? (ok ? 'met' : 'NOT met') : 'not measured',
    });
  }
  ratioTarget('TLS + HTTP/2 ≥ 1.3× node:http2 + undici', row('tls h2', 'switchyard-tls'), 'vsFloor', 'perCoreVsFloor', 1.3, 'of the node:http2 + undici baseline');
  ratioTarget('L4 ≥ 0.95× the Node `net` pipe', row(`tcp c${c[0]}`, 'switchyard-tcp'), 'vsFloor', 'perCoreVsFloor', 0.95, 'of the pipe');
  const m = result.memory ?? {};
  const limit = (name, v, max, how, zeroOk = false) => {
    const have = fin(v) && (zeroOk ? v >= 0 : v > 0);
    out.push({ name, measured: have ? `${zeroOk ? mbSigned(v) : mb(v)}${how ? ` ${how}` : ''}${v > max * MB ? `: over by ${((v - max * MB) / MB).toFixed(1)} MB` : ''}` : 'not measured', status: have ? (v <= max * MB ? 'met' : 'NOT met') : 'not measured' });
  };
  limit('idle RSS ≤ 50 MB (the bench haproxy.cfg)', m.switchyard?.rssIdle, 50);
  limit('idle RSS ≤ 60 MB with the standard set', m['switchyard-standard']?.rssIdle, 60);
  const growth = (id) => (m[id] && fin(m[id].rssEnd) && m[id].rssEnd > 0 ? m[id].rssEnd - m[id].rssIdle : NaN);
  limit('RSS growth after the full bench ≤ 32 MB (Switchyard minimal)', growth('switchyard'), 32, `(${mb(m.switchyard?.rssIdle)} idle → ${mb(m.switchyard?.rssEnd)} at the end)`, true);
  const slow = m.switchyard?.slow;
  limit(
    `${slow?.clients ?? 50} slow readers × 20 MB grow RSS ≤ 16 MB (issue 19 item 4)`,
    slow ? slow.growth : NaN,
    16,
    slow ? `over a ${mb(slow.base)} base (HAProxy: ${mbSigned(m.haproxy?.slow?.growth)} over ${mb(m.haproxy?.slow?.base)}); ${slow.ok}/${slow.clients} downloads complete` : '',
    true,
  );
  return out;
}
const lossText = (x) => (!fin(x) ? '-' : x >= 0 ? `${(x * 100).toFixed(1)} % loss` : `no loss (${(-x * 100).toFixed(1)} % faster: noise)`);

function throughputTable(rows, { kind = 'wrk', native = 'HAProxy', floor = 'raw floor' } = {}) {
  const lines = [];
  const lat = kind === 'wrk' ? '| p50 ms | p99 ms ' : '| mean ms ';
  const latSep = kind === 'wrk' ? '---:|---:|' : '---:|';
  lines.push(`| target | req/s (median) | min–max ${lat}| errors | req per CPU-s | × ${native} req/s | × ${native} per CPU-s |${kind === 'wrk' ? ` p99 × ${native} |` : ''} × ${floor} req/s | × ${floor} per CPU-s |`);
  lines.push(`|---|---:|---:|${latSep}---:|---:|---:|---:|${kind === 'wrk' ? '---:|' : ''}---:|---:|`);
  for (const r of rows) {
    const latency = kind === 'wrk' ? `${ms(r.p50)} | ${ms(r.p99)}` : ms(r.mean);
    lines.push(
      `| ${r.label} | ${fmt(r.rps)} | ${fmt(r.min)}–${fmt(r.max)} | ${latency} | ${r.errors} | ${fmt(r.perCore)} | ${x2(r.vsNative)} | ${x2(r.perCoreVsNative)} |${kind === 'wrk' ? ` ${x2(r.p99VsNative)} |` : ''} ${x2(r.vsFloor)} | ${x2(r.perCoreVsFloor)} |`,
    );
  }
  return lines.join('\n');
}

function targetsTable(result) {
  const lines = ['| target | measured | status |', '|---|---|---|'];
  for (const t of evaluate(result)) lines.push(`| ${t.name} | ${t.measured} | ${t.status === 'met' ? 'met' : `**${t.status}**`} |`);
  return lines.join('\n');
}

function memoryTable(result) {
  const m = result.memory ?? {};
  const labels = result.labels ?? {};
  const lines = [
    '| target | RSS idle | RSS peak under load | RSS after the full bench (growth) | 100 MB upload: growth | 100 MB download: growth | 50 slow readers × 20 MB: base → growth (complete) | idle keep-alive clients: RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [id, v] of Object.entries(m)) {
    const b = (x) => (x ? (x.ok ? mbSigned(x.growth) : `failed: ${x.detail}`) : '-');
    const s = v.slow ? `${mb(v.slow.base)} → ${mbSigned(v.slow.growth)} (${v.slow.ok}/${v.slow.clients})` : '-';
    const ic = v.idleConns ? `${mb(v.idleConns.rss)} with ${fmt(v.idleConns.alive)}` : '-';
    const end = fin(v.rssEnd) && v.rssEnd > 0 ? `${mb(v.rssEnd)} (${mbSigned(v.rssEnd - v.rssIdle)})` : '-';
    lines.push(`| ${labels[id] ?? id} | ${mb(v.rssIdle)} | ${mb(v.rssLoad)} | ${end} | ${b(v.body?.upload)} | ${b(v.body?.download)} | ${s} | ${ic} |`);
  }
  return lines.join('\n');
}

function piecesTable(run) {
  const lines = ['| after loading | RSS | Δ RSS | heap used | external | V8 new space |', '|---|---:|---:|---:|---:|---:|'];
  let prev = 0;
  for (const s of run.steps) {
    lines.push(`| ${s.name} | ${mb(s.rss)} | ${mbSigned(s.rss - prev)} | ${mb(s.heapUsed)} | ${mb(s.external)} | ${mb(s.newSpace)} |`);
    prev = s.rss;
  }
  return lines.join('\n');
}

function profileSection(p, title) {
  if (!p) return `${title}\n\nNo profile in this run.`;
  const lines = [
    title,
    '',
    `\`node --cpu-prof\` over ${fmt(p.seconds, 1)} s of \`${p.tool ?? `wrk -c${p.connections}`}\` (${fmt(p.rps)} req/s while profiled, ${fmt(p.perCore)} requests per CPU-second); ${fmt(p.busySeconds, 2)} s of samples were busy, ${fmt(p.idleSeconds, 2)} s idle.`,
    '',
    '| where the busy CPU went (self time) | seconds | share |',
    '|---|---:|---:|',
    ...p.categories.filter((c) => c.seconds > 0).map((c) => `| ${c.name} | ${fmt(c.seconds, 3)} | ${pc(c.share)} |`),
    '',
    '| top functions by self time | where | category | share |',
    '|---|---|---|---:|',
    ...p.top.map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.where} | ${f.category} | ${pc(f.share)} |`),
  ];
  if (p.inclusiveOwn?.length) {
    lines.push('', '| Switchyard\'s functions with what they call (inclusive time) | where | share |', '|---|---|---:|', ...p.inclusiveOwn.map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.where} | ${pc(f.share)} |`));
  }
  if (p.topOwn?.length) {
    lines.push('', '| Switchyard\'s own functions by self time | where | share |', '|---|---|---:|', ...p.topOwn.map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.where} | ${pc(f.share)} |`));
  }
  return lines.join('\n');
}

function slowlorisTable(s, labels) {
  const lines = [
    '| target | tricklers (peak open) | cut by the proxy | 408 answers | ordinary clients: success, p50 / p99 ms, no attack | under attack |',
    '|---|---:|---:|---:|---|---|',
  ];
  for (const [id, v] of Object.entries(s)) {
    const m = (x) => `${pc(x.successRate)} of ${fmt(x.requests)}, ${ms(x.p50)} / ${ms(x.p99)}`;
    lines.push(`| ${labels[id] ?? id} | ${fmt(v.attackers)} (${fmt(v.peakOpen)}) | ${fmt(v.cut)} | ${fmt(v.got408)} | ${m(v.baseline)} | ${m(v.underAttack)} |`);
  }
  return lines.join('\n');
}

/** The result tables alone (stdout of a run). */
function tables(result) {
  const out = ['## Targets', '', targetsTable(result), ''];
  for (const [key, rows] of Object.entries(result.tables ?? {})) {
    const [group, what] = key.split(' ');
    const native = group === 'http' ? 'HAProxy' : group === 'tcp' ? 'HAProxy tcp' : 'HAProxy';
    const floor = group === 'http' ? 'raw floor' : group === 'tcp' ? 'net pipe' : 'node:http2+undici';
    out.push(`## ${group === 'tls' ? 'TLS + HTTP/2' : group.toUpperCase()} ${what === 'close' ? 'a new session per request' : what}`, '', throughputTable(rows, { kind: group === 'tls' ? 'h2load' : 'wrk', native, floor }), '');
  }
  out.push('## Memory', '', memoryTable(result), '');
  return out.join('\n') + '\n';
}

function share(p, name) {
  return p?.categories.find((c) => c.name === name)?.share;
}

/** The whole of docs/performance.md. */
function render(result) {
  const s = result.settings;
  const c = s.connections;
  const labels = result.labels ?? {};
  const t = result.tables ?? {};
  const row = (table, id) => (t[table] ?? []).find((r) => r.id === id);
  const L = [];
  L.push(
    '# Performance',
    '',
    '<!-- Generated by `npm run bench -- --write-docs` (test/bench/run.js, test/bench/lib/docs.js) from',
    `     test/bench/results/latest.json. Do not edit by hand: every figure below comes from that run. -->`,
    '',
    `This page is written by the benchmark harness from one run: \`${result.command}\`, ${result.when}.`,
    'Every table and every figure in the prose comes from that run\'s JSON (`test/bench/results/latest.json`);',
    'regenerate the page from it with `node test/bench/run.js --from-json test/bench/results/latest.json --write-docs`.',
    '',
    '## How it is measured',
    '',
    `Each proxy runs pinned to core ${s.proxyCore} (taskset); the load generator (wrk -t1, or h2load -t1) and the`,
    `upstreams (nginx, one worker, two servers answering a fixed 64-byte body, keep-alive) share core ${s.loadCore}.`,
    `HTTP/1.1 runs are ${s.duration} s of \`wrk -t1 --latency --timeout 10s\` (an answer slower than 10 s counts as an error, not in the percentiles) at ${c.map((x) => `${x}`).join(' and ')} keep-alive connections,`,
    `in ${s.rounds} interleaved rounds (the order rotates every round); TLS + HTTP/2 runs are \`h2load -n ${s.h2.requests} -c ${s.h2.connections} -m ${s.h2.streams}\`;`,
    `TCP runs put wrk at ${c[0]} connections through each TCP-mode proxy. Figures are medians of the rounds; ratios`,
    'are medians of same-round ratios. "Requests per CPU-second" is the requests a proxy served divided by the',
    'CPU time (user + system, from `/proc/<pid>/stat`, its whole process tree) it used during the run: its',
    'throughput per core, steadier than req/s when other work shares the machine.',
    '',
    'HAProxy, the Switchyard minimal row, Switchyard TLS and Switchyard TCP read the same haproxy.cfg',
    '(`test/bench/lib/configs.js`), Switchyard through its adapter. The standard-set row is native YAML, because',
    'an access log to a file has no haproxy.cfg spelling. The raw Node floor (`test/bench/proxies/raw-node.js`)',
    'is what Node itself allows: `net` sockets both ways, Node\'s llhttp binding (strict), the head re-serialised,',
    'hop-by-hop headers dropped, an idle upstream pool per server, round-robin per request, no features.',
    '',
    '## Targets',
    '',
    'The targets of issue 17 (and issue 19 item 4), evaluated on this run. A throughput target counts as met',
    'only when both req/s and requests per CPU-second reach it.',
    '',
    targetsTable(result),
    '',
  );
  for (const [key, rows] of Object.entries(t)) {
    const [group, what] = key.split(' ');
    if (group === 'http') {
      L.push(`## HTTP/1.1, ${what.slice(1)} connections`, '', throughputTable(rows, { native: 'HAProxy', floor: 'raw floor' }), '');
    } else if (group === 'tcp' && what === 'close') {
      L.push(`## TCP mode (L4), a new session per request (\`wrk -c${c[0]} -H 'Connection: close'\`)`, '', 'The upstream closes after each answer, so every request is a new client connection, a new session through the proxy and a new server connection: this is what accepting and dispatching a TCP session costs (the core\'s accept, route, select-server and forward stages, and the forwarder\'s connect).', '', throughputTable(rows, { native: 'HAProxy tcp', floor: 'net pipe' }), '');
    } else if (group === 'tcp') {
      L.push(`## TCP mode (L4), ${what.slice(1)} connections`, '', throughputTable(rows, { native: 'HAProxy tcp', floor: 'net pipe' }), '');
    } else {
      L.push(`## TLS + HTTP/2 (h2load -c ${s.h2.connections} -m ${s.h2.streams})`, '', throughputTable(rows, { kind: 'h2load', native: 'HAProxy', floor: 'node:http2+undici' }), '', 'h2load reports no percentiles: the latency column is its mean time per request.', '');
    }
  }
  const sy = row(`http c${c[0]}`, 'switchyard');
  const ha = row(`http c${c[0]}`, 'haproxy');
  const raw = row(`http c${c[0]}`, 'raw-node');
  const nu = row(`http c${c[0]}`, 'node-undici');
  if (sy && ha && raw) {
    L.push(
      `At ${c[0]} connections HAProxy served ${fmt(ha.rps)} req/s (${fmt(ha.perCore)} per CPU-second), the raw Node floor`,
      `${fmt(raw.rps)} (${x2(raw.vsNative)} of HAProxy; ${x2(raw.perCoreVsNative)} per CPU-second)${nu ? `, node:http + undici ${fmt(nu.rps)} (${x2(nu.vsNative)})` : ''}, and Switchyard`,
      `minimal ${fmt(sy.rps)} (${x2(sy.vsNative)} of HAProxy, ${x2(sy.vsFloor)} of the floor; per CPU-second ${x2(sy.perCoreVsNative)} and ${x2(sy.perCoreVsFloor)}).`,
      `In CPU time per request: HAProxy ${us(ha.perCore)} µs, the raw floor ${us(raw.perCore)} µs${nu ? `, node:http + undici ${us(nu.perCore)} µs` : ''}, Switchyard minimal ${us(sy.perCore)} µs.`,
      '',
    );
    const big = row(`http c${c[c.length - 1]}`, 'switchyard');
    const bigHa = row(`http c${c[c.length - 1]}`, 'haproxy');
    if (big && bigHa && c.length > 1) {
      L.push(
        `At ${c[c.length - 1]} connections Switchyard's p99 per round was ${big.rounds.map((r) => `${ms(r.p99)}`).join(', ')} ms (HAProxy's ${bigHa.rounds.map((r) => `${ms(r.p99)}`).join(', ')} ms).`,
        '',
      );
    }
  }
  const cost = result.pluginCost ?? {};
  if (Object.keys(cost).length > 0) {
    L.push(
      'Ten no-op plugins, each tapping all seven hooks, compared with the same native YAML config without them:',
      Object.entries(cost).map(([k, v]) => `${lossText(v.rps)} of req/s and ${lossText(v.perCore)} of requests per CPU-second at ${k}`).join('; ') + '.',
      'A difference smaller than the spread of the rounds (the min–max column) is noise.',
      '',
    );
  }
  if (result.scrapes && Object.keys(result.scrapes).length > 0) {
    for (const [id, v] of Object.entries(result.scrapes)) {
      L.push(`The harness scraped the Prometheus endpoint of "${labels[id] ?? id}" every second for its whole life: ${v.ok} scrapes answered, ${v.failed} failed, ${fmt(v.bytes)} bytes each.`, '');
    }
  }

  L.push('## Memory', '', memoryTable(result), '');
  const m = result.memory ?? {};
  const withAfter = Object.entries(m).filter(([, v]) => v.after?.length);
  if (withAfter.length > 0) {
    const sections = withAfter[0][1].after.map((a) => a.section);
    L.push(
      'RSS after each part of the bench (read between parts, a few seconds after the previous one ended):',
      '',
      `| target | idle | ${sections.map((x) => `after ${x}`).join(' | ')} | end |`,
      `|---|---:|${sections.map(() => '---:|').join('')}---:|`,
      ...withAfter.map(([id, v]) => `| ${labels[id] ?? id} | ${mb(v.rssIdle)} | ${v.after.map((a) => mb(a.rss)).join(' | ')} | ${mb(v.rssEnd)} |`),
      '',
    );
  }
  L.push(
    '"RSS after the full bench" is read after every load run, the body transfers, the slow readers, the idle',
    'clients and the slowloris attack are over (and 2 s of quiet): what the process kept. The slow readers are',
    `${m.switchyard?.slow?.clients ?? '-'} clients at once, each reading a 20 MB response at about 2.5 MB/s (256 KB every 100 ms); the base is the RSS`,
    'just before they start, the growth its peak while they read. The 100 MB body checks replace the RSS limit',
    'that used to sit in test/streaming.test.ts; that test now checks only that the bytes arrive intact.',
    '',
  );

  if (result.pieces?.runs?.length) {
    L.push('## Idle memory, piece by piece', '', 'A fresh Node process per config and V8 flag set loads Switchyard\'s pieces one after another and reads', '`process.memoryUsage()` after a full GC after each (`test/bench/lib/pieces-child.js`). The last step is a gateway', 'listening on the config, as `switchyard run` does.', '');
    for (const run of result.pieces.runs) {
      if (run.error) {
        L.push(`With \`${['node', ...run.flags].join(' ')}\`: failed (${run.error.split('\n')[0]}).`, '');
        continue;
      }
      L.push(`${run.config ?? 'the config'}${run.preset ? ', with the preset\'s 30 modules required first' : ''}, \`${['node', ...run.flags].join(' ')}\` (${run.plugins} plugins in the config):`, '', piecesTable(run), '');
    }
    const [def, semi, pre] = result.pieces.runs;
    if (def?.steps && semi?.steps) {
      const last = (r) => r.steps[r.steps.length - 1];
      const node = def.steps[0];
      const at = (r, re) => r.steps.findIndex((x) => re.test(x.name));
      const delta = (r, re) => {
        const i = at(r, re);
        return i > 0 ? r.steps[i].rss - r.steps[i - 1].rss : NaN;
      };
      const before = def.steps[at(def, /^loadConfig/) - 1];
      const after = def.steps[at(def, /^loadConfig/)];
      L.push(
        `Node alone is ${mb(node.rss)}. Requiring undici adds ${mbSigned(delta(def, /^undici/))}; pino ${mbSigned(delta(def, /^pino/))}; ajv ${mbSigned(delta(def, /^ajv/))};`,
        `the config's own ${def.plugins} plugin modules ${mbSigned(delta(def, /plugin modules/))}; reading the config, registering the plugins,`,
        `composing and compiling the schema with ajv and validating ${mbSigned(delta(def, /^loadConfig/))} — while the heap in use grows only`,
        `${mb(before?.heapUsed)} → ${mb(after?.heapUsed)} and V8's new space grows ${mb(before?.newSpace)} → ${mb(after?.newSpace)}: most of that step is young-generation`,
        'room V8 keeps after the start-up burst of allocations (ajv generating and compiling validators), not live data.',
        `With \`--max-semi-space-size=1\` the same gateway ends at ${mb(last(semi).rss)} instead of ${mb(last(def).rss)}${row(`http c${c[0]}`, 'switchyard-semi1') && sy ? `; under load it served ${x2(row(`http c${c[0]}`, 'switchyard-semi1').rps / sy.rps)} of the default's req/s and ${x2(row(`http c${c[0]}`, 'switchyard-semi1').perCore / sy.perCore)} of its requests per CPU-second at c${c[0]} (the "node --max-semi-space-size=1" row), and idled at ${mb(m['switchyard-semi1']?.rssIdle)} there` : ''}.`,
        'That flag is a Node option (`node --max-semi-space-size=1 core/bin/switchyard.js run ...`, or NODE_OPTIONS),',
        'not a Switchyard setting.',
        pre?.steps ? `Requiring the 30 modules of @switchyard/preset-standard as well (what every adapted config loaded before the adapter learned to load only what it uses) adds ${mbSigned(delta(pre, /preset-standard/))}, and that gateway ends at ${mb(last(pre).rss)}.` : '',
        '',
      );
    }
  }

  if (result.slowloris && Object.keys(result.slowloris).length > 0) {
    const any = Object.values(result.slowloris)[0];
    L.push(
      '## Slowloris under load',
      '',
      `Moved here from the unit suite (test/traffic-shaping/slowloris.test.ts keeps the functional checks): ${fmt(any.attackers)} connections`,
      `each trickle one header byte a second and reconnect when cut, for ${any.attackSeconds} s, while ordinary clients make requests on fresh`,
      'connections (4 at a time). `timeout http-request 5s` in the shared haproxy.cfg.',
      '',
      slowlorisTable(result.slowloris, labels),
      '',
    );
  }

  L.push('## Where the time goes (profile)', '');
  const ph = result.profiles?.switchyard;
  const pt = result.profiles?.['switchyard-tcp'];
  if (!result.profiles || Object.values(result.profiles).every((p) => !p)) {
    L.push('This run was made without `--profile`: no profile. Run `npm run bench -- --profile --write-docs` for this section.', '');
  } else {
    L.push(
      'With `--profile` the harness runs Switchyard (the same haproxy.cfg) under `node --cpu-prof`, loads it with wrk,',
      'stops it gracefully and sums the self time of every function in the `.cpuprofile` (`test/bench/lib/profile.js`),',
      'by category: Switchyard\'s own code (core, sdk, plugins), node:http, the llhttp binding, undici, the rest of',
      'Node\'s JS (net, streams, events, timers), other npm libraries, the natives that are one system call on a socket',
      '("kernel-ish"), other natives and generated code (tapable\'s compiled hooks have no file), "(program)" and GC.',
      'Only the samples taken while wrk ran count (start-up is left out). node:http feeds sockets to llhttp in C++',
      '(`parser.consume()`), before any JS runs: that parsing cannot be told apart in a V8 profile and lands in "(program)".',
      'Where JS calls llhttp itself (`parser.execute()`, as the HTTP forwarder\'s upstream pool does), the parsing is counted in the',
      'self time of the JS function that calls it, so the llhttp row shows only calls the profiler sees as their own frame.',
      '',
    );
    if (ph) {
      L.push(profileSection(ph, '### HTTP/1.1 (Switchyard minimal)'), '');
      L.push(
        `In this profile Switchyard's own code is ${pc(share(ph, 'Switchyard code'))} of the busy CPU, node:http ${pc(share(ph, 'node:http'))},`,
        `llhttp ${pc(share(ph, 'llhttp (Node binding)'))}, undici ${pc(share(ph, 'undici (JS and its llhttp wasm)'))}, Node's net/streams/events/timers ${pc(share(ph, 'node core: net, streams, events, timers'))},`,
        `socket system calls ${pc(share(ph, 'kernel-ish natives (socket syscalls)'))} and GC ${pc(share(ph, 'GC'))}.`,
        '',
      );
    }
    if (pt) {
      L.push(profileSection(pt, '### TCP mode (Switchyard tcp)'), '');
      const top = pt.top[0];
      L.push(
        `In TCP mode Switchyard's own code is ${pc(share(pt, 'Switchyard code'))} of the busy CPU: the session is Node's stream pipe both ways,`,
        `so the time is the socket system calls (${pc(share(pt, 'kernel-ish natives (socket syscalls)'))}; the top function, \`${top?.name}\`, alone ${pc(top?.share)}), Node's`,
        `streams and net (${pc(share(pt, 'node core: net, streams, events, timers'))}) and GC (${pc(share(pt, 'GC'))}) — the same work a plain \`net\` pipe does.`,
        '',
      );
    }
    const ptls = result.profiles?.['switchyard-tls'];
    if (ptls) {
      L.push(
        profileSection(ptls, '### TLS + HTTP/2 (Switchyard, the same haproxy.cfg with ssl crt)'),
        '',
        `Under h2load Switchyard's own code is ${pc(share(ptls, 'Switchyard code'))} of the busy CPU, node:http2 and its compat layer ${pc(share(ptls, 'node:http'))}, undici ${pc(share(ptls, 'undici (JS and its llhttp wasm)'))}, Node's net/streams/events/timers ${pc(share(ptls, 'node core: net, streams, events, timers'))}, "(program)" (where OpenSSL and nghttp2 run, outside JS) ${pc(share(ptls, CATEGORY_PROGRAM))} and GC ${pc(share(ptls, 'GC'))}.`,
        '',
      );
    }
    const pc2 = result.profiles?.['switchyard-tcp-close'];
    if (pc2) L.push(profileSection(pc2, '### TCP mode, a new session per request (Switchyard tcp, `Connection: close`)'), '', `With a session per request, Switchyard's own code (the core's dispatch and the forwarder) is ${pc(share(pc2, 'Switchyard code'))} of the busy CPU.`, '');
  }

  L.push(
    '## Reading these numbers',
    '',
    `- The machine: ${result.machine.cpu}, ${result.machine.kernel}, ${result.machine.memory} RAM; node ${result.machine.node}; ${result.machine.haproxy}; ${result.machine.nginx}; ${result.machine.wrk}; h2load ${result.machine.h2load}. Load average at the start: ${result.machine.loadavg}.`,
    '- It is shared with other work: req/s moves with everything else on the machine; read the same-round ratios',
    '  and the requests per CPU-second, and compare the min–max spread before calling a difference real.',
    `- wrk and the upstreams share core ${s.loadCore}: on an idle machine HAProxy can be limited by that core rather than`,
    '  its own, which flatters the Node rows\' req/s ratios (requests per CPU-second does not have that bias).',
    '- Loopback only, small bodies, keep-alive both sides: this is per-request overhead, the worst case for a proxy',
    '  in JavaScript; large bodies are dominated by copying.',
    '',
    '## Profiling it yourself',
    '',
    '```sh',
    'npm run build',
    'taskset -c 1 node --cpu-prof --cpu-prof-dir=/tmp/prof core/bin/switchyard.js run --config bench.cfg &',
    `taskset -c 0 wrk -t1 -c${c[0]} -d${s.profileSeconds}s --latency http://127.0.0.1:8080/`,
    'kill -TERM %1        # a graceful stop writes /tmp/prof/CPU.*.cpuprofile',
    'node -e "console.log(JSON.stringify(require(\'./test/bench/lib/profile\').summarize(process.argv[1]), null, 1))" /tmp/prof/CPU.*.cpuprofile',
    '```',
    '',
    'Open the `.cpuprofile` in Chrome DevTools (Performance → Load profile) or speedscope for a flame graph.',
    '',
  );
  if (result.notes?.length) L.push('## Notes from this run', '', ...result.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

module.exports = { render, tables, evaluate };
