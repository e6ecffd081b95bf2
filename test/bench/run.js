#!/usr/bin/env node
'use strict';
/**
 * Switchyard side by side with HAProxy, nginx and the Node proxies (see docs/performance.md).
 *
 *   npm run bench                 full run (~7 minutes on an idle 2-core machine)
 *   npm run bench -- --quick      ~2 minutes there: fewer rounds, shorter runs, 2 000 idle connections
 *
 * Options: --rounds N, --duration S (seconds per run), --warmup S, --connections C,
 * --idle N (idle keep-alive connections for the memory check), --only a,b (target ids),
 * --no-memory, --markdown FILE (write the tables), --json FILE (write the raw results),
 * --nice=N (run every process at nice N, e.g. --nice=-10 as root, when other work shares the cores),
 * --proxy-core N / --load-core N (defaults 1 and 0: the cores for the proxies and for wrk + upstreams).
 *
 * Each proxy runs pinned to one core (taskset -c 1); wrk and the upstreams (nginx, one
 * worker, a fixed 64-byte body, keep-alive) share the other core (taskset -c 0). Runs are
 * interleaved in rounds so drift on this shared machine hits every target alike. Nothing
 * is installed: a missing Debian package is named and its target skipped.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const procs = require('./lib/procs');
const configs = require('./lib/configs');
const { runWrk } = require('./lib/wrk');
const memory = require('./lib/memory');

const ROOT = path.resolve(__dirname, '..', '..');
let LOAD_CORE = 0;
/** "Only the forwarder and the policy": the HTTP half of preset-standard. */
const HTTP_CORE = ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'];
let PROXY_CORE = 1;

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    idle: { type: 'string' },
    nice: { type: 'string' },
    'proxy-core': { type: 'string' },
    'load-core': { type: 'string' },
    only: { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    markdown: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^[\s\S]*?\/\*\*\n/, '').replace(/^ \* ?/gm, '') + '\n');
  process.exit(0);
}
const quick = opts.quick;
const settings = {
  rounds: Number(opts.rounds ?? (quick ? 3 : 5)),
  duration: Number(opts.duration ?? (quick ? 2 : 5)),
  warmup: Number(opts.warmup ?? (quick ? 1 : 3)),
  connections: Number(opts.connections ?? 50),
  idle: Number(opts.idle ?? (quick ? 2000 : 10000)),
  memory: !opts['no-memory'],
  nice: opts.nice === undefined ? null : Number(opts.nice),
};
if (settings.nice !== null) procs.setNice(settings.nice);
if (opts['proxy-core'] !== undefined) PROXY_CORE = Number(opts['proxy-core']);
if (opts['load-core'] !== undefined) LOAD_CORE = Number(opts['load-core']);
settings.proxyCore = PROXY_CORE;
settings.loadCore = LOAD_CORE;

const log = (msg) => process.stderr.write(`${msg}\n`);
const notes = [];
const note = (msg) => {
  notes.push(msg);
  log(`  ! ${msg}`);
};

function version(cmd, args) {
  try {
    const r = require('node:child_process').spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] || 'unknown';
  } catch (err) {
    return String((err.stderr ?? '') + (err.stdout ?? '')).trim().split('\n')[0] || 'unknown';
  }
}

function resolvable(mod) {
  try {
    require.resolve(mod, { paths: [ROOT] });
    return true;
  } catch {
    return false;
  }
}

function machine(tools) {
  const cpus = os.cpus();
  return {
    cpu: `${cpus[0]?.model ?? 'unknown'} × ${cpus.length}`,
    kernel: `${os.type()} ${os.release()}`,
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GB`,
    node: process.version,
    nginx: tools.nginx ? version(tools.nginx, ['-v']) : 'not installed',
    haproxy: tools.haproxy ? version(tools.haproxy, ['-v']) : 'not installed',
    wrk: tools.wrk ? version(tools.wrk, ['-v']) : 'not installed',
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mb = (bytes) => (Number.isFinite(bytes) && bytes > 0 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : '-');
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const ms = (x) => (Number.isFinite(x) ? (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1)) : '-');
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '-');

async function main() {
  const tools = {
    wrk: procs.which('wrk'),
    nginx: procs.which('nginx'),
    haproxy: procs.which('haproxy'),
  };
  if (!tools.wrk) {
    log('wrk is not installed: install the Debian package `wrk` (apt-get install wrk) and run again.');
    process.exitCode = 1;
    return;
  }
  if (!procs.tasksetAvailable()) note('taskset not found (Debian package `util-linux`): processes are NOT pinned to cores; numbers are less fair.');
  if (os.cpus().length < 2) note('fewer than 2 CPUs: proxy, load generator and upstreams share one core.');
  if (!fs.existsSync(path.join(ROOT, 'core', 'dist', 'bin.js')) && !fs.existsSync(path.join(ROOT, 'core', 'dist', 'cli.js'))) {
    log('core/dist is missing: run `npm run build` first (`npm run bench` does).');
    process.exitCode = 1;
    return;
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  benchDir = dir;
  fs.chmodSync(dir, 0o755); // nginx workers may run as an unprivileged user
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await bench(tools, dir);
  } finally {
    await procs.stopAll();
    cleanup();
  }
}

async function bench(tools, dir) {
  const info = machine(tools);
  log(`switchyard bench: ${quick ? 'quick' : 'full'} run — ${settings.rounds} rounds × ${settings.duration}s, ${settings.connections} connections, warm-up ${settings.warmup}s`);
  log(`machine: ${info.cpu}, ${info.kernel}, node ${info.node}, load ${info.loadavg}`);

  // ------------------------------------------------------------ upstreams (load core)
  const upPorts = [await procs.freePort(), await procs.freePort()];
  const upstreams = upPorts.map((p) => `127.0.0.1:${p}`);
  const bigFile = path.join(dir, 'big.bin');
  fs.writeFileSync(bigFile, '');
  fs.truncateSync(bigFile, 100 * memory.MB);
  let upstream;
  if (tools.nginx) {
    upstream = procs.start('nginx upstreams', LOAD_CORE, tools.nginx, ['-p', dir, '-e', 'stderr', '-c', configs.nginxUpstream(dir, upPorts, bigFile)]);
  } else {
    note('nginx is not installed (Debian package `nginx`): the upstreams fall back to a Node server, which limits every number below; the nginx target is skipped.');
    upstream = procs.start('node upstreams', LOAD_CORE, process.execPath, [path.join(__dirname, 'proxies', 'upstream.js'), configs.BODY, ...upPorts.map(String)]);
  }
  for (const p of upPorts) await procs.waitReady(upstream, p);

  // ------------------------------------------------------------ targets (proxy core)
  const cli = path.join(ROOT, 'core', 'bin', 'switchyard.js');
  const fixtures = path.join(__dirname, 'fixtures');
  const noop = Array.from({ length: 10 }, (_, i) => path.join(fixtures, `noop-${i + 1}.js`));
  const hasWorkers = /--workers/.test(helpOf(cli));

  const defs = [
    { id: 'direct', label: 'upstream directly (the limit)', kind: 'http', direct: true },
    { id: 'switchyard', label: 'Switchyard (forwarder + roundrobin)', kind: 'http', start: (port) => sy('http', port, { plugins: HTTP_CORE }) },
    {
      id: 'switchyard-noop10',
      label: 'Switchyard + 10 no-op plugins',
      kind: 'http',
      start: (port) => sy('noop10', port, { plugins: [...HTTP_CORE, ...noop] }),
    },
    {
      id: 'switchyard-standard',
      label: 'Switchyard + health-check, stats, access-log (file)',
      kind: 'http',
      module: ['@switchyard/plugin-health-check', '@switchyard/plugin-stats', '@switchyard/plugin-access-log'],
      start: (port) =>
        sy('standard', port, {
          plugins: [...HTTP_CORE, '@switchyard/plugin-health-check', '@switchyard/plugin-stats', '@switchyard/plugin-access-log'],
          top: ["stats: { listen: '127.0.0.1:0' }", `accessLog: { output: file, file: ${JSON.stringify(path.join(dir, 'access.log'))} }`],
          server: 'check: true',
        }),
    },
    { id: 'haproxy', label: 'HAProxy (nbthread 1)', kind: 'http', need: 'haproxy', start: (port) => ha('http', port) },
    {
      id: 'nginx',
      label: 'nginx (1 worker)',
      kind: 'http',
      need: 'nginx',
      start: (port) => procs.start('nginx proxy', PROXY_CORE, tools.nginx, ['-p', dir, '-e', 'stderr', '-c', configs.nginxProxy(dir, port, upstreams)]),
    },
    { id: 'http-proxy', label: 'http-proxy', kind: 'http', module: 'http-proxy', start: (port) => nodeProxy('http-proxy', port) },
    {
      id: 'fastify-reply-from',
      label: 'fastify + @fastify/reply-from',
      kind: 'http',
      module: '@fastify/reply-from',
      start: (port) => nodeProxy('fastify-reply-from', port),
    },
    { id: 'node-undici', label: '40-line node:http + undici Pool', kind: 'http', start: (port) => nodeProxy('node-undici', port) },
    {
      id: 'switchyard-tcp',
      label: 'Switchyard TCP mode',
      kind: 'tcp',
      start: (port) => sy('tcp', port, { mode: 'tcp', plugins: ['@switchyard/plugin-tcp-forwarder', '@switchyard/plugin-roundrobin'] }),
    },
    { id: 'haproxy-tcp', label: 'HAProxy TCP mode (nbthread 1)', kind: 'tcp', need: 'haproxy', start: (port) => ha('tcp', port) },
  ];
  if (hasWorkers) {
    defs.push({
      id: 'switchyard-workers',
      label: 'Switchyard --workers 2 (both cores, shared with wrk)',
      kind: 'http',
      core: '0,1',
      start: (port) => sy('workers', port, { plugins: HTTP_CORE, extra: ['--workers', '2'], core: '0,1' }),
    });
  } else {
    note('Switchyard has no `--workers` option yet: the N-workers row is skipped.');
  }
  note('fast-gateway: not measured — it cannot be installed (its dependency fast-proxy-lite@^1.1.3 is missing from the npm registry).');
  note('TLS + HTTP/2 vs HAProxy: not in this harness yet; `node test/bench/tls.js` measures Switchyard HTTPS and HTTP/2 against its own plain HTTP with h2load.');

  function sy(name, port, { mode = 'http', plugins, top, server, extra = [], core = PROXY_CORE } = {}) {
    const file = configs.switchyard(dir, name, port, upstreams, { mode, plugins, top, server });
    return procs.start(`switchyard ${name}`, core, process.execPath, [cli, 'run', '--config', file, ...extra], { cwd: ROOT });
  }
  function ha(mode, port) {
    const maxconn = Math.floor((memory.fdLimit() - 200) / 2); // HAProxy needs 2 descriptors per connection
    return procs.start(`haproxy ${mode}`, PROXY_CORE, tools.haproxy, ['-db', '-f', configs.haproxy(dir, port, upstreams, mode, maxconn)]);
  }
  function nodeProxy(name, port) {
    return procs.start(name, PROXY_CORE, process.execPath, [path.join(__dirname, 'proxies', `${name}.js`), String(port), ...upstreams], { cwd: ROOT });
  }

  const only = opts.only ? new Set(opts.only.split(',')) : null;
  const targets = [];
  for (const d of defs) {
    if (only && !only.has(d.id) && d.id !== 'direct' && d.id !== 'haproxy' && d.id !== 'haproxy-tcp') continue;
    if (d.need && !tools[d.need]) {
      note(`${d.label}: skipped — ${d.need} is not installed (Debian package \`${d.need}\`).`);
      continue;
    }
    const missing = [d.module ?? []].flat().filter((m) => !resolvable(m));
    if (missing.length > 0) {
      note(`${d.label}: skipped — npm package ${missing.join(', ')} is not installed.`);
      continue;
    }
    const t = { ...d, rounds: [], rssLoad: 0 };
    if (d.direct) {
      t.port = upPorts[0];
      t.proc = null;
    } else {
      t.port = await procs.freePort();
      t.proc = d.start(t.port);
      try {
        await procs.waitReady(t.proc, t.port);
      } catch (err) {
        note(`${d.label}: did not start — ${err.message.split('\n')[0]}`);
        await procs.stop(t.proc);
        continue;
      }
      await procs.sleep(1000);
      t.rssIdle = procs.rss(t.proc);
    }
    targets.push(t);
  }

  // ------------------------------------------------------------ throughput, interleaved rounds
  const wrkRun = (t, seconds) => runWrk({ wrk: tools.wrk, core: LOAD_CORE, port: t.port, seconds, connections: settings.connections });
  log(`warm-up: ${targets.length} targets × ${settings.warmup}s`);
  for (const t of targets) await wrkRun(t, settings.warmup);
  for (let r = 0; r < settings.rounds; r++) {
    // Rotate the order each round so no target always runs first or right after another.
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of order) {
      const cpuBefore = procs.cpuSeconds(t.proc);
      const res = await wrkRun(t, settings.duration);
      // Requests per CPU-second of the proxy: its req/s per core, robust to other load on the machine.
      res.cpu = procs.cpuSeconds(t.proc) - cpuBefore;
      res.perCore = res.cpu > 0 ? res.requests / res.cpu : NaN;
      if (t.proc) t.rssLoad = Math.max(t.rssLoad, procs.rss(t.proc));
      t.rounds[r] = res;
      if (res.rps === 0) note(`${t.id} round ${r + 1}: no result (${(res.raw ?? '').replace(/\s+/g, ' ').slice(0, 200)})`);
    }
    log(`round ${r + 1}/${settings.rounds}: ${targets.map((t) => `${t.id} ${fmt(t.rounds[r].rps)}`).join(', ')}`);
  }

  // ------------------------------------------------------------ memory
  if (settings.memory) {
    // Each proxy holds one descriptor per idle client (HAProxy reserves two), this process one.
    const idleCount = Math.max(0, Math.min(settings.idle, memory.fdHeadroom() - 200, Math.floor((memory.fdLimit() - 400) / 2)));
    if (idleCount < settings.idle) note(`idle connections capped at ${idleCount} by the open-file limit (ulimit -n).`);
    for (const t of targets) {
      if (!t.proc) continue;
      log(`memory: ${t.id}`);
      if (t.kind === 'http') t.body = await memory.bodyGrowth(t.proc, t.port);
      t.idleConns = await memory.idleConnections(t.proc, t.port, idleCount, 60_000);
    }
  }

  const result = summarize(targets, info);
  const md = render(result);
  process.stdout.write(md);
  if (opts.markdown) fs.writeFileSync(opts.markdown, md);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(result, null, 2));
}

function helpOf(cli) {
  try {
    return execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (err) {
    return String(err.stdout ?? '');
  }
}

function summarize(targets, info) {
  const byId = new Map(targets.map((t) => [t.id, t]));
  const perRound = (t, ref, fn) => {
    if (!t || !ref) return NaN;
    return median(t.rounds.map((x, i) => fn(x, ref.rounds[i])));
  };
  const rows = targets.map((t) => {
    const rps = t.rounds.map((x) => x.rps);
    const haRef = byId.get(t.kind === 'tcp' ? 'haproxy-tcp' : 'haproxy');
    const direct = byId.get('direct');
    return {
      id: t.id,
      label: t.label,
      kind: t.kind,
      rps: median(rps),
      min: Math.min(...rps),
      max: Math.max(...rps),
      p50: median(t.rounds.map((x) => x.p50)),
      p99: median(t.rounds.map((x) => x.p99)),
      errors: t.rounds.reduce((a, x) => a + x.errors, 0),
      rssIdle: t.rssIdle,
      rssLoad: t.rssLoad,
      perCore: median(t.rounds.map((x) => x.perCore)),
      cpu: t.rounds.reduce((a, x) => a + (Number.isFinite(x.cpu) ? x.cpu : 0), 0),
      vsHaproxy: perRound(t, haRef, (a, b) => a.rps / b.rps),
      perCoreVsHaproxy: perRound(t, haRef, (a, b) => a.perCore / b.perCore),
      p99VsHaproxy: perRound(t, haRef, (a, b) => a.p99 / b.p99),
      vsDirect: perRound(t, direct, (a, b) => a.rps / b.rps),
      body: t.body,
      idleConns: t.idleConns,
      rounds: t.rounds.map((x) => ({ rps: x.rps, perCore: x.perCore, cpu: x.cpu, p50: x.p50, p99: x.p99, errors: x.errors })),
    };
  });
  const sy = byId.get('switchyard');
  const noop = byId.get('switchyard-noop10');
  const pluginCost = sy && noop ? 1 - perRound(noop, sy, (a, b) => a.rps / b.rps) : NaN;
  const pluginCostPerCore = sy && noop ? 1 - perRound(noop, sy, (a, b) => a.perCore / b.perCore) : NaN;
  return { when: new Date().toISOString(), settings: { ...settings, quick }, machine: info, notes, rows, pluginCost, pluginCostPerCore };
}

function render(result) {
  const { rows, settings: s } = result;
  const lines = [];
  lines.push(`### Throughput (HTTP/1.1 keep-alive, ${s.connections} connections, ${s.rounds} interleaved rounds × ${s.duration}s)`, '');
  lines.push('| target | req/s (median) | min–max | p50 ms | p99 ms | errors | req per CPU-s | RSS idle | RSS loaded | × HAProxy req/s | × HAProxy per core | p99 × HAProxy | × direct |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const d = r.id === 'direct';
    lines.push(
      `| ${r.label} | ${fmt(r.rps)} | ${fmt(r.min)}–${fmt(r.max)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors} | ${d ? '-' : fmt(r.perCore)} | ${mb(r.rssIdle)} | ${mb(r.rssLoad)} | ${d ? '-' : ratio(r.vsHaproxy)} | ${d ? '-' : ratio(r.perCoreVsHaproxy)} | ${d ? '-' : ratio(r.p99VsHaproxy)} | ${d ? '-' : ratio(r.vsDirect)} |`,
    );
  }
  lines.push(
    '',
    'Ratios are medians of per-round ratios (both measured in the same round); TCP rows compare with HAProxy in TCP mode.',
    '"req per CPU-s" is requests served per second of CPU the proxy used (user + system, its whole process tree): its',
    'req/s per core, which holds up when other work shares the cores; req/s itself moves with everything else on the machine.',
    '',
  );
  const withMem = rows.filter((r) => r.idleConns || r.body);
  if (withMem.length > 0) {
    const n = Math.max(...withMem.map((r) => (r.idleConns ? r.idleConns.opened : 0)));
    lines.push(`### Memory`, '');
    lines.push(`| target | RSS idle | RSS with ${fmt(n)} idle keep-alive clients | 100 MB upload: RSS growth | 100 MB download (slow reader): RSS growth |`);
    lines.push('|---|---:|---:|---:|---:|');
    for (const r of withMem) {
      const ic = r.idleConns;
      const idle = ic ? `${mb(ic.rss)}${ic.opened < n || ic.alive < ic.opened ? ` (${ic.opened} opened, ${ic.alive} alive)` : ''}` : '-';
      const b = (x) => (x ? (x.ok ? `${(x.growth / memory.MB).toFixed(1)} MB` : `failed: ${x.detail}`) : '-');
      lines.push(`| ${r.label} | ${mb(r.rssIdle)} | ${idle} | ${b(r.body?.upload)} | ${b(r.body?.download)} |`);
    }
    lines.push('');
  }
  const get = (id) => rows.find((r) => r.id === id);
  const sy = get('switchyard');
  const syTcp = get('switchyard-tcp');
  const target = (name, value, ok) => `| ${name} | ${value} | ${ok === null ? 'n/a' : ok ? 'met' : 'NOT met'} |`;
  lines.push('### Targets', '', '| target | measured | |', '|---|---|---|');
  if (sy) {
    lines.push(target('HTTP/1.1 keep-alive ≥ 0.5× HAProxy req/s per core (CPU time)', ratio(sy.perCoreVsHaproxy), Number.isFinite(sy.perCoreVsHaproxy) ? sy.perCoreVsHaproxy >= 0.5 : null));
    lines.push(target('HTTP/1.1 keep-alive ≥ 0.5× HAProxy req/s (wall clock, same round)', ratio(sy.vsHaproxy), Number.isFinite(sy.vsHaproxy) ? sy.vsHaproxy >= 0.5 : null));
    lines.push(target('HTTP p99 ≤ 2× HAProxy', ratio(sy.p99VsHaproxy), Number.isFinite(sy.p99VsHaproxy) ? sy.p99VsHaproxy <= 2 : null));
  }
  if (syTcp) {
    lines.push(target('TCP ≥ 0.9× HAProxy per core (CPU time)', ratio(syTcp.perCoreVsHaproxy), Number.isFinite(syTcp.perCoreVsHaproxy) ? syTcp.perCoreVsHaproxy >= 0.9 : null));
    lines.push(target('TCP ≥ 0.9× HAProxy req/s (wall clock)', ratio(syTcp.vsHaproxy), Number.isFinite(syTcp.vsHaproxy) ? syTcp.vsHaproxy >= 0.9 : null));
  }
  const loss = (x) => (x >= 0 ? `${(x * 100).toFixed(1)}% loss` : `no loss (${(-x * 100).toFixed(1)}% faster, noise)`);
  if (Number.isFinite(result.pluginCostPerCore)) {
    lines.push(target('ten no-op plugins ≤ 5% loss (per core)', loss(result.pluginCostPerCore), result.pluginCostPerCore <= 0.05));
  }
  if (Number.isFinite(result.pluginCost)) {
    lines.push(target('ten no-op plugins ≤ 5% loss (req/s)', loss(result.pluginCost), result.pluginCost <= 0.05));
  }
  if (sy) {
    lines.push(target('≤ 60 MB RSS idle', mb(sy.rssIdle), sy.rssIdle ? sy.rssIdle <= 60 * memory.MB : null));
    if (sy.body) {
      const g = Math.max(sy.body.upload.growth, sy.body.download.growth);
      const shown = (x) => `${(x.growth / memory.MB).toFixed(1)} MB`;
      lines.push(target('100 MB body grows RSS ≤ 32 MB', `${shown(sy.body.upload)} up, ${shown(sy.body.download)} down`, sy.body.upload.ok && sy.body.download.ok ? g <= 32 * memory.MB : false));
    }
  }
  lines.push('');
  const m = result.machine;
  lines.push('### Machine', '');
  lines.push(`- ${m.cpu}; ${m.kernel}; ${m.memory} RAM; load average at start ${m.loadavg}`);
  lines.push(`- node ${m.node}; ${m.nginx}; ${m.haproxy}; ${m.wrk}`);
  lines.push(`- proxies pinned to core ${s.proxyCore}; wrk (1 thread, ${s.connections} connections) and the upstreams to core ${s.loadCore}`);
  const args = [
    s.quick ? '--quick' : '',
    s.nice !== null ? `--nice=${s.nice}` : '',
    s.proxyCore !== 1 ? `--proxy-core ${s.proxyCore}` : '',
    s.loadCore !== 0 ? `--load-core ${s.loadCore}` : '',
  ].filter(Boolean).join(' ');
  lines.push(`- ${result.when}, \`npm run bench${args ? ` -- ${args}` : ''}\``);
  if (result.notes.length > 0) {
    lines.push('', '### Notes', '');
    for (const n of result.notes) lines.push(`- ${n}`);
  }
  return lines.join('\n') + '\n';
}

let benchDir = null;
const abort = (code) => {
  procs.killAllSync();
  if (benchDir) fs.rmSync(benchDir, { recursive: true, force: true });
  process.exit(code);
};
process.on('SIGINT', () => abort(130));
process.on('SIGTERM', () => abort(143));
process.on('exit', () => procs.killAllSync());

main().catch(async (err) => {
  log(`bench failed: ${err.stack ?? err}`);
  await procs.stopAll();
  process.exitCode = 1;
});
