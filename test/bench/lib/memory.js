'use strict';
// Memory checks: RSS growth while a 100 MB body streams through a proxy (both directions),
// and RSS with thousands of idle keep-alive client connections.
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { rss, sleep } = require('./procs');

const MB = 1024 * 1024;

/** Samples a process tree's RSS every 10 ms while `work()` runs; returns the peak. */
async function peakDuring(proc, work) {
  let peak = rss(proc);
  const timer = setInterval(() => {
    const r = rss(proc);
    if (r > peak) peak = r;
  }, 10);
  try {
    const result = await work();
    return { peak, result };
  } finally {
    clearInterval(timer);
    const r = rss(proc);
    if (r > peak) peak = r;
  }
}

/** POSTs `size` bytes to /upload as fast as the proxy takes them. */
function upload(port, size, timeoutMs) {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 97);
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/upload', agent: false, headers: { 'content-length': size, 'content-type': 'application/octet-stream' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode }));
        res.on('error', (err) => resolve({ ok: false, error: err.message }));
      },
    );
    const timer = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs);
    req.on('error', (err) => resolve({ ok: false, error: err.message }));
    req.on('close', () => clearTimeout(timer));
    let left = size;
    const write = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/** GETs /big (100 MB) reading at most ~200 MB/s: a slower client than the upstream, so backpressure matters. */
function download(port, timeoutMs) {
  return new Promise((resolve) => {
    let got = 0;
    let sincePause = 0;
    const req = http.get({ host: '127.0.0.1', port, path: '/big', agent: false }, (res) => {
      res.on('data', (c) => {
        got += c.length;
        sincePause += c.length;
        if (sincePause >= MB) {
          sincePause = 0;
          res.pause();
          setTimeout(() => res.resume(), 5);
        }
      });
      res.on('end', () => resolve({ ok: res.statusCode === 200 && got === 100 * MB, status: res.statusCode, bytes: got }));
      res.on('error', (err) => resolve({ ok: false, error: err.message, bytes: got }));
    });
    const timer = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs);
    req.on('error', (err) => resolve({ ok: false, error: err.message, bytes: got }));
    req.on('close', () => clearTimeout(timer));
  });
}

/** RSS growth (peak minus before) of the proxy for a 100 MB upload and a 100 MB download. */
async function bodyGrowth(proc, port) {
  const out = {};
  for (const [name, work] of [
    ['upload', () => upload(port, 100 * MB, 60_000)],
    ['download', () => download(port, 60_000)],
  ]) {
    await sleep(200);
    const before = rss(proc);
    const { peak, result } = await peakDuring(proc, work);
    out[name] = { growth: Math.max(0, peak - before), ok: result.ok, detail: result.ok ? '' : result.error ?? `status ${result.status}` };
  }
  return out;
}

/**
 * `clients` slow readers at once, each GETting /big20 (20 MB) and reading ~`chunk` bytes every
 * `everyMs` (about 2.5 MB/s each): RSS base before, peak growth while they read (issue 19 item 4).
 */
async function slowReaders(proc, port, { clients = 50, size = 20 * MB, chunk = 256 * 1024, everyMs = 100, timeoutMs = 120_000 } = {}) {
  const one = () =>
    new Promise((resolve) => {
      let got = 0;
      let window = 0;
      const req = http.get({ host: '127.0.0.1', port, path: '/big20', agent: false }, (res) => {
        res.on('data', (c) => {
          got += c.length;
          window += c.length;
          if (window >= chunk) {
            window = 0;
            res.pause();
            setTimeout(() => res.resume(), everyMs);
          }
        });
        res.on('end', () => resolve(res.statusCode === 200 && got === size));
        res.on('error', () => resolve(false));
      });
      const timer = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs);
      req.on('error', () => resolve(false));
      req.on('close', () => clearTimeout(timer));
    });
  await sleep(500);
  const base = rss(proc);
  const started = Date.now();
  const { peak, result } = await peakDuring(proc, () => Promise.all(Array.from({ length: clients }, one)));
  const ok = result.filter(Boolean).length;
  return { base, growth: Math.max(0, peak - base), peak, clients, ok, seconds: (Date.now() - started) / 1000, size };
}

/** The soft open-file limit (ulimit -n), which the proxies inherit. */
function fdLimit() {
  try {
    return Number(/Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1]);
  } catch {
    return 1024;
  }
}

/** How many more descriptors this process may open (soft RLIMIT_NOFILE minus those open now). */
function fdHeadroom() {
  try {
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const soft = Number(/Max open files\s+(\d+)/.exec(limits)[1]);
    const open = fs.readdirSync('/proc/self/fd').length;
    return soft - open;
  } catch {
    return 1000;
  }
}

/**
 * Opens `count` client connections, one request each (so each is a real keep-alive client
 * connection past its first exchange), then measures the proxy's RSS with them all idle.
 */
async function idleConnections(proc, port, count, timeoutMs) {
  const sockets = [];
  const request = 'GET / HTTP/1.1\r\nHost: bench\r\n\r\n';
  let opened = 0;
  let failed = 0;
  const deadline = Date.now() + timeoutMs;
  const one = () =>
    new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      sockets.push(s);
      const done = (ok) => {
        clearTimeout(timer);
        s.removeAllListeners('data');
        if (ok) opened++;
        else failed++;
        resolve();
      };
      const timer = setTimeout(() => done(false), 5000);
      s.on('error', () => done(false));
      s.once('connect', () => s.write(request));
      s.once('data', () => done(true));
    });
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      next++;
      await one();
    }
  };
  try {
    await Promise.all(Array.from({ length: 200 }, worker));
    await sleep(1000);
    const alive = sockets.filter((s) => !s.destroyed).length;
    return { rss: rss(proc), opened, failed, alive };
  } finally {
    for (const s of sockets) s.destroy();
    await sleep(500);
  }
}

module.exports = { slowReaders, bodyGrowth, idleConnections, fdHeadroom, fdLimit, MB };
