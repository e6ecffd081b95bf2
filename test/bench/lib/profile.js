'use strict';
// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per category.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const LLHTTP = new Set(['execute', 'consume', 'unconsume', 'finish', 'initialize', 'getCurrentBuffer']);
// Bindings that are one system call (or a few) on a socket or a timer: "kernel-ish" time.
const SYSCALLS = new Set([
  'writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String',
  'shutdown', 'close', 'readStart', 'readStop', 'connect', 'bind', 'listen', 'setNoDelay', 'setKeepAlive',
  'open', 'read', 'write', 'fstat', 'writeString', 'fsync', 'getsockname', 'getpeername',
]);

const CATEGORIES = [
  'Switchyard code',
  'node:http',
  'llhttp (Node binding)',
  'undici (JS and its llhttp wasm)',
  'node core: net, streams, events, timers',
  'node core: other',
  'other npm libraries',
  'kernel-ish natives (socket syscalls)',
  'other natives / generated code',
  '(program): native code outside JS (node:http\'s llhttp via consume(), OpenSSL, nghttp2, libuv) and V8',
  'GC',
];

function categorize(cf) {
  const { functionName: fn, url } = cf;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return CATEGORIES[9];
  if (fn === '(root)' || fn === '(idle)') return null;
  if (url.startsWith('wasm://') || url.includes('/node_modules/undici/')) return 'undici (JS and its llhttp wasm)';
  if (url.includes('/node_modules/')) return 'other npm libraries';
  if (/\/(core|sdk)\/dist\/|\/plugins\/[^/]+\/dist\//.test(url) || url.includes('/test/bench/')) return 'Switchyard code';
  if (/^node:(_http_|http$|https$|http2$|internal\/http)/.test(url) || url.startsWith('node:internal/http2')) return 'node:http';
  if (/^node:(net|events|stream|internal\/(streams|stream_base_commons|timers|net|async_hooks|process\/task_queues|event_target|buffer))/.test(url) || url === 'node:timers') return 'node core: net, streams, events, timers';
  if (url.startsWith('node:')) return 'node core: other';
  if (url === '') {
    if (LLHTTP.has(fn)) return 'llhttp (Node binding)';
    if (SYSCALLS.has(fn)) return 'kernel-ish natives (socket syscalls)';
    return 'other natives / generated code';
  }
  return 'other npm libraries';
}

const where = (cf) => {
  if (!cf.url) return '(native)';
  const u = cf.url.replace(/^file:\/\//, '');
  const rel = u.startsWith(ROOT) ? path.relative(ROOT, u) : u.replace(/^.*\/node_modules\//, '');
  return `${rel}:${cf.lineNumber + 1}`;
};

/**
 * { seconds, busySeconds, categories: [{name, seconds, share}], top: [{name, where, category, seconds, share}] }.
 * `window` ({ from, to }, microseconds of the monotonic clock, as process.hrtime.bigint() / 1000n
 * reads it in any process on the machine) keeps only the samples taken under load.
 */
function summarize(file, { topN = 15, window = null } = {}) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map(); // node id -> microseconds
  let at = prof.startTime;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < prof.samples.length; i++) {
    at += prof.timeDeltas[i];
    if (window && (at < window.from || at > window.to)) continue;
    first = Math.min(first, at);
    last = Math.max(last, at);
    const dt = prof.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
  }
  // Inclusive time of Switchyard's functions: each sample counts once for every distinct
  // Switchyard function on its stack (what the function and everything it calls cost).
  const parent = new Map();
  for (const n of prof.nodes) for (const ch of n.children ?? []) parent.set(ch, n.id);
  const inclusive = new Map();
  for (const [id, us] of self) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (categorize(cf) !== 'Switchyard code') continue;
      const key = `${cf.functionName || '(anonymous)'} ${where(cf)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const cats = new Map(CATEGORIES.map((c) => [c, 0]));
  const fns = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const cat = categorize(cf);
    if (cat === null) {
      if (cf.functionName === '(idle)') idle += us;
      continue;
    }
    busy += us;
    cats.set(cat, cats.get(cat) + us);
    const key = `${cf.functionName || '(anonymous)'} ${where(cf)}`;
    const f = fns.get(key) ?? { name: cf.functionName || '(anonymous)', where: where(cf), category: cat, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const share = (us) => (busy > 0 ? us / busy : 0);
  return {
    seconds: (last - first) / 1e6,
    windowed: window !== null,
    busySeconds: busy / 1e6,
    idleSeconds: idle / 1e6,
    categories: [...cats].map(([name, us]) => ({ name, seconds: us / 1e6, share: share(us) })).sort((a, b) => b.seconds - a.seconds),
    top: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((f) => ({ name: f.name, where: f.where, category: f.category, seconds: f.us / 1e6, share: share(f.us) })),
    inclusiveOwn: [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([key, us]) => ({ name: key.slice(0, key.indexOf(' ')), where: key.slice(key.indexOf(' ') + 1), seconds: us / 1e6, share: share(us) })),
    topOwn: [...fns.values()].filter((f) => f.category === 'Switchyard code').sort((a, b) => b.us - a.us).slice(0, 10).map((f) => ({ name: f.name, where: f.where, category: f.category, seconds: f.us / 1e6, share: share(f.us) })),
  };
}

module.exports = { summarize, categorize, CATEGORIES };
