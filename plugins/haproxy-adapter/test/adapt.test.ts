/**
 * The adapter's contract: unknown directives are errors with file and line (or warnings
 * with --lenient), validation errors point at haproxy.cfg lines, defaults are inherited,
 * userlists work, and the CLI's `adapt` / `run` handle a .cfg.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { request } from 'undici';
import { loadConfig, ConfigErrors, Gateway } from '@switchyard/core';
import { formatError, isSwitchyardError, type Logger } from '@switchyard/sdk';
import { freePort, startTestGateway, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { adapt as adaptHaproxy, corpusFile, tmpDir, waitFor } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'core/bin/switchyard.js');
const logger = pino({ level: 'silent' }) as unknown as Logger;
const dir = tmpDir('adapt');
let up: Upstream;
beforeAll(async () => {
  up = await startUpstream({ name: 'up' });
});
afterAll(async () => {
  await up.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

const BAD = `global
    maxconn 100
defaults
    mode http
    option frobnicate
frontend web
    bind 127.0.0.1:0
    http-request teleport somewhere
    default_backend app
backend app
    server a UP
peers mypeers
    peer p1 127.0.0.1:10000
`;

describe('unknown directives', () => {
  it('are an error naming file, line and directive for each one', () => {
    const file = write('bad.cfg', BAD.replace('UP', '127.0.0.1:9'));
    let err: unknown;
    try {
      adaptHaproxy(fs.readFileSync(file, 'utf8'), file, { lenient: false });
    } catch (e) {
      err = e;
    }
    expect(isSwitchyardError(err)).toBe(true);
    const text = formatError(err);
    expect(text).toContain('SWY_ERR_HAPROXY_UNSUPPORTED');
    expect(text).toContain(`${file}:5: option frobnicate`);
    expect(text).toContain(`${file}:8: http-request teleport somewhere`);
    expect(text).toContain(`${file}:12: peers mypeers`);
    expect(text.startsWith(`${file}:5:`)).toBe(true);
  });

  it('with lenient, become one warning each and the rest runs', async () => {
    const file = write('bad-lenient.cfg', BAD.replace('UP', up.address));
    const loaded = loadConfig({ file, lenient: true }, { logger });
    const mine = loaded.warnings.filter((w) => w.includes('ignored unsupported'));
    expect(mine).toHaveLength(3);
    expect(mine.map((w) => /:(\d+): /.exec(w)![1])).toEqual(['5', '8', '12']);
    const gw = await Gateway.start(loaded, { logger });
    try {
      const res = await request(`http://127.0.0.1:${gw.address('web').port}/`);
      await res.body.text();
      expect(res.statusCode).toBe(200);
    } finally {
      await gw.stop(0);
    }
    // and without lenient the core refuses the file
    expect(() => loadConfig({ file }, { logger })).toThrow(expect.objectContaining({ code: 'SWY_ERR_HAPROXY_UNSUPPORTED', message: expect.stringMatching(/^option frobnicate — unknown option "frobnicate"\n/) }));
  });

  it('a syntax error names the line', () => {
    expect(() => adaptHaproxy('frontend x\n  bind "127.0.0.1:0\n', '/x.cfg', { lenient: true })).toThrow(/unmatched double quote/);
    expect(() => adaptHaproxy('  bind :80\n', '/x.cfg', { lenient: true })).toThrow(/outside of any section/);
  });
});

describe('lineOf', () => {
  it('maps schema and reference errors back to haproxy.cfg lines', () => {
    const file = write(
      'lines.cfg',
      ['defaults', '    mode http', 'frontend web', '    bind 127.0.0.1:0', '    default_backend nowhere', 'backend app', '    server a 127.0.0.1:8080 weight 999', '    server b 127.0.0.1:8081', ''].join('\n'),
    );
    let err: unknown;
    try {
      loadConfig({ file }, { logger });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigErrors);
    const lines = (err as ConfigErrors).errors.map((e) => `${e.location?.line}:${e.location?.path}`);
    expect(lines).toContain('7:backends.app.servers[0].weight');
  });

  it('points a reference error at its directive', () => {
    const file = write('ref.cfg', ['defaults', '    mode http', 'frontend web', '    bind 127.0.0.1:0', '    default_backend nowhere', 'backend app', '    server a 127.0.0.1:8080', ''].join('\n'));
    let err: unknown;
    try {
      loadConfig({ file }, { logger });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigErrors).errors.map((e) => `${e.location?.line}:${e.location?.path}`)).toEqual(['5:frontends.web.defaultBackend']);
  });
});

describe('sections', () => {
  it('named defaults are inherited with from, HAProxy default mode tcp is explicit', () => {
    const r = adaptHaproxy(
      ['defaults web', '    mode http', '    timeout client 7s', '    timeout server 9s', 'defaults', '    timeout connect 1s', 'frontend f from web', '    bind :8080', 'backend b', '    server s 127.0.0.1:1', ''].join('\n'),
      '/t.cfg',
      { lenient: false },
    );
    const cfg = r.config as { frontends: Record<string, Record<string, unknown>>; backends: Record<string, Record<string, unknown>> };
    expect(cfg.frontends.f!.mode).toBe('http');
    expect(cfg.frontends.f!.timeouts).toEqual({ client: '7s' });
    expect(cfg.frontends.f!.bind).toEqual([{ host: '0.0.0.0', port: 8080 }]);
    expect(cfg.backends.b!.mode).toBe('tcp');
    expect(cfg.backends.b!.timeouts).toEqual({ connect: '1s' });
    expect(r.lineOf!(['frontends', 'f', 'timeouts', 'client'])).toBe(3);
  });

  it('a userlist and http-request auth protect a path with basic auth', async () => {
    const text = [
      'userlist staff',
      '    group admin users alice',
      '    user alice insecure-password wonderland',
      'defaults',
      '    mode http',
      'frontend web',
      '    bind 127.0.0.1:0',
      '    acl authed http_auth(staff)',
      '    http-request auth realm Staff if { path_beg /admin } !authed',
      '    default_backend app',
      'backend app',
      `    server a ${up.address}`,
      '',
    ].join('\n');
    const gw = await startTestGateway(text, { file: write('auth.cfg', text) });
    try {
      const open = await request(gw.url('/public'));
      await open.body.text();
      expect(open.statusCode).toBe(200);
      const no = await request(gw.url('/admin'));
      await no.body.text();
      expect(no.statusCode).toBe(401);
      expect(String(no.headers['www-authenticate'])).toContain('realm="Staff"');
      const yes = await request(gw.url('/admin'), { headers: { authorization: 'Basic ' + Buffer.from('alice:wonderland').toString('base64') } });
      await yes.body.text();
      expect(yes.statusCode).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe('older and monitoring directives', () => {
  it('monitor-uri, monitor fail, the old redirect form; capture and http-reuse are warnings', async () => {
    const text = [
      'defaults',
      '    mode http',
      'frontend www',
      '    bind 127.0.0.1:0',
      '    monitor-uri /healthz',
      '    monitor fail if { nbsrv(web) -m int lt 1 }',
      '    redirect scheme https code 301 if !{ ssl_fc } { path_beg /login }',
      '    capture request header Host len 32',
      '    default_backend web',
      'backend web',
      '    http-reuse safe',
      `    server w1 ${up.address}`,
      '',
    ].join('\n');
    const file = write('monitor.cfg', text);
    const r = adaptHaproxy(text, file, { lenient: false });
    expect(r.warnings.map((w) => /:(\d+): /.exec(w)![1])).toEqual(['8', '11']);
    const gw = await startTestGateway(text, { file });
    try {
      const h = await request(gw.url('/healthz'));
      await h.body.text();
      expect(h.statusCode).toBe(200);
      const l = await request(gw.url('/login?next=1'), { headers: { host: 'shop.example' } });
      await l.body.text();
      expect([l.statusCode, l.headers.location]).toEqual([301, 'https://shop.example/login?next=1']);
      const p = await request(gw.url('/page'));
      await p.body.text();
      expect(p.statusCode).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe('stick tables in their own backend', () => {
  it('track-sc1 … table <backend> takes the period of that table and limits', async () => {
    const text = [
      'backend per_ip',
      '    stick-table type ip size 1m expire 10s store http_req_rate(10s)',
      'defaults',
      '    mode http',
      'frontend www',
      '    bind 127.0.0.1:0',
      '    http-request track-sc1 src table per_ip',
      '    http-request deny deny_status 429 if { sc_http_req_rate(1) gt 3 }',
      '    default_backend web',
      'backend web',
      `    server w1 ${up.address}`,
      '',
    ].join('\n');
    const file = write('table.cfg', text);
    const r = adaptHaproxy(text, file, { lenient: false });
    expect((r.config.backends as Record<string, unknown>).per_ip).toBeUndefined();
    const gw = await startTestGateway(text, { file });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await request(gw.url('/'));
        await res.body.text();
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await gw.stop();
    }
  });
});

describe('backend rules', () => {
  const cfg = (extra: string[]): string =>
    [
      'defaults',
      '    mode http',
      'frontend www',
      '    bind 127.0.0.1:0',
      ...extra,
      '    default_backend web',
      'backend web',
      '    http-request set-header X-Backend web',
      '    http-response set-header X-Backend-Seen yes',
      `    server w1 ${up.address}`,
      'backend other',
      `    server o1 ${up.address}`,
      '',
    ].join('\n');

  it('move to the frontend when it reaches only that backend', async () => {
    const text = cfg([]);
    const file = write('berules.cfg', text);
    const r = adaptHaproxy(text, file, { lenient: false });
    expect(r.lineOf!(['frontends', 'www', 'httpRequest', 0])).toBe(7);
    const gw = await startTestGateway(text, { file });
    try {
      const res = await request(gw.url('/x'));
      await res.body.text();
      expect(res.headers['x-backend-seen']).toBe('yes');
      expect(up.requests.filter((q) => q.url === '/x').pop()!.headers['x-backend']).toBe('web');
    } finally {
      await gw.stop();
    }
  });

  it('stay the backend\'s when the frontend also routes elsewhere, and apply only to its requests', async () => {
    const text = cfg(['    use_backend other if { path_beg /o }']);
    const file = write('berules2.cfg', text);
    const r = adaptHaproxy(text, file, { lenient: false });
    expect(r.lineOf!(['backends', 'web', 'httpRequest', 0])).toBe(8);
    expect((r.config.frontends as Record<string, Record<string, unknown>>).www!.httpRequest).toBeUndefined();
    const gw = await startTestGateway(text, { file });
    try {
      const toWeb = await request(gw.url('/w'));
      await toWeb.body.text();
      expect(toWeb.headers['x-backend-seen']).toBe('yes');
      expect(up.requests.filter((q) => q.url === '/w').pop()!.headers['x-backend']).toBe('web');
      const toOther = await request(gw.url('/o'));
      await toOther.body.text();
      expect(toOther.headers['x-backend-seen']).toBeUndefined();
      expect(up.requests.filter((q) => q.url === '/o').pop()!.headers['x-backend']).toBeUndefined();
    } finally {
      await gw.stop();
    }
  });
});

describe('CLI', () => {
  const exec = promisify(execFile);
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  });

  it('switchyard adapt prints YAML that runs as a native config', async () => {
    const { file } = corpusFile('website.cfg', dir, { 8080: 0, 9001: up.port, 9002: up.port, 9003: up.port, 9004: up.port, 9009: up.port });
    const { stdout, stderr } = await exec(process.execPath, [CLI, 'adapt', '--config', file], { cwd: ROOT });
    expect(stderr).toContain('"daemon" ignored');
    const native = parseYaml(stdout) as Record<string, unknown>;
    expect(native).toEqual(JSON.parse(JSON.stringify(adaptHaproxy(fs.readFileSync(file, 'utf8'), file, { lenient: false }).config)));
    const yamlFile = write('website.yaml', stdout);
    const gw = await startTestGateway(stdout, { file: yamlFile });
    try {
      const res = await request(gw.url('/'));
      await res.body.text();
      expect(res.statusCode).toBe(200);
    } finally {
      await gw.stop();
    }
  });

  it('switchyard adapt without --lenient fails with exit 1 and lists the directives', async () => {
    const file = write('bad-cli.cfg', BAD.replace('UP', '127.0.0.1:9'));
    const r = await exec(process.execPath, [CLI, 'adapt', '--config', file], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toContain(':8: http-request teleport somewhere');
  });

  it('switchyard run --adapter haproxy runs a haproxy.conf', async () => {
    const port = await freePort();
    const file = write('haproxy.conf', ['defaults', '    mode http', 'frontend web', `    bind 127.0.0.1:${port}`, '    default_backend app', 'backend app', `    server a ${up.address}`, ''].join('\n'));
    child = spawn(process.execPath, [CLI, 'run', '--config', file, '--adapter', 'haproxy'], { cwd: ROOT, stdio: 'ignore' });
    const ok = await waitFor(async () => {
      try {
        const res = await request(`http://127.0.0.1:${port}/`);
        await res.body.text();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    }, 10000, 200);
    expect(ok).toBe(true);
    process.kill(child.pid!, 'SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  });
});
