// Run: npm run build && node plugins/prometheus/bench/log-tap.js
// Cost of the stats and prometheus log taps per exchange (dist builds, fake gateway state).
const { EventEmitter } = require('node:events');
const { StatsCollector } = require('../../stats/dist/collector.js');
const { GatewayMetrics } = require('../dist/metrics.js');
const fe = { name: 'web', mode: 'http', connections: 1, config: { maxconn: 0 }, addresses: [], data: new Map() };
const server = { backend: 'api', name: 's1', id: 'api/s1', host: '127.0.0.1', port: 1, backup: false, config: { weight: 1 }, weight: 1, maxconn: 0, admin: 'ready', health: 'up', available: true, active: 0, usable: true, lastChange: Date.now(), counters: { sessions: 0, errors: 0, bytesIn: 0, bytesOut: 0, responses: [0,0,0,0,0,0] }, data: new Map() };
const be = { name: 'api', mode: 'http', config: { maxqueue: 0, balance: 'roundrobin' }, servers: [server], queued: 0, data: new Map(), server: () => server };
const gw = { frontends: new Map([['web', fe]]), backends: new Map([['api', be]]), events: new EventEmitter(), stopping: false, hooks: { log: { tap() {} } } };
const ex = { kind: 'http', frontend: fe, backend: be, server, status: 200, bytesIn: 0, bytesOut: 512, error: null, retries: 0, startHr: process.hrtime.bigint(), vars: new Map() };
const stats = new StatsCollector(gw, { latencyWindow: 512, historySeconds: 300 });
const prom = new GatewayMetrics(gw, { prefix: 'switchyard_', serverHistograms: true, processMetrics: false });
function bench(name, fn, n = 2e6) {
  for (let i = 0; i < 2e5; i++) fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t) / n;
  console.log(`${name}: ${ns.toFixed(0)} ns/exchange`);
}
bench('stats observe', () => stats.observe(ex));
bench('prometheus observe', () => prom.observe(ex));
const h = prom.hookDuration.child({ hook: 'log', plugin: 'x' });
const { performance } = require('node:perf_hooks');
bench('hook timing wrapper (2x performance.now + observe)', () => { const t = performance.now(); h.observe((performance.now() - t) / 1000); });
