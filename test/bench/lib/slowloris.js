'use strict';
// Slowloris under a bounded load (moved here from the unit suite, issue 19 item 7): up to
// 1 000 connections each trickling one header byte a second (reconnecting when cut), while
// ordinary clients make requests on fresh connections. Reports the ordinary clients' success
// rate and latency without and under the attack, and how often the proxy cut the tricklers.
const http = require('node:http');
const net = require('node:net');
const { fdHeadroom } = require('./memory');
const { sleep } = require('./procs');

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function measure(port, ms, concurrency) {
  const latencies = [];
  let ok = 0;
  let failed = 0;
  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path: '/legit', agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) {
            ok++;
            latencies.push(performance.now() - t0);
          } else failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) await one();
  }));
  latencies.sort((a, b) => a - b);
  const n = ok + failed;
  return { requests: n, ok, failed, successRate: n ? ok / n : 0, p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies[latencies.length - 1] ?? NaN };
}

async function slowloris(port, { quick = false, wanted = 1000, concurrency = 4 } = {}) {
  const attackers = Math.max(50, Math.min(wanted, Math.floor((fdHeadroom() - 300) / 2)));
  const attackMs = quick ? 6000 : 10_000;
  const baseline = await measure(port, 2000, concurrency);
  const stats = { opened: 0, cut: 0, got408: 0, open: 0, peakOpen: 0 };
  const sockets = new Set();
  let attacking = true;
  const attack = () => {
    if (!attacking) return;
    const s = net.connect(port, '127.0.0.1');
    stats.opened++;
    sockets.add(s);
    let timer = null;
    s.on('connect', () => {
      stats.open++;
      stats.peakOpen = Math.max(stats.peakOpen, stats.open);
      s.write('GET / HTTP/1.1\r\nHost: victim\r\nX-Slow: ');
      timer = setInterval(() => s.write('a'), 1000);
    });
    s.on('data', (d) => {
      if (d.toString('latin1').startsWith('HTTP/1.1 408')) stats.got408++;
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (timer) {
        clearInterval(timer);
        stats.open--;
      }
      sockets.delete(s);
      if (attacking) {
        stats.cut++;
        setTimeout(attack, 10);
      }
    });
  };
  for (let i = 0; i < attackers; i += 100) {
    for (let j = i; j < Math.min(attackers, i + 100); j++) attack();
    await sleep(50);
  }
  const underAttack = await measure(port, attackMs - 2000, concurrency);
  await sleep(2000);
  attacking = false;
  for (const s of sockets) s.destroy();
  await sleep(500);
  return { attackers, attackSeconds: attackMs / 1000, ...stats, baseline, underAttack };
}

module.exports = { slowloris };
