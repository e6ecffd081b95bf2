#!/usr/bin/env node
'use strict';
/**
 * Cost of one server selection per balancing policy, for 3, 100 and 1 000 servers.
 *
 *   npm run build && node test/bench/policies.js [--ms 300] [--json]
 *
 * Policies run on their own, as the core calls them: `select(exchange)` over a server
 * group of the core's own ServerRuntime objects. `update()` (which the core calls only when
 * a weight or an availability changes) is timed separately: the first build, and a rebuild
 * after one server's weight changes. Servers carry mixed weights
 * (1–4) and in-flight counts (0–7); exchanges rotate over 4 096 distinct client addresses,
 * URIs, query parameters and header values, so hashing sees varied keys. It needs the
 * built dist/ of the core and of each policy plugin.
 */
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const load = (dir) => require(path.join(root, 'plugins', dir, 'dist', 'index.js'));

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : argv[i + 1];
};
const budgetMs = Number(arg('--ms', '300'));
const asJson = argv.includes('--json');

/** Real server state: the core's own ServerRuntime, so policies read it exactly as in production. */
const { ServerRuntime } = require(path.join(root, 'core', 'dist', 'state.js'));

function makeServers(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const config = { name: `s${i}`, address: `127.0.0.1:${10000 + i}`, host: '127.0.0.1', port: 10000 + i, weight: 1 + (i % 4), maxconn: 0, backup: false };
    const s = new ServerRuntime('bench', config, () => undefined);
    s.active = (i * 7) % 8;
    servers.push(s);
  }
  return servers;
}

function makeExchanges(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const url = `/static/img/${i % 997}/photo-${i}.jpg?user=u${i % 509}&v=${i}`;
    out.push({
      kind: 'http',
      clientAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      url,
      path: url.slice(0, url.indexOf('?')),
      req: { url, headers: { 'x-user': `user-${i % 1021}`, host: 'www.example.com' } },
    });
  }
  return out;
}

const policies = [
  { name: 'roundrobin', plugin: 'roundrobin', balance: 'roundrobin', config: {} },
  { name: 'static-rr', plugin: 'static-rr', balance: 'static-rr', config: {} },
  { name: 'leastconn', plugin: 'leastconn', balance: 'leastconn', config: {} },
  { name: 'first', plugin: 'first', balance: 'first', config: {} },
  { name: 'random (2 draws)', plugin: 'random', balance: 'random', config: { randomDraws: 2 } },
  { name: 'source map-based', plugin: 'hash', balance: 'source', config: { hashType: 'map-based' } },
  { name: 'source consistent', plugin: 'hash', balance: 'source', config: { hashType: 'consistent' } },
  { name: 'uri map-based', plugin: 'hash', balance: 'uri', config: { hashType: 'map-based' } },
  { name: 'uri consistent', plugin: 'hash', balance: 'uri', config: { hashType: 'consistent' } },
  { name: 'url_param consistent', plugin: 'hash', balance: 'url_param', config: { hashType: 'consistent', urlParam: 'user' } },
  { name: 'hdr consistent', plugin: 'hash', balance: 'hdr', config: { hashType: 'consistent', hashHeader: 'x-user' } },
];

/** The class a plugin provides in the balance slot, via its own register step. */
function policyClass(pluginDir, balance) {
  const def = load(pluginDir).plugin;
  const provided = new Map();
  def.register({
    slots: { provide: (slot, name, impl) => provided.set(`${slot}:${name}`, impl), get: () => undefined, names: () => [] },
    container: undefined,
    logger: undefined,
  });
  const Policy = provided.get(`balance:${balance}`);
  if (!Policy) throw new Error(`${pluginDir} does not provide balance ${balance}`);
  return Policy;
}

function nsPer(fn, ms) {
  // Warm up so the JIT has compiled select() before timing.
  for (let i = 0; i < 20000; i++) fn(i);
  let iterations = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1000000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10000; i++) fn(iterations + i);
    iterations += 10000;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / iterations;
}

const sizes = [3, 100, 1000];
const exchanges = makeExchanges(4096);
const rows = [];
let sink = 0;
for (const p of policies) {
  const Policy = policyClass(p.plugin, p.balance);
  const row = { policy: p.name, select: {}, update: {}, rebuild: {} };
  for (const n of sizes) {
    const servers = makeServers(n);
    const group = { backend: { name: 'bench' }, servers, role: 'primary' };
    const config = { mode: 'http', balance: p.balance, servers: [], ...p.config };
    const policy = new Policy(group, config);
    const t0 = process.hrtime.bigint();
    policy.update?.();
    row.update[n] = Number(process.hrtime.bigint() - t0) / 1e6;
    // What a runtime change costs afterwards (slow start steps, health flaps): one weight moves.
    servers[n >> 1].setWeight(servers[n >> 1].weight + 1);
    const t1 = process.hrtime.bigint();
    policy.update?.();
    row.rebuild[n] = Number(process.hrtime.bigint() - t1) / 1e6;
    row.select[n] = nsPer((i) => {
      const s = policy.select(exchanges[i & 4095]);
      if (s !== undefined) sink += s.port;
    }, budgetMs);
  }
  rows.push(row);
}

if (asJson) {
  process.stdout.write(JSON.stringify({ node: process.version, budgetMs, rows }, null, 2) + '\n');
} else {
  const pad = (s, w) => String(s).padEnd(w);
  const num = (v) => (v < 10 ? v.toFixed(1) : Math.round(v).toString());
  process.stdout.write(`Balancing policies: ns per selection (node ${process.version}, ${budgetMs} ms per cell)\n\n`);
  process.stdout.write(`${pad('policy', 24)}${sizes.map((n) => pad(`${n} servers`, 14)).join('')}build / rebuild at 1000 (ms)\n`);
  for (const r of rows) {
    process.stdout.write(`${pad(r.policy, 24)}${sizes.map((n) => pad(num(r.select[n]), 14)).join('')}${r.update[1000].toFixed(2)} / ${r.rebuild[1000].toFixed(2)}\n`);
  }
  process.stdout.write(`\n(checksum ${sink % 1000})\n`);
}
