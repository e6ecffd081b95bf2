/**
 * The gateway's own log: pino JSON lines when stdout is not a terminal, pino-pretty's
 * coloured lines on a terminal, `--log-format json|pretty` to choose; banners for people on
 * stderr, so stdout carries only log lines.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, ROOT } from './helpers';

interface Demo {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** `run --demo` until it serves, then SIGTERM (by PID); stdout and stderr apart. */
function demo(args: string[]): Promise<Demo> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', '--demo', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "serving" line in 15 s:\n${stdout}\n${stderr}`));
    }, 15_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!stopped && /serving/.test(stdout)) {
        stopped = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

const ANSI = /\x1b\[[0-9;]*m/;

describe('log format', () => {
  it('JSON lines by default when stdout is not a terminal, the banner on stderr', async () => {
    const r = await demo([]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(r.stdout).not.toContain('Try:');
    expect(r.stderr).toContain('Switchyard is balancing over three demo upstreams');
  });

  it('--log-format pretty: human lines (no colour on a pipe)', async () => {
    const r = await demo(['--log-format', 'pretty']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: frontend web listening on 127\.0\.0\.1:\d+$/m);
    expect(r.stdout).not.toMatch(/^\{"level"/m);
    expect(r.stdout).not.toMatch(ANSI);
  });

  it('--log-format json wins over a terminal; a bad value is refused', async () => {
    const r = await demo(['--log-format', 'json']);
    expect(JSON.parse(r.stdout.split('\n')[0]!)).toMatchObject({ level: 30, msg: expect.stringContaining('listening') });
    const bad = spawnSync(process.execPath, [CLI, 'run', '--demo', '--log-format', 'fancy'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--log-format must be json or pretty (got fancy)');
  });

  const haveScript = fs.existsSync('/usr/bin/script');
  (haveScript ? it : it.skip)('pretty and coloured by default on a terminal (a real pty through script(1))', () => {
    const dist = path.join(ROOT, 'core', 'dist', 'log-format.js');
    const code = `const f=require(${JSON.stringify(dist)});const l=f.createLogger('info',f.resolveLogFormat(undefined));l.info({a:1},'hello from a tty');`;
    const r = spawnSync('/usr/bin/script', ['-qec', `${JSON.stringify(process.execPath)} -e ${JSON.stringify(code)}`, '/dev/null'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(ANSI);
    expect(r.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/INFO: hello from a tty/);
    expect(r.stdout).not.toContain('"msg"');
  });
});
