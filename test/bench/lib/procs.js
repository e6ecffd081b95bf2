'use strict';
// Child processes of the benchmark: started pinned to a core, tracked by PID, always stopped.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');

const started = new Set();
let haveTaskset = null;
let niceness = null;

/** Runs every process the benchmark starts at this nice level (e.g. -10 on a shared machine). */
function setNice(n) {
  niceness = n;
}

/** The argv to run `cmd args` pinned to `core` (and reniced): taskset and nice exec, so the PID is the command's. */
function command(core, cmd, args) {
  let file = cmd;
  let argv = args;
  if (core !== null && tasksetAvailable()) {
    argv = ['-c', String(core), file, ...argv];
    file = 'taskset';
  }
  if (niceness !== null) {
    argv = ['-n', String(niceness), file, ...argv];
    file = 'nice';
  }
  return { file, argv };
}

function tasksetAvailable() {
  if (haveTaskset === null) haveTaskset = fs.existsSync('/usr/bin/taskset') || fs.existsSync('/bin/taskset');
  return haveTaskset;
}

/** Starts `cmd args` pinned to `core` (taskset execs, so the PID is the command's own). */
function start(label, core, cmd, args, options = {}) {
  const { file, argv } = command(core, cmd, args);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd, env: options.env ?? process.env });
  let output = '';
  const keep = (chunk) => {
    output += chunk;
    if (output.length > 20_000) output = output.slice(-10_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const proc = { label, child, pid: child.pid, exited: false, output: () => output };
  child.on('exit', (code, signal) => {
    proc.exited = true;
    proc.exitCode = code ?? signal;
    started.delete(proc);
  });
  started.add(proc);
  return proc;
}

/** Tracks a child started elsewhere (wrk), so an abrupt exit kills it too. */
function adopt(label, child) {
  const proc = { label, child, pid: child.pid, exited: false, output: () => '' };
  child.on('exit', () => {
    proc.exited = true;
    started.delete(proc);
  });
  started.add(proc);
  return proc;
}

/** PIDs of a process and its descendants (nginx master → worker). */
function tree(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 256) {
    const p = queue.shift();
    out.push(p);
    for (const c of children.get(p) ?? []) queue.push(c);
  }
  return out;
}

function rssOfPid(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process and its children, in bytes. */
function rss(proc) {
  if (proc.exited) return 0;
  return tree(proc.pid).reduce((sum, p) => sum + rssOfPid(p), 0);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, seconds) used so far by a process and its children. */
function cpuSeconds(proc) {
  if (!proc || proc.exited) return NaN;
  let ticks = 0;
  for (const pid of tree(proc.pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone meanwhile
    }
  }
  return ticks / CLK_TCK;
}

/** SIGTERM the process tree, then SIGKILL what is left after `graceMs`. */
async function stop(proc, graceMs = 2000) {
  if (proc.exited) return;
  const pids = tree(proc.pid);
  for (const p of pids) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (!proc.exited && Date.now() < deadline) await sleep(50);
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function stopAll() {
  await Promise.all([...started].map((p) => stop(p)));
}

/** Last resort on an abrupt exit: SIGKILL synchronously every tracked process tree. */
function killAllSync() {
  for (const proc of started) {
    for (const p of tree(proc.pid)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A free loopback port (bound then released). */
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

function httpGet(port, path = '/') {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Waits until `port` answers an HTTP GET with 200 (or accepts a connection, for `tcpOnly`). */
async function waitReady(proc, port, { timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.label} exited (${proc.exitCode}): ${proc.output().slice(-2000)}`);
    try {
      const status = await httpGet(port);
      if (status === 200) return;
      last = new Error(`status ${status}`);
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${proc.label} not ready on port ${port}: ${last && last.message}\n${proc.output().slice(-2000)}`);
}

function which(file) {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin']) {
    if (fs.existsSync(`${dir}/${file}`)) return `${dir}/${file}`;
  }
  try {
    return execFileSync('sh', ['-c', `command -v ${file}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

module.exports = { setNice, command, start, adopt, stop, stopAll, killAllSync, rss, cpuSeconds, tree, freePort, waitReady, httpGet, sleep, which, tasksetAvailable };
