#!/usr/bin/env node
'use strict';
/**
 * TLS offloading cost: Switchyard serving HTTPS (HTTP/1.1) and HTTP/2 (TLS, ALPN h2)
 * against plain HTTP, as ratios of requests per second, measured with h2load.
 *
 *   npm run build && node test/bench/tls.js              ~1 minute
 *   node test/bench/tls.js --rounds 3 --requests 100000  longer, steadier
 *
 * Options: --rounds N (default 2), --requests N (per run, default 30000), --warmup N
 * (requests per target before measuring, default 2000), --connections C (default 50),
 * --streams M (concurrent HTTP/2 streams per connection, default 10), --size BYTES
 * (response body, default 64), --json FILE.
 *
 * Runs are count-based (h2load -n), not timed: h2load 1.52's timed mode (-D) can wait
 * forever for streams at the end of an HTTP/2 run, against node:http2 itself too.
 *
 * One gateway process (the built CLI, `switchyard run --config`) has two frontends on the
 * same upstream: a plain HTTP bind and a TLS bind, the latter measured with HTTP/1.1 and
 * with HTTP/2 (1 and --streams concurrent streams per connection). The gateway runs pinned
 * to core 1; h2load and the Node upstream share core 0 (taskset). Runs are interleaved in
 * rounds; the best run per target is reported with the mean. Keep-alive throughout, so
 * this is the per-request cost of TLS records and HTTP/2 framing, not of handshakes; two
 * last lines count TLS handshakes per second with openssl s_time, full and resumed
 * (session reuse), from one client. Test certificates are made with the openssl CLI in a
 * temp dir. Every process is stopped by PID, also on Ctrl-C.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn, execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..', '..');
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    requests: { type: 'string', default: '30000' },
    warmup: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '50' },
    streams: { type: 'string', default: '10' },
    size: { type: 'string', default: '64' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^[\s\S]*?\/\*\*\n/, '').replace(/^ \* ?/gm, '') + '\n');
  process.exit(0);
}
const ROUNDS = Math.max(1, Math.min(10, Number(opts.rounds)));
const REQUESTS = Math.max(100, Math.min(10_000_000, Number(opts.requests)));
const WARMUP = Math.max(0, Math.min(1_000_000, Number(opts.warmup)));
const CONNECTIONS = Math.max(1, Math.min(1000, Number(opts.connections)));
const STREAMS = Math.max(1, Math.min(100, Number(opts.streams)));
const SIZE = Math.max(1, Math.min(1 << 20, Number(opts.size)));

const which = (name) => ['/usr/bin', '/usr/sbin', '/usr/local/bin'].map((d) => path.join(d, name)).find((f) => fs.existsSync(f));
const TASKSET = which('taskset');
const H2LOAD = which('h2load');
if (!H2LOAD) {
  process.stderr.write('h2load not found: apt-get install nghttp2-client\n');
  process.exit(2);
}
if (!fs.existsSync(path.join(ROOT, 'core', 'dist', 'cli.js'))) {
  process.stderr.write('build first: npm run build\n');
  process.exit(2);
}

const started = new Set();
function start(label, core, cmd, args, env = {}) {
  const file = TASKSET ? TASKSET : cmd;
  const argv = TASKSET ? ['-c', String(core), cmd, ...args] : args;
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: { ...process.env, ...env } });
  let output = '';
  const keep = (c) => (output = (output + c).slice(-8000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const proc = { label, child, output: () => output };
  child.on('exit', () => started.delete(proc));
  started.add(proc);
  return proc;
}
function stopAll() {
  for (const p of started) {
    try {
      process.kill(p.child.pid, 'SIGTERM');
    } catch {}
  }
}
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});
process.on('exit', stopAll);

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
async function waitPort(port, proc) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.label} did not listen on ${port}:\n${proc.output()}`);
}

function h2load(url, extra, requests = REQUESTS) {
  return new Promise((resolve, reject) => {
    const args = ['-c', String(CONNECTIONS), '-t', '1', '-n', String(requests), ...extra, url];
    const p = start('h2load', 0, H2LOAD, args);
    p.child.on('exit', () => {
      const out = p.output();
      const m = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
      const ok = /requests: .*? (\d+) succeeded/.exec(out);
      if (!m || !ok || Number(ok[1]) < requests) return reject(new Error(`h2load failed for ${url}:\n${out}`));
      resolve({ rps: Number(m[1]), succeeded: Number(ok[1]) });
    });
  });
}

/** TLS handshakes per second with openssl s_time: full (-new) or resumed (-reuse). */
function handshakes(port, mode) {
  return new Promise((resolve, reject) => {
    const openssl = which('openssl');
    const p = start('openssl s_time', 0, openssl, ['s_time', '-connect', `127.0.0.1:${port}`, mode, '-time', String(Math.max(2, Math.min(10, Math.round(REQUESTS / 5000))))]);
    p.child.on('exit', () => {
      const out = p.output();
      const m = /(\d+) connections in (\d+) real seconds/.exec(out);
      if (!m) return reject(new Error(`openssl s_time failed:\n${out}`));
      resolve({ perSecond: Math.round(Number(m[1]) / Number(m[2])) });
    });
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-bench-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { cwd: dir, stdio: 'ignore' });
  const [upPort, plainPort, tlsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const upstreamSrc = `const b=Buffer.from('u'.repeat(${SIZE - 1})+'\\n');require('http').createServer((q,s)=>{s.writeHead(200,{'content-type':'text/plain','content-length':b.length});s.end(b)}).listen(${upPort},'127.0.0.1')`;
  const upstream = start('upstream', 0, process.execPath, ['-e', upstreamSrc]);
  await waitPort(upPort, upstream);
  const config = path.join(dir, 'bench.yaml');
  fs.writeFileSync(
    config,
    [
      'global: { logLevel: warn }',
      'frontends:',
      `  plain: { bind: '127.0.0.1:${plainPort}', defaultBackend: app }`,
      `  secure: { bind: [{ host: 127.0.0.1, port: ${tlsPort}, tls: { cert: cert.pem, key: key.pem } }], defaultBackend: app }`,
      'backends:',
      `  app: { servers: [{ name: a, address: '127.0.0.1:${upPort}' }] }`,
      '',
    ].join('\n'),
  );
  const gw = start('switchyard', 1, process.execPath, [path.join(ROOT, 'core', 'bin', 'switchyard.js'), 'run', '--config', config]);
  await waitPort(plainPort, gw);
  await waitPort(tlsPort, gw);

  const targets = [
    { id: 'http', label: 'plain HTTP/1.1', url: `http://127.0.0.1:${plainPort}/`, extra: ['--h1'] },
    { id: 'https', label: 'HTTPS HTTP/1.1', url: `https://127.0.0.1:${tlsPort}/`, extra: ['--h1'] },
    { id: 'h2one', label: 'HTTP/2 over TLS (1 stream/conn)', url: `https://127.0.0.1:${tlsPort}/`, extra: ['-m', '1'] },
    { id: 'h2', label: `HTTP/2 over TLS (${STREAMS} streams/conn)`, url: `https://127.0.0.1:${tlsPort}/`, extra: ['-m', String(STREAMS)] },
  ];
  const results = Object.fromEntries(targets.map((t) => [t.id, []]));
  if (WARMUP >= 100) for (const t of targets) await h2load(t.url, t.extra, WARMUP);
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of targets) {
      const res = await h2load(t.url, t.extra);
      results[t.id].push(res.rps);
      process.stderr.write(`round ${r + 1}/${ROUNDS} ${t.label}: ${Math.round(res.rps)} req/s\n`);
    }
  }
  const hsFull = await handshakes(tlsPort, '-new');
  const hsResumed = await handshakes(tlsPort, '-reuse');
  const best = (id) => Math.max(...results[id]);
  const mean = (id) => results[id].reduce((a, b) => a + b, 0) / results[id].length;
  const base = best('http');
  const lines = [
    `TLS bench: ${CONNECTIONS} connections, ${REQUESTS} requests x ${ROUNDS} rounds, ${SIZE}-byte responses, gateway on 1 core (node ${process.version})`,
    ...targets.map((t) => `${t.label.padEnd(34)} best ${String(Math.round(best(t.id))).padStart(7)} req/s  mean ${String(Math.round(mean(t.id))).padStart(7)}  ratio ${(best(t.id) / base).toFixed(2)}`),
    `${'TLS handshakes, full (s_time -new)'.padEnd(34)} ${String(hsFull.perSecond).padStart(12)} conn/s`,
    `${'TLS handshakes, resumed (-reuse)'.padEnd(34)} ${String(hsResumed.perSecond).padStart(12)} conn/s`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ settings: { CONNECTIONS, REQUESTS, ROUNDS, SIZE, STREAMS }, results, handshakes: { full: hsFull, resumed: hsResumed } }, null, 2));
  stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  stopAll();
  process.exit(1);
});
