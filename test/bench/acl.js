#!/usr/bin/env node
'use strict';
/**
 * What routing through 50 ACL rules costs against the same config with one rule.
 *
 *   npm run build && node test/bench/acl.js [--duration 3] [--rounds 5] [--connections 32]
 *
 * Two gateways run in this process on 127.0.0.1 against one local upstream (node:http, a fixed
 * 2-byte body, keep-alive); autocannon runs in a child process. Gateway "fifty" has 50 useBackend rules (`path_beg /svcN` with a
 * `hdr(x-tenant)` check on every other rule) and the request matches only the last one, so every
 * rule is evaluated; gateway "one" has the single rule that matches. autocannon loads them in
 * alternating rounds (drift on a shared machine hits both alike) and the medians are compared.
 * Because throughput on a shared machine is noisy, it also times the route hook alone on a
 * synthetic exchange (50 rules vs 1) and divides the difference by the gateway's CPU time per
 * proxied request: a steadier estimate of the same cost.
 * Bounded: rounds × 2 × duration seconds plus start-up. Prints one line per run and the ratio.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..', '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
  },
});
const duration = Math.max(1, Math.min(30, Number(values.duration)));
const rounds = Math.max(1, Math.min(10, Number(values.rounds)));
const connections = Math.max(1, Math.min(256, Number(values.connections)));

function requireBuilt(id) {
  try {
    return require(path.join(ROOT, id));
  } catch (err) {
    console.error(`cannot load ${id} (run npm run build first): ${err.message}`);
    process.exit(2);
  }
}

const core = requireBuilt('core/dist/index.js');
const pino = require('pino');
const { execFile } = require('node:child_process');
const AUTOCANNON = require.resolve('autocannon/autocannon.js');

function config(upstream, ruleCount) {
  const rules = [];
  for (let i = 50 - ruleCount; i < 50; i++) {
    rules.push({ backend: 'app', if: i % 2 === 0 ? `path_beg /svc${i}/ { hdr(x-tenant) -m found }` : `path_beg /svc${i}/` });
  }
  return {
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl'],
    global: { logLevel: 'silent' },
    frontends: {
      web: {
        bind: '127.0.0.1:0',
        acls: { is_static: 'path_end .css .js .png' },
        useBackend: rules,
        defaultBackend: 'other',
      },
    },
    backends: {
      app: { servers: [{ address: `127.0.0.1:${upstream}` }] },
      other: { servers: [{ address: '127.0.0.1:9' }] },
    },
  };
}

async function startGateway(cfg) {
  const logger = pino({ level: 'silent' });
  const loaded = core.loadConfig({ object: cfg, baseDir: ROOT }, { logger });
  return core.Gateway.start(loaded, { logger });
}

/** autocannon in its own process, so the load generator does not share the gateways' event loop. */
function load(port) {
  const args = [AUTOCANNON, '-j', '-c', String(connections), '-d', String(duration), '-H', 'x-tenant=acme', `http://127.0.0.1:${port}/svc49/item?id=1`];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: (duration + 30) * 1000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(err);
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`autocannon output: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The upstream in its own process, so this process's CPU time is the gateways' alone. */
function startUpstream() {
  const code = `const { spawn } = require('node:child_process');
    const s = http.createServer((req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }); res.end('ok'); });
    s.keepAliveTimeout = 60000;
    s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d) => resolve({ port: Number(String(d).trim()), stop: () => child.stdin.end() }));
  });
}

/**
 * CPU microseconds one route-hook run takes on a synthetic exchange (no sockets): the ACL work
 * alone. CPU time, not wall time: on a loaded machine wall time counts other processes' turns.
 */
async function routeCost(gateway) {
  const acl = requireBuilt('plugins/acl/dist/index.js');
  const { exchange } = acl.syntheticExchange(gateway, 'web', { method: 'GET', target: 'http://shop.example/svc49/item?id=1', headers: [['x-tenant', 'acme']], src: '127.0.0.1' });
  const n = 200_000;
  for (let i = 0; i < 10_000; i++) await gateway.hooks.route.promise(exchange);
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await gateway.hooks.route.promise(exchange);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

async function main() {
  const upstream = await startUpstream();
  const upPort = upstream.port;
  const fifty = await startGateway(config(upPort, 50));
  const one = await startGateway(config(upPort, 1));
  const targets = [
    { name: 'fifty', port: fifty.address('web').port, rps: [] },
    { name: 'one', port: one.address('web').port, rps: [] },
  ];
  try {
    // Check both route to the upstream before measuring.
    for (const t of targets) {
      const res = await fetch(`http://127.0.0.1:${t.port}/svc49/item?id=1`, { headers: { 'x-tenant': 'acme' } });
      if (res.status !== 200) throw new Error(`${t.name}: status ${res.status}`);
      await res.text();
    }
    await load(targets[0].port); // warm-up, not counted
    await load(targets[1].port);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const cpu0 = process.cpuUsage();
        const result = await load(t.port);
        const cpu = process.cpuUsage(cpu0);
        t.cpuPerReq = t.cpuPerReq ?? [];
        t.cpuPerReq.push((cpu.user + cpu.system) / Math.max(1, result.requests.total));
        const bad = result.non2xx + result.errors + result.timeouts;
        t.rps.push(result.requests.average);
        console.log(`round ${r + 1} ${t.name.padEnd(5)} ${result.requests.average.toFixed(0).padStart(7)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms${bad ? `  (${bad} failed)` : ''}`);
      }
    }
    const a = median(targets[0].rps);
    const b = median(targets[1].rps);
    const cost = (1 - a / b) * 100;
    const r50 = await routeCost(fifty);
    const r1 = await routeCost(one);
    const cpu1 = median(targets[1].cpuPerReq);
    console.log(`route hook on a synthetic exchange: 50 rules ${r50.toFixed(2)} µs, 1 rule ${r1.toFixed(2)} µs; gateway CPU per proxied request (1 rule) ${cpu1.toFixed(1)} µs → 50 rules add ${(((r50 - r1) / cpu1) * 100).toFixed(1)}% CPU per request`);
    console.log(`acl bench: 50 rules ${a.toFixed(0)} req/s vs 1 rule ${b.toFixed(0)} req/s → ratio ${(a / b).toFixed(3)} (${cost.toFixed(1)}% cost; target < 5%)`);
  } finally {
    await fifty.stop(0);
    await one.stop(0);
    upstream.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
