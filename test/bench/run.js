#!/usr/bin/env node
'use strict';
/**
 * Switchyard side by side with HAProxy and the Node floors (docs/performance.md is generated from this).
 *
 *   npm run bench                         full run (~10 minutes on an idle 2-core machine)
 *   npm run bench -- --quick              ~4 minutes: 2 rounds, shorter runs, 2 000 idle connections
 *   npm run bench -- --write-docs         also write docs/performance.md and test/bench/results/latest.json
 *   npm run bench -- --profile            also profile Switchyard (node --cpu-prof) under load, HTTP and TCP
 *   node test/bench/run.js --from-json test/bench/results/latest.json --write-docs
 *                                         regenerate docs/performance.md from a saved run (no load)
 *
 * Options: --rounds N, --duration S (seconds per wrk run), --warmup S, --connections 64,256,
 * --h2-requests N (per h2load run), --idle N (idle keep-alive clients for the memory check),
 * --only a,b (target ids; the references of each group always run), --skip tls,tcp,memory,slow,
 * idle,pieces,slowloris (sections), --peers (add nginx, http-proxy, fastify), --profile-seconds S,
 * --json FILE, --markdown FILE, --nice=N, --proxy-core N / --load-core N (defaults 1 and 0).
 *
 * Each proxy runs pinned to one core (taskset -c 1); wrk/h2load and the upstreams (nginx, one
 * worker, a fixed 64-byte body, keep-alive) share the other core (taskset -c 0). Runs are
 * interleaved in rounds so drift on this shared machine hits every target alike; ratios are
 * medians of same-round ratios. CPU time of every proxy comes from /proc/<pid>/stat (its whole
 * process tree). Nothing is installed: a missing tool is named and its targets skipped.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { execFileSync, spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const procs = require('./lib/procs');
const configs = require('./lib/configs');
const { runWrk } = require('./lib/wrk');
const { runH2load } = require('./lib/h2load');
const memory = require('./lib/memory');
const { measurePieces } = require('./lib/pieces');
const profile = require('./lib/profile');
const { slowloris } = require('./lib/slowloris');
const docs = require('./lib/docs');

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'core', 'bin', 'switchyard.js');
/** "Only the forwarder and the policy": the smallest native config. */
const HTTP_CORE = ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'];
const STANDARD = ['@switchyard/plugin-health-check', '@switchyard/plugin-stats', '@switchyard/plugin-prometheus', '@switchyard/plugin-access-log'];

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    'h2-requests': { type: 'string' },
    idle: { type: 'string' },
    nice: { type: 'string' },
    'proxy-core': { type: 'string' },
    'load-core': { type: 'string' },
    only: { type: 'string' },
    skip: { type: 'string' },
    peers: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-seconds': { type: 'string' },
    'write-docs': { type: 'boolean', default: false },
    'from-json': { type: 'string' },
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
const skip = new Set((opts.skip ?? '').split(',').filter(Boolean));
const settings = {
  rounds: Number(opts.rounds ?? (quick ? 2 : 3)),
  duration: Number(opts.duration ?? (quick ? 3 : 5)),
  warmup: Number(opts.warmup ?? (quick ? 1 : 2)),
  connections: (opts.connections ?? '64,256').split(',').map(Number),
  h2: { requests: Number(opts['h2-requests'] ?? (quick ? 20_000 : 40_000)), connections: 32, streams: 8 },
  idle: Number(opts.idle ?? (quick ? 2000 : 10000)),
  profileSeconds: Number(opts['profile-seconds'] ?? (quick ? 6 : 10)),
  nice: opts.nice === undefined ? null : Number(opts.nice),
  proxyCore: opts['proxy-core'] !== undefined ? Number(opts['proxy-core']) : 1,
  loadCore: opts['load-core'] !== undefined ? Number(opts['load-core']) : 0,
  skip: [...skip],
  peers: opts.peers,
  profile: opts.profile,
  quick,
};
if (settings.nice !== null) procs.setNice(settings.nice);
const PROXY_CORE = settings.proxyCore;
const LOAD_CORE = settings.loadCore;

const log = (msg) => process.stderr.write(`${msg}\n`);
const notes = [];
const note = (msg) => {
  notes.push(msg);
  log(`  ! ${msg}`);
};

function version(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] || 'unknown';
  } catch {
    return 'unknown';
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
    h2load: tools.h2load ? version(tools.h2load, ['--version']) : 'not installed',
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

function commandLine() {
  const args = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--write-docs') continue;
    if (a === '--json' || a === '--markdown') i++; // and its value
    else if (!a.startsWith('--json=') && !a.startsWith('--markdown=')) args.push(a);
  }
  return `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
}

async function main() {
  if (opts['from-json']) {
    const result = JSON.parse(fs.readFileSync(opts['from-json'], 'utf8'));
    output(result, { save: false });
    return;
  }
  const tools = { wrk: procs.which('wrk'), nginx: procs.which('nginx'), haproxy: procs.which('haproxy'), h2load: procs.which('h2load'), openssl: procs.which('openssl') };
  if (!tools.wrk) {
    log('wrk is not installed: install the Debian package `wrk` (apt-get install wrk) and run again.');
    process.exitCode = 1;
    return;
  }
  if (!procs.tasksetAvailable()) note('taskset not found (Debian package `util-linux`): processes are NOT pinned to cores; numbers are less fair.');
  if (os.cpus().length < 2) note('fewer than 2 CPUs: proxy, load generator and upstreams share one core.');
  if (!fs.existsSync(path.join(ROOT, 'core', 'dist', 'cli.js'))) {
    log('core/dist is missing: run `npm run build` first (`npm run bench` does).');
    process.exitCode = 1;
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  benchDir = dir;
  fs.chmodSync(dir, 0o755); // nginx workers may run as an unprivileged user
  try {
    const result = await bench(tools, dir);
    output(result, { save: true });
  } finally {
    await procs.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function output(result, { save }) {
  const md = docs.render(result);
  process.stdout.write(docs.tables(result));
  if (opts.markdown) fs.writeFileSync(opts.markdown, md);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
  if (opts['write-docs']) {
    if (save) {
      fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
      fs.writeFileSync(path.join(__dirname, 'results', 'latest.json'), JSON.stringify(result, null, 2) + '\n');
    }
    fs.writeFileSync(path.join(ROOT, 'docs', 'performance.md'), md);
    log('wrote docs/performance.md' + (save ? ' and test/bench/results/latest.json' : ''));
  }
}

async function bench(tools, dir) {
  const info = machine(tools);
  const when = new Date().toISOString();
  log(`switchyard bench: ${quick ? 'quick' : 'full'} run — ${settings.rounds} rounds × ${settings.duration}s at c${settings.connections.join(', c')}, warm-up ${settings.warmup}s`);
  log(`machine: ${info.cpu}, ${info.kernel}, node ${info.node}, load ${info.loadavg}`);

  // ------------------------------------------------------------ upstreams (load core)
  const upPorts = [await procs.freePort(), await procs.freePort()];
  const upstreams = upPorts.map((p) => `127.0.0.1:${p}`);
  const bigFile = path.join(dir, 'big.bin');
  const big20File = path.join(dir, 'big20.bin');
  for (const [f, size] of [[bigFile, 100], [big20File, 20]]) {
    fs.writeFileSync(f, '');
    fs.truncateSync(f, size * memory.MB);
  }
  let upstream;
  if (tools.nginx) {
    upstream = procs.start('nginx upstreams', LOAD_CORE, tools.nginx, ['-p', dir, '-e', 'stderr', '-c', configs.nginxUpstream(dir, upPorts, bigFile, big20File)]);
  } else {
    note('nginx is not installed (Debian package `nginx-light`): the upstreams fall back to a Node server, which limits every number below; the slow-reader check is skipped.');
    upstream = procs.start('node upstreams', LOAD_CORE, process.execPath, [path.join(__dirname, 'proxies', 'upstream.js'), configs.BODY, ...upPorts.map(String)]);
  }
  for (const p of upPorts) await procs.waitReady(upstream, p);

  // ------------------------------------------------------------ certificates for TLS + h2
  let certs = null;
  if (!skip.has('tls')) {
    if (!tools.h2load) note('TLS + HTTP/2 rows skipped: h2load is not installed (Debian package `nghttp2-client`).');
    else if (!tools.openssl) note('TLS + HTTP/2 rows skipped: openssl is not installed (Debian package `openssl`).');
    else {
      execFileSync(tools.openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { cwd: dir, stdio: 'ignore' });
      certs = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem'), both: path.join(dir, 'both.pem') };
      fs.writeFileSync(certs.both, fs.readFileSync(certs.cert, 'utf8') + fs.readFileSync(certs.key, 'utf8'));
    }
  }

  // ------------------------------------------------------------ targets (proxy core)
  const noop = Array.from({ length: 10 }, (_, i) => path.join(__dirname, 'fixtures', `noop-${i + 1}.js`));
  const maxconn = Math.floor((memory.fdLimit() - 200) / 2); // HAProxy needs 2 descriptors per connection
  const haCfg = (mode, port, tls = null, name = mode) => configs.haproxy(dir, port, upstreams, mode, maxconn, { tls, name });
  const sy = (label, args, nodeFlags = []) => procs.start(label, PROXY_CORE, process.execPath, [...nodeFlags, CLI, 'run', ...args], { cwd: ROOT });
  const syYaml = (name, port, o) => sy(`switchyard ${name}`, ['--config', configs.switchyard(dir, name, port, upstreams, o)]);
  const nodeProxy = (name, port, extra = []) => procs.start(name, PROXY_CORE, process.execPath, [path.join(__dirname, 'proxies', `${name}.js`), String(port), ...extra, ...upstreams], { cwd: ROOT });
  const ha = (name, file) => procs.start(name, PROXY_CORE, tools.haproxy, ['-db', '-f', file]);
  const promPort = await procs.freePort();

  const defs = [
    { id: 'direct', group: 'http', label: 'upstream directly (nginx, the limit)', direct: true },
    { id: 'haproxy', group: 'http', ref: true, label: 'HAProxy 2.6, nbthread 1', need: 'haproxy', start: (port) => ha('haproxy http', haCfg('http', port)) },
    { id: 'raw-node', group: 'http', ref: true, label: 'raw Node floor (net + llhttp, test/bench/proxies/raw-node.js)', start: (port) => nodeProxy('raw-node', port) },
    { id: 'node-undici', group: 'http', label: 'node:http + undici Pool (test/bench/proxies/node-undici.js)', start: (port) => nodeProxy('node-undici', port) },
    { id: 'switchyard', group: 'http', label: 'Switchyard minimal (the same haproxy.cfg, through the adapter)', start: (port) => sy('switchyard', ['--config', haCfg('http', port, null, 'switchyard')]) },
    {
      id: 'switchyard-semi1',
      group: 'http',
      label: 'Switchyard minimal, node --max-semi-space-size=1',
      start: (port) => sy('switchyard semi1', ['--config', haCfg('http', port, null, 'switchyard-semi1')], ['--max-semi-space-size=1']),
    },
    { id: 'switchyard-yaml', group: 'http', label: 'Switchyard, native YAML: forwarder + roundrobin only', start: (port) => syYaml('yaml', port, { plugins: HTTP_CORE }) },
    { id: 'switchyard-noop10', group: 'http', label: 'Switchyard, native YAML + 10 no-op plugins on every hook', start: (port) => syYaml('noop10', port, { plugins: [...HTTP_CORE, ...noop] }) },
    {
      id: 'switchyard-standard',
      group: 'http',
      label: 'Switchyard + standard set: health checks, stats, Prometheus (scraped every 1 s), access log to a file',
      module: STANDARD,
      scrape: `http://127.0.0.1:${promPort}/metrics`,
      start: (port) =>
        syYaml('standard', port, {
          plugins: [...HTTP_CORE, ...STANDARD],
          top: [
            "stats: { listen: '127.0.0.1:0' }",
            `prometheus: { listen: '127.0.0.1:${promPort}' }`,
            `accessLog: { output: file, file: ${JSON.stringify(path.join(dir, 'access.log'))} }`,
          ],
          server: 'check: true',
        }),
    },
    { id: 'haproxy-tcp', group: 'tcp', ref: true, label: 'HAProxy 2.6 TCP mode, nbthread 1', need: 'haproxy', start: (port) => ha('haproxy tcp', haCfg('tcp', port)) },
    { id: 'net-pipe', group: 'tcp', ref: true, label: 'Node `net` pipe (test/bench/proxies/net-pipe.js)', start: (port) => nodeProxy('net-pipe', port) },
    { id: 'switchyard-tcp', group: 'tcp', label: 'Switchyard TCP mode (the same haproxy.cfg, mode tcp)', start: (port) => sy('switchyard tcp', ['--config', haCfg('tcp', port, null, 'switchyard-tcp')]) },
  ];
  if (certs) {
    defs.push(
      { id: 'haproxy-tls', group: 'tls', ref: true, label: 'HAProxy 2.6, TLS + h2, nbthread 1', need: 'haproxy', start: (port) => ha('haproxy tls', haCfg('http', port, certs.both, 'tls')) },
      { id: 'node-h2-undici', group: 'tls', ref: true, label: 'node:http2 + undici Pool (test/bench/proxies/node-h2-undici.js)', start: (port) => nodeProxy('node-h2-undici', port, [certs.cert, certs.key]) },
      { id: 'switchyard-tls', group: 'tls', label: 'Switchyard, TLS + h2 (the same haproxy.cfg with ssl crt, alpn h2)', start: (port) => sy('switchyard tls', ['--config', haCfg('http', port, certs.both, 'switchyard-tls')]) },
    );
  }
  if (settings.peers) {
    defs.splice(
      4,
      0,
      { id: 'nginx', group: 'http', label: 'nginx (1 worker)', need: 'nginx', start: (port) => procs.start('nginx proxy', PROXY_CORE, tools.nginx, ['-p', dir, '-e', 'stderr', '-c', configs.nginxProxy(dir, port, upstreams)]) },
      { id: 'http-proxy', group: 'http', label: 'http-proxy', module: 'http-proxy', start: (port) => nodeProxy('http-proxy', port) },
      { id: 'fastify-reply-from', group: 'http', label: 'fastify + @fastify/reply-from', module: '@fastify/reply-from', start: (port) => nodeProxy('fastify-reply-from', port) },
    );
  }

  const only = opts.only ? new Set(opts.only.split(',')) : null;
  const targets = [];
  for (const d of defs) {
    if (skip.has(d.group)) continue;
    if (only && !only.has(d.id) && !d.ref && !d.direct) continue;
    if (d.need && !tools[d.need]) {
      note(`${d.label}: skipped — ${d.need} is not installed (Debian package \`${d.need}\`).`);
      continue;
    }
    const missing = [d.module ?? []].flat().filter((m) => !resolvable(m));
    if (missing.length > 0) {
      note(`${d.label}: skipped — npm package ${missing.join(', ')} is not installed.`);
      continue;
    }
    const t = { ...d, rounds: {}, rssLoad: 0 };
    if (d.direct) {
      t.port = upPorts[0];
      t.proc = null;
    } else {
      t.port = await procs.freePort();
      t.proc = d.start(t.port);
      try {
        if (d.group === 'tls') await waitTls(t.proc, t.port);
        else await procs.waitReady(t.proc, t.port);
      } catch (err) {
        note(`${d.label}: did not start — ${err.message.split('\n')[0]}`);
        await procs.stop(t.proc);
        continue;
      }
      await procs.sleep(1000);
      t.rssIdle = procs.rss(t.proc);
    }
    if (d.scrape) t.scraper = scraper(d.scrape);
    targets.push(t);
  }
  const group = (g) => targets.filter((t) => t.group === g);

  // ------------------------------------------------------------ load, interleaved rounds
  const runs = [];
  for (const c of settings.connections) for (const t of group('http')) runs.push({ t, key: `c${c}`, run: () => wrk(t, c, settings.duration) });
  for (const t of group('tcp')) runs.push({ t, key: `c${settings.connections[0]}`, run: () => wrk(t, settings.connections[0], settings.duration) });
  // A new TCP session per request (the upstream closes after each answer): what setting up a session costs.
  for (const t of group('tcp')) runs.push({ t, key: 'close', run: () => wrk(t, settings.connections[0], settings.duration, ['Connection: close']) });
  for (const t of group('tls')) runs.push({ t, key: 'h2', run: () => h2(t, settings.h2.requests) });
  function wrk(t, connections, seconds, headers = []) {
    return runWrk({ wrk: tools.wrk, core: LOAD_CORE, port: t.port, seconds, connections, headers });
  }
  function h2(t, requests) {
    return runH2load({ h2load: tools.h2load, core: LOAD_CORE, port: t.port, requests, connections: settings.h2.connections, streams: settings.h2.streams });
  }
  log(`warm-up: ${targets.length} targets`);
  for (const t of targets) {
    if (t.group === 'tls') await h2(t, Math.floor(settings.h2.requests / 4));
    else await wrk(t, settings.connections[settings.connections.length - 1], settings.warmup);
  }
  const blocks = [...new Set(runs.map((r) => `${r.t.group} ${r.key}`))];
  for (let r = 0; r < settings.rounds; r++) {
    for (const b of blocks) {
      const mine = runs.filter((x) => `${x.t.group} ${x.key}` === b);
      // Rotate the order each round so no target always runs first or right after another.
      const order = mine.map((_, i) => mine[(i + r) % mine.length]);
      for (const { t, key, run } of order) {
        const cpuBefore = procs.cpuSeconds(t.proc);
        const res = await run();
        res.cpu = procs.cpuSeconds(t.proc) - cpuBefore;
        res.perCore = res.cpu > 0 ? res.requests / res.cpu : NaN; // requests per CPU-second of the proxy
        if (t.proc) t.rssLoad = Math.max(t.rssLoad, procs.rss(t.proc));
        (t.rounds[key] ??= [])[r] = res;
        if (res.rps === 0) note(`${t.id} ${key} round ${r + 1}: no result (${(res.raw ?? '').replace(/\s+/g, ' ').slice(0, 200)})`);
      }
      log(`round ${r + 1}/${settings.rounds} ${b}: ${mine.map(({ t, key }) => `${t.id} ${Math.round(t.rounds[key][r].rps)}`).join(', ')}`);
    }
  }

  // ------------------------------------------------------------ memory
  const mem = {};
  for (const t of targets) if (t.proc) mem[t.id] = { rssIdle: t.rssIdle, rssLoad: t.rssLoad, after: [] };
  /** RSS of every target after a section, to see which part of the bench a process keeps memory from. */
  const checkpoint = (section) => {
    for (const t of targets) if (t.proc) mem[t.id].after.push({ section, rss: procs.rss(t.proc) });
  };
  checkpoint('the load runs');
  const bodyIds = ['haproxy', 'raw-node', 'node-undici', 'switchyard', 'switchyard-standard', 'switchyard-semi1'];
  if (!skip.has('memory')) {
    for (const t of group('http')) {
      if (!t.proc || !bodyIds.includes(t.id)) continue;
      log(`memory, 100 MB up and down: ${t.id}`);
      mem[t.id].body = await memory.bodyGrowth(t.proc, t.port);
    }
    checkpoint('100 MB up and down');
  }
  if (!skip.has('slow') && tools.nginx) {
    for (const t of group('http')) {
      if (!t.proc || !bodyIds.includes(t.id)) continue;
      log(`memory, 50 slow readers × 20 MB: ${t.id}`);
      mem[t.id].slow = await memory.slowReaders(t.proc, t.port);
    }
    checkpoint('the slow readers');
  }
  if (!skip.has('idle')) {
    const idleCount = Math.max(0, Math.min(settings.idle, memory.fdHeadroom() - 200, Math.floor((memory.fdLimit() - 400) / 2)));
    if (idleCount < settings.idle) note(`idle connections capped at ${idleCount} by the open-file limit (ulimit -n).`);
    for (const t of targets) {
      if (!t.proc || !['haproxy', 'raw-node', 'switchyard'].includes(t.id)) continue;
      log(`memory, ${idleCount} idle keep-alive clients: ${t.id}`);
      mem[t.id].idleConns = await memory.idleConnections(t.proc, t.port, idleCount, 60_000);
    }
    checkpoint(`${idleCount} idle clients`);
  }
  let slowl = null;
  if (!skip.has('slowloris')) {
    slowl = {};
    for (const t of group('http')) {
      if (!t.proc || !['haproxy', 'switchyard'].includes(t.id)) continue;
      log(`slowloris: ${t.id}`);
      slowl[t.id] = await slowloris(t.port, { quick });
    }
    checkpoint('slowloris');
  }
  await procs.sleep(2000);
  for (const t of targets) if (t.proc) mem[t.id].rssEnd = procs.rss(t.proc);
  const scrapes = {};
  for (const t of targets) {
    if (!t.scraper) continue;
    scrapes[t.id] = t.scraper.stop();
  }

  // ------------------------------------------------------------ idle memory piece by piece
  let pieces = null;
  if (!skip.has('pieces')) {
    log('memory, piece by piece');
    const cfg = haCfg('http', await procs.freePort(), null, 'pieces');
    pieces = {
      runs: measurePieces([
        { cfg, flags: [], config: 'the bench haproxy.cfg' },
        { cfg, flags: ['--max-semi-space-size=1'], config: 'the bench haproxy.cfg' },
        { cfg, flags: [], config: 'the bench haproxy.cfg', preset: true },
      ]),
    };
  }

  // ------------------------------------------------------------ profiles
  let profiles = null;
  if (settings.profile) {
    profiles = {};
    for (const t of targets) if (t.proc) await procs.stop(t.proc);
    for (const [id, mode, headers] of [['switchyard', 'http', []], ['switchyard-tcp', 'tcp', []], ['switchyard-tcp-close', 'tcp', ['Connection: close']], ['switchyard-tls', 'tls', []]]) {
      if (skip.has(mode) || (mode === 'tls' && !certs)) continue;
      log(`profile: ${id} under ${mode === 'tls' ? `h2load -n ${settings.h2.requests}` : `wrk -c${settings.connections[0]} for ${settings.profileSeconds}s`}`);
      profiles[id] = await profileRun(mode, headers);
    }
  }
  async function profileRun(mode, headers) {
    const port = await procs.freePort();
    const profDir = fs.mkdtempSync(path.join(dir, `prof-${mode}-`));
    const tls = mode === 'tls';
    const cfg = haCfg(tls ? 'http' : mode, port, tls ? certs.both : null, `profile-${mode}-${headers.length}`);
    const p = sy(`switchyard ${mode} (profiled)`, ['--config', cfg], ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    const load = (warm) => (tls ? h2({ port }, warm ? Math.floor(settings.h2.requests / 4) : settings.h2.requests) : wrk({ port }, settings.connections[0], warm ? settings.warmup : settings.profileSeconds, headers));
    if (tls) await waitTls(p, port);
    else await procs.waitReady(p, port);
    await load(true);
    const cpuBefore = procs.cpuSeconds(p);
    const from = Number(process.hrtime.bigint() / 1000n);
    const res = await load(false);
    const to = Number(process.hrtime.bigint() / 1000n);
    const cpu = procs.cpuSeconds(p) - cpuBefore;
    await procs.stop(p, 15_000);
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) {
      note(`profile ${mode}: no .cpuprofile was written (the process did not exit cleanly)`);
      return null;
    }
    return { mode, headers, tool: tls ? `h2load -n ${settings.h2.requests} -c ${settings.h2.connections} -m ${settings.h2.streams}` : `wrk -c${settings.connections[0]}${headers.map((h) => ` -H '${h}'`).join('')}`, connections: settings.connections[0], seconds: tls ? (to - from) / 1e6 : settings.profileSeconds, rps: res.rps, perCore: res.requests / cpu, ...profile.summarize(path.join(profDir, file), { window: { from, to } }) };
  }

  // ------------------------------------------------------------ summary
  return summarize({ targets, mem, pieces, profiles, slowloris: slowl, scrapes, info, when });
}

/** Waits until a TLS port completes a handshake and answers (h2load -n 1). */
async function waitTls(proc, port, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.label} exited (${proc.exitCode}): ${proc.output().slice(-2000)}`);
    const r = spawnSync('h2load', ['-n', '1', '-c', '1', `https://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: 5000 });
    if (/1 succeeded/.test(r.stdout ?? '')) return;
    await procs.sleep(200);
  }
  throw new Error(`${proc.label} not ready on port ${port}: ${proc.output().slice(-2000)}`);
}

/** GETs `url` every second until stopped; counts answers and failures. */
function scraper(url) {
  const s = { ok: 0, failed: 0, bytes: 0 };
  const timer = setInterval(() => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => {
        if (res.statusCode === 200) {
          s.ok++;
          s.bytes = n;
        } else s.failed++;
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => s.failed++);
  }, 1000);
  return { stop: () => (clearInterval(timer), s) };
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarize({ targets, mem, pieces, profiles, slowloris: slowl, scrapes, info, when }) {
  const byId = new Map(targets.map((t) => [t.id, t]));
  /** Median over rounds of fn(round of t, same round of ref). */
  const perRound = (t, ref, key, fn) => {
    if (!t || !ref || !t.rounds[key] || !ref.rounds[key]) return NaN;
    return median(t.rounds[key].map((x, i) => (ref.rounds[key][i] ? fn(x, ref.rounds[key][i]) : NaN)));
  };
  const refs = { http: ['haproxy', 'raw-node'], tcp: ['haproxy-tcp', 'net-pipe'], tls: ['haproxy-tls', 'node-h2-undici'] };
  const tables = {};
  for (const t of targets) {
    for (const key of Object.keys(t.rounds)) {
      const rs = t.rounds[key].filter(Boolean);
      const [native, floor] = refs[t.group].map((id) => byId.get(id));
      const row = {
        id: t.id,
        label: t.label,
        rps: median(rs.map((x) => x.rps)),
        min: Math.min(...rs.map((x) => x.rps)),
        max: Math.max(...rs.map((x) => x.rps)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        mean: median(rs.map((x) => x.mean)),
        errors: rs.reduce((a, x) => a + x.errors, 0),
        perCore: t.direct ? NaN : median(rs.map((x) => x.perCore)),
        vsNative: t.direct ? NaN : perRound(t, native, key, (a, b) => a.rps / b.rps),
        perCoreVsNative: t.direct ? NaN : perRound(t, native, key, (a, b) => a.perCore / b.perCore),
        p99VsNative: t.direct ? NaN : perRound(t, native, key, (a, b) => a.p99 / b.p99),
        vsFloor: t.direct ? NaN : perRound(t, floor, key, (a, b) => a.rps / b.rps),
        perCoreVsFloor: t.direct ? NaN : perRound(t, floor, key, (a, b) => a.perCore / b.perCore),
        rounds: rs.map((x) => ({ rps: x.rps, requests: x.requests, cpu: x.cpu, perCore: x.perCore, p50: x.p50, p99: x.p99, mean: x.mean, errors: x.errors })),
      };
      (tables[`${t.group} ${key}`] ??= []).push(row);
    }
  }
  const labels = Object.fromEntries(targets.map((t) => [t.id, t.label]));
  const noop = byId.get('switchyard-noop10');
  const yaml = byId.get('switchyard-yaml');
  const pluginCost = {};
  for (const key of Object.keys(noop?.rounds ?? {})) {
    pluginCost[key] = { rps: 1 - perRound(noop, yaml, key, (a, b) => a.rps / b.rps), perCore: 1 - perRound(noop, yaml, key, (a, b) => a.perCore / b.perCore) };
  }
  return { when, command: commandLine(), settings, machine: info, notes, labels, tables, memory: mem, pieces, profiles, slowloris: slowl, scrapes, pluginCost };
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
