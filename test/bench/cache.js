#!/usr/bin/env node
'use strict';
/**
 * Cache-hit throughput: Switchyard's HTTP cache against the origin served directly and
 * against HAProxy's cache, in one run.
 *
 *   npm run build && node test/bench/cache.js            ~1 minute
 *   node test/bench/cache.js --rounds 3 --duration 8     longer, steadier
 *
 * Options: --rounds N (default 2), --duration S (seconds per run, default 5), --warmup S
 * (default 2), --connections C (default 50), --size BYTES (body size, default 1024),
 * --json FILE (write the raw results).
 *
 * The origin is nginx (one worker) answering a fixed body with Cache-Control: max-age=3600
 * (a Node origin when nginx is missing). wrk runs on core 0, each server under test on
 * core 1 (taskset). Runs are interleaved in rounds; the best run per target is reported
 * with the mean. Before measuring, each cache is checked to answer HIT. Every process the
 * bench starts is stopped by PID, also on Ctrl-C.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..', '..');
const LOAD_CORE = 0;
const TARGET_CORE = 1;

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    size: { type: 'string', default: '1024' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^[\s\S]*?\/\*\*\n/, '').replace(/^ \* ?/gm, '') + '\n');
  process.exit(0);
}
const ROUNDS = Math.max(1, Math.min(10, Number(opts.rounds)));
const DURATION = Math.max(1, Math.min(60, Number(opts.duration)));
const WARMUP = Math.max(0, Math.min(30, Number(opts.warmup)));
const CONNECTIONS = Math.max(1, Math.min(1000, Number(opts.connections)));
const SIZE = Math.max(1, Math.min(1 << 20, Number(opts.size)));
const BODY = 'c'.repeat(SIZE - 1) + '\n';

const which = (name, dirs = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']) =>
  dirs.map((d) => path.join(d, name)).find((f) => fs.existsSync(f));
const TASKSET = which('taskset');

// ------------------------------------------------------------------ processes (by PID)

const started = new Set();

function start(label, core, cmd, args) {
  const file = TASKSET ? TASKSET : cmd;
  const argv = TASKSET ? ['-c', String(core), cmd, ...args] : args;
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let output = '';
  const keep = (c) => {
    output = (output + c).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const proc = { label, child, exited: false, output: () => output };
  child.on('exit', () => {
    proc.exited = true;
    started.delete(proc);
  });
  started.add(proc);
  return proc;
}

async function stop(proc) {
  if (proc.exited) return;
  proc.child.kill('SIGTERM');
  for (let i = 0; i < 40 && !proc.exited; i++) await sleep(50);
  if (!proc.exited) proc.child.kill('SIGKILL');
}

function killAllSync() {
  for (const p of started) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}
process.on('SIGINT', () => {
  killAllSync();
  process.exit(130);
});
process.on('exit', killAllSync);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function get(port, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/asset', agent: false, timeout: 2000, headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitReady(port, proc) {
  for (let i = 0; i < 200; i++) {
    if (proc.exited) throw new Error(`${proc.label} exited:\n${proc.output()}`);
    try {
      await get(port);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${proc.label} did not answer on ${port}:\n${proc.output()}`);
}

/** CPU seconds (user + system) a process has used so far, from /proc (0 where there is none). */
function cpuSeconds(proc) {
  try {
    const stat = fs.readFileSync(`/proc/${proc.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

// ------------------------------------------------------------------ wrk

function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : 0;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    errors: (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + num(/Non-2xx or 3xx responses: (\d+)/),
  };
}

function wrk(port, seconds) {
  const bin = which('wrk');
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '2s', `http://127.0.0.1:${port}/asset`];
  const proc = start('wrk', LOAD_CORE, bin, args);
  return new Promise((resolve) => {
    const guard = setTimeout(() => proc.child.kill('SIGKILL'), (seconds + 10) * 1000);
    proc.child.on('close', () => {
      clearTimeout(guard);
      resolve(parseWrk(proc.output()));
    });
  });
}

// ------------------------------------------------------------------ targets

function nginxOrigin(dir, port) {
  const file = path.join(dir, 'nginx-origin.conf');
  const tmp = path.join(dir, 'nginx-tmp');
  fs.mkdirSync(tmp, { recursive: true });
  fs.chmodSync(tmp, 0o777);
  fs.writeFileSync(path.join(dir, 'asset'), BODY);
  fs.writeFileSync(
    file,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path ${tmp}/b; proxy_temp_path ${tmp}/p; fastcgi_temp_path ${tmp}/f; uwsgi_temp_path ${tmp}/u; scgi_temp_path ${tmp}/s;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /asset {
      root ${dir};
      default_type application/octet-stream;
      add_header Cache-Control "public, max-age=3600";
      etag on;
    }
  }
}
`,
  );
  return start('nginx origin', TARGET_CORE, which('nginx'), ['-c', file, '-p', dir]);
}

function nodeOrigin(dir, port) {
  const script = path.join(dir, 'origin.js');
  fs.writeFileSync(
    script,
    `const body = ${JSON.stringify(BODY)};
require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=3600', 'content-length': Buffer.byteLength(body), etag: '"b1"' });
  res.end(body);
}).listen(${port}, '127.0.0.1');
`,
  );
  return start('node origin', TARGET_CORE, process.execPath, [script]);
}

function switchyard(dir, port, origin, cache) {
  const file = path.join(dir, `switchyard-${cache ? 'cache' : 'proxy'}.yaml`);
  fs.writeFileSync(
    file,
    [
      'global:',
      '  logLevel: warn',
      'plugins:',
      '  - "@switchyard/preset-standard"',
      ...(cache ? ['  - "@switchyard/plugin-cache"', 'cache:', '  maxSize: 64mb'] : []),
      'frontends:',
      '  web:',
      `    bind: '127.0.0.1:${port}'`,
      '    defaultBackend: app',
      '    timeouts: { keepAlive: 60s }',
      'backends:',
      '  app:',
      '    servers:',
      `      - address: '127.0.0.1:${origin}'`,
      '',
    ].join('\n'),
  );
  return start(`switchyard${cache ? ' + cache' : ''}`, TARGET_CORE, process.execPath, [path.join(ROOT, 'core/bin/switchyard.js'), 'run', '--config', file]);
}

function haproxy(dir, port, origin) {
  const file = path.join(dir, 'haproxy-cache.cfg');
  fs.writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 4000
  log stderr format short local0 emerg

cache assets
  total-max-size 64
  max-object-size ${Math.max(SIZE * 2, 4096)}
  max-age 3600

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  option http-keep-alive
  http-reuse always

frontend web
  bind 127.0.0.1:${port}
  default_backend app

backend app
  http-request cache-use assets
  http-response cache-store assets
  http-response set-header x-cache HIT if { res.cache_hit }
  server s1 127.0.0.1:${origin}
`,
  );
  return start('haproxy + cache', TARGET_CORE, which('haproxy'), ['-f', file, '-db']);
}

// ------------------------------------------------------------------ main

async function main() {
  if (!which('wrk')) {
    process.stderr.write('wrk is not installed (apt-get install wrk): nothing to measure\n');
    return 1;
  }
  if (!fs.existsSync(path.join(ROOT, 'core/dist/cli.js')) || !fs.existsSync(path.join(ROOT, 'plugins/cache/dist/index.js'))) {
    process.stderr.write('build first: npm run build\n');
    return 1;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-cache-bench-'));
  const originPort = await freePort();
  const origin = which('nginx') ? nginxOrigin(dir, originPort) : nodeOrigin(dir, originPort);
  await waitReady(originPort, origin);

  const targets = [{ id: 'direct', label: `origin directly (${origin.label})`, port: originPort, proc: origin }];
  const syPort = await freePort();
  targets.push({ id: 'switchyard-cache', label: 'Switchyard + plugin-cache (hits)', port: syPort, proc: switchyard(dir, syPort, originPort, true), hit: (h) => h['x-cache'] === 'HIT' });
  const pxPort = await freePort();
  targets.push({ id: 'switchyard-proxy', label: 'Switchyard, no cache (every request to the origin)', port: pxPort, proc: switchyard(dir, pxPort, originPort, false) });
  if (which('haproxy')) {
    const hpPort = await freePort();
    targets.push({ id: 'haproxy-cache', label: 'HAProxy + cache (hits)', port: hpPort, proc: haproxy(dir, hpPort, originPort), hit: (h) => h['x-cache'] === 'HIT' });
  } else {
    process.stderr.write('haproxy is not installed (apt-get install haproxy): its column is skipped\n');
  }
  for (const t of targets) await waitReady(t.port, t.proc);
  // Fill the caches and check that they answer hits with the origin's body.
  for (const t of targets) {
    if (!t.hit) continue;
    let last;
    for (let i = 0; i < 5; i++) last = await get(t.port);
    if (!t.hit(last.headers) || last.body !== BODY) throw new Error(`${t.label} does not answer cache hits: ${JSON.stringify(last.headers)}`);
  }

  const runs = Object.fromEntries(targets.map((t) => [t.id, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      if (WARMUP > 0) await wrk(t.port, WARMUP);
      const cpu0 = cpuSeconds(t.proc);
      const r = await wrk(t.port, DURATION);
      const requests = r.rps * DURATION;
      // CPU time per request is steadier than req/s on a shared machine: it ignores time spent waiting for the core.
      r.cpuUsPerRequest = requests > 0 ? ((cpuSeconds(t.proc) - cpu0) * 1e6) / requests : NaN;
      runs[t.id].push(r);
      process.stderr.write(`round ${round}/${ROUNDS} ${t.id}: ${Math.round(r.rps)} req/s, ${r.cpuUsPerRequest.toFixed(1)} µs CPU/request${r.errors ? ` (${r.errors} errors)` : ''}\n`);
    }
  }
  for (const t of targets) await stop(t.proc);

  const best = (id) => Math.max(...runs[id].map((r) => r.rps));
  const mean = (id) => runs[id].reduce((a, r) => a + r.rps, 0) / runs[id].length;
  const cpu = (id) => Math.min(...runs[id].map((r) => r.cpuUsPerRequest));
  const direct = best('direct');
  const lines = [
    `cache-hit throughput, ${SIZE}-byte body, wrk -c${CONNECTIONS}, ${ROUNDS} x ${DURATION}s, target on core ${TARGET_CORE}${TASKSET ? '' : ' (no taskset: unpinned)'}`,
    '',
    '| target | best req/s | mean req/s | vs origin direct | vs HAProxy cache | CPU µs/request (best) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  const haproxyBest = runs['haproxy-cache'] ? best('haproxy-cache') : undefined;
  for (const t of targets) {
    const b = best(t.id);
    const errs = runs[t.id].reduce((a, r) => a + r.errors, 0);
    lines.push(
      `| ${t.label}${errs ? ` (${errs} errors)` : ''} | ${Math.round(b)} | ${Math.round(mean(t.id))} | ${(b / direct).toFixed(2)} | ${haproxyBest ? (b / haproxyBest).toFixed(2) : '-'} | ${cpu(t.id).toFixed(1)} |`,
    );
  }
  const sy = best('switchyard-cache');
  lines.push('', `BENCH cache-hit ratio: switchyard/direct=${(sy / direct).toFixed(2)}${haproxyBest ? ` switchyard/haproxy-cache=${(sy / haproxyBest).toFixed(2)}` : ''}`);
  lines.push(`BENCH cache-hit CPU per request: switchyard=${cpu('switchyard-cache').toFixed(1)}µs direct=${cpu('direct').toFixed(1)}µs${haproxyBest ? ` haproxy-cache=${cpu('haproxy-cache').toFixed(1)}µs` : ''}`);
  process.stdout.write(lines.join('\n') + '\n');
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ size: SIZE, connections: CONNECTIONS, runs }, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
  return 0;
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch(async (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    await Promise.all([...started].map(stop));
    process.exitCode = 1;
  });
