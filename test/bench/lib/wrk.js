'use strict';
// Runs wrk (one thread, pinned to the load core) for a bounded time and parses its report.
const { spawn } = require('node:child_process');
const { command, adopt } = require('./procs');

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

function parse(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : 0;
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    return m ? toMs(m[1]) : NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: pct(50),
    p99: pct(99),
    errors: socketErrors + non2xx,
  };
}

/**
 * wrk -t1 -c<connections> -d<seconds>s --latency against 127.0.0.1:port. The child is
 * killed if it outlives the run by 15 s (requests time out after 10 s, so slow answers count in the percentiles), so a stuck target cannot stall the benchmark.
 */
function runWrk({ wrk, core, port, seconds, connections, path = '/', headers = [] }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency', ...headers.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}${path}`];
  const { file, argv } = command(core, wrk, args);
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    adopt('wrk', child);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.on('close', () => {
      clearTimeout(guard);
      const r = parse(out);
      if (r.rps === 0) r.raw = out.slice(-500);
      resolve(r);
    });
  });
}

module.exports = { runWrk, parse };
