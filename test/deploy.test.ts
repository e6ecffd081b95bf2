/**
 * Deployment files: what can be checked without a container runtime or systemd as PID 1.
 * - Dockerfile: multi-stage, non-root USER, STOPSIGNAL, HEALTHCHECK; its ENTRYPOINT + CMD run
 *   here as a plain process (paths mapped onto the checkout), its HEALTHCHECK command passes
 *   while it serves, and its STOPSIGNAL stops it gracefully (an in-flight request completes).
 * - deploy/switchyard.service: `systemd-analyze verify` accepts it; ExecReload uses
 *   `reload --wait`; TimeoutStopSec is above the config's gracePeriod; LimitNOFILE is set.
 * The image itself is not built here (no Docker daemon).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { parseDuration } from '@switchyard/sdk';
import { CLI, ROOT, until } from './helpers';

const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const unit = fs.readFileSync(path.join(ROOT, 'deploy', 'switchyard.service'), 'utf8');
const imageConfig = fs.readFileSync(path.join(ROOT, 'deploy', 'gateway.yaml'), 'utf8');

/** A Dockerfile instruction's JSON (exec form) argument list. */
function execForm(instruction: string): string[] {
  // HEALTHCHECK [options] CMD [...], or INSTRUCTION [...]; one line each (no continuation).
  const m = new RegExp(`^${instruction}[ \\t]+(?:[^\\n]*?[ \\t])?CMD[ \\t]+(\\[[^\\n]*\\])$|^${instruction}[ \\t]+(\\[[^\\n]*\\])$`, 'm').exec(dockerfile);
  if (!m) throw new Error(`no exec-form ${instruction} in the Dockerfile`);
  return JSON.parse((m[1] ?? m[2])!) as string[];
}

describe('Dockerfile', () => {
  it('is multi-stage, runs as a non-root user, stops with SIGTERM and has a HEALTHCHECK', () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^FROM .* AS build$/m);
    expect(dockerfile).toMatch(/^COPY --from=build /m);
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    // Switchyard's graceful stop is SIGTERM (SIGUSR1 is the unbounded soft stop).
    expect(/^STOPSIGNAL (\S+)$/m.exec(dockerfile)?.[1]).toBe('SIGTERM');
    expect(execForm('HEALTHCHECK')).toEqual(['node', '/opt/switchyard/deploy/healthcheck.js']);
  });

  describe('its start command, run here as a plain process', () => {
    let up: Upstream;
    let child: ChildProcess;
    let port = 0;
    let out = '';
    let release: () => void = () => undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-image-'));

    beforeAll(async () => {
      up = await startUpstream({
        name: 'app1',
        handler: (req, res) => {
          req.resume();
          if (req.url === '/slow') {
            release = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow done\n');
            return;
          }
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        },
      });
      port = await freePort();
      // The image's config, with a free port and the test's upstream instead of 8080 / 9001.
      const cfg = imageConfig.replace('0.0.0.0:8080', `127.0.0.1:${port}`).replace('127.0.0.1:9001', up.address).replace('../schema/config.json', path.join(ROOT, 'schema', 'config.json'));
      fs.writeFileSync(path.join(dir, 'gateway.yaml'), cfg);
      const argv = [...execForm('ENTRYPOINT'), ...execForm('CMD')].map((a) =>
        a.replace('/opt/switchyard/', `${ROOT}/`).replace('/etc/switchyard/gateway.yaml', path.join(dir, 'gateway.yaml')),
      );
      expect(argv[0]).toBe('node');
      expect(argv[1]).toBe(CLI);
      child = spawn(process.execPath, argv.slice(1), { cwd: dir, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      await until('the gateway to serve', () => /serving/.test(out) || child.exitCode !== null, 15_000);
      if (child.exitCode !== null) throw new Error(out);
    });
    afterAll(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid!, 'SIGKILL');
        await exited;
      }
      await up?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const healthcheck = (): number | null => {
      const [cmd, ...args] = execForm('HEALTHCHECK').map((a) => a.replace('/opt/switchyard/', `${ROOT}/`));
      expect(cmd).toBe('node');
      return spawnSync(process.execPath, args, { env: { ...process.env, SWITCHYARD_HEALTH_URL: `http://127.0.0.1:${port}/healthz` }, timeout: 10_000 }).status;
    };

    it('logs JSON lines, serves, and passes its HEALTHCHECK', async () => {
      for (const line of out.split('\n').filter((l) => l.startsWith('{'))) expect(() => JSON.parse(line)).not.toThrow();
      const res = await request(`http://127.0.0.1:${port}/`);
      expect(await res.body.text()).toBe('ok\n');
      expect(healthcheck()).toBe(0);
    });

    it('stops gracefully on its STOPSIGNAL: the HEALTHCHECK fails at once, the request in flight completes, exit 0', async () => {
      const slow = request(`http://127.0.0.1:${port}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
      await until('the slow request to reach the server', () => up.requests.some((r) => r.url === '/slow'));
      const signal = /^STOPSIGNAL (\S+)$/m.exec(dockerfile)![1] as NodeJS.Signals;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      process.kill(child.pid!, signal);
      await until('the stop to begin', () => /stopping gracefully/.test(out));
      // Draining: the monitor URI answers 503, so the HEALTHCHECK (and any balancer) stops sending here.
      expect(healthcheck()).toBe(1);
      release();
      expect(await slow).toEqual({ status: 200, body: 'slow done\n' });
      expect(await exited).toBe(0);
    });
  });
});

describe('systemd unit (deploy/switchyard.service)', () => {
  const directive = (name: string): string | undefined => new RegExp(`^${name}=(.*)$`, 'm').exec(unit)?.[1];

  it('reloads with reload --wait, stops later than gracePeriod, raises LimitNOFILE', () => {
    expect(directive('ExecReload')).toMatch(/\bswitchyard reload\b.*--wait\b/);
    expect(directive('ExecReload')).toContain('$MAINPID');
    expect(directive('KillSignal')).toBe('SIGTERM');
    const grace = parseDuration(String((parseYaml(imageConfig) as { global: { gracePeriod: string } }).global.gracePeriod));
    const stop = parseDuration(directive('TimeoutStopSec')!);
    expect(stop).toBeGreaterThan(grace);
    expect(Number(directive('LimitNOFILE'))).toBeGreaterThanOrEqual(65536);
    expect(directive('User')).not.toBe('root');
  });

  const analyze = '/usr/bin/systemd-analyze';
  (fs.existsSync(analyze) ? it : it.skip)('passes systemd-analyze verify (binary paths mapped onto this checkout)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-unit-'));
    try {
      const file = path.join(dir, 'switchyard.service');
      fs.writeFileSync(file, unit.replaceAll('/usr/bin/switchyard', CLI));
      const r = spawnSync(analyze, ['verify', file], { encoding: 'utf8', timeout: 30_000 });
      // verify prints nothing and exits 0 for a good unit (messages about other units are not ours).
      const ours = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('switchyard.service'));
      expect(ours).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
