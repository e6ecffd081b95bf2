'use strict';
// Runs h2load (nghttp2-client) pinned to the load core, count-based (-n: h2load 1.52's timed
// mode can wait forever for the last streams of an HTTP/2 run), and parses its report.
const { spawn } = require('node:child_process');
const { command, adopt } = require('./procs');

const toMs = (v, unit) => (unit === 'us' ? v / 1000 : unit === 'ms' ? v : unit === 's' ? v * 1000 : NaN);

function parse(out) {
  const fin = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const t = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  const succeeded = req ? Number(req[4]) : 0;
  const ok2xx = codes ? Number(codes[1]) : 0;
  return {
    rps: fin ? Number(fin[3]) : 0,
    seconds: fin ? Number(fin[1]) / (fin[2] === 'ms' ? 1000 : 1) : NaN,
    requests: ok2xx,
    errors: req ? Number(req[1]) - succeeded + (succeeded - ok2xx) : 0,
    mean: t ? toMs(Number(t[5]), t[6]) : NaN,
    max: t ? toMs(Number(t[3]), t[4]) : NaN,
    p50: NaN,
    p99: NaN,
  };
}

/** h2load -n requests -c connections -m streams https://127.0.0.1:port/ ; killed if it outlives timeoutMs. */
function runH2load({ h2load, core, port, requests, connections, streams, timeoutMs = 60_000 }) {
  const args = ['-n', String(requests), '-c', String(connections), '-m', String(streams), '-t', '1', `https://127.0.0.1:${port}/`];
  const { file, argv } = command(core, h2load, args);
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    adopt('h2load', child);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearTimeout(guard);
      const r = parse(out);
      if (r.rps === 0) r.raw = out.slice(-500);
      resolve(r);
    });
  });
}

module.exports = { runH2load, parse };
