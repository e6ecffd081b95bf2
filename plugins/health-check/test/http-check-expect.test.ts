/**
 * HAProxy 2.6's `http-check expect` beyond a plain status/body match: `!` negation, rstatus,
 * `status-code`, `on-success` / `on-error`, `ok-status` / `error-status`, `comment` — in the
 * native YAML config and in haproxy.cfg, against real HTTP servers, and side by side with
 * HAProxy 2.6 itself on the same servers: both must say the same about each server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { findBinary, until } from './databases';

/** One real HTTP server: /ok 200 "all fine", /e500 500, /errbody 200 "an error happened", /teapot 418. */
async function startSite(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    const send = (code: number, body: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain', connection: 'close' });
      res.end(body);
    };
    if (req.url === '/e500') send(500, 'boom');
    else if (req.url === '/errbody') send(200, 'an error happened');
    else if (req.url === '/teapot') send(418, 'short and stout');
    else if (req.url === '/e503fine') send(503, 'all fine');
    else if (req.url === '/hdr') {
      res.writeHead(200, { 'x-role': 'primary, ready', connection: 'close' });
      res.end('ok');
    }
    else send(200, 'all fine');
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** "Server b/s is DOWN, reason: X, code: N, info: "…"" → "DOWN X code N | …" (first verdict per server). */
function verdicts(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = /Server (\S+) is (UP|DOWN), reason: ([^,]+)(?:, code: (\d+))?(?:, info: "((?:[^"\\]|\\.)*)")?/.exec(l);
    if (m && !out.has(m[1]!)) out.set(m[1]!, `${m[2]} ${m[3]} code ${m[4] ?? '-'} | ${m[5] ?? ''}`);
  }
  return out;
}

const waitVerdicts = async (lines: () => string[], ids: string[]): Promise<Map<string, string>> => {
  await until('a verdict for every server', () => ids.every((id) => verdicts(lines()).has(id)), 10_000);
  return verdicts(lines());
};

describe('http-check expect: native YAML config', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  let gw: TestGateway;

  beforeAll(async () => {
    site = await startSite();
    const be = (name: string, p: string, expect: string): string => `  ${name}:
    healthCheck: { type: http, inter: 100ms, fall: 1, rise: 1, timeout: 2s, http: { path: ${p}, expect: ${expect} } }
    servers: [{ name: s, address: 127.0.0.1:${site.port} }]
`;
    const yaml = `plugins: ['@switchyard/preset-standard', '@switchyard/plugin-health-check']
frontends:
  web: { bind: '127.0.0.1:0', defaultBackend: neg500_up }
backends:
${be('neg500_down', '/e500', '{ status: 500, negate: true }')}${be('neg500_up', '/ok', '{ status: 500, negate: true }')}${be('negstr_down', '/errbody', '{ body: error, negate: true }')}${be('negstr_up', '/ok', '{ body: error, negate: true }')}${be('code', '/teapot', "{ status: 200, statusCode: 'int(599)', onError: 'not a 200', comment: teapot }")}${be('rstatus', '/teapot', "{ rstatus: '^2' }")}${be('okc', '/ok', "{ status: 200, okStatus: L7OKC, onSuccess: 'fine: %[res.payload(0,3)]', statusCode: 'int(201)' }")}${be('errsts', '/errbody', "{ body: nothing, errorStatus: L7STS }")}${be('hdr', '/hdr', '{ header: { name: X-ROLE, value: replica } }')}${be('hdr_up', '/hdr', '{ header: { name: x-role, value: ready } }')}`;
    gw = await startTestGateway(yaml, { file: path.join(os.tmpdir(), 'swy-http-expect.yaml') });
  }, 20_000);

  afterAll(async () => {
    await gw?.stop();
    await site?.close();
  });

  it('negates status and body matches, sets the code, words the info as configured', async () => {
    // A server starts UP: only the DOWN ones log a verdict; the passing ones show their last check.
    const ids = ['neg500_down/s', 'negstr_down/s', 'code/s', 'rstatus/s', 'errsts/s', 'hdr/s'];
    const v = await waitVerdicts(() => gw.logs.map((l) => String(l.msg)), ids);
    expect(v.get('neg500_down/s')).toBe('DOWN Layer7 wrong status code 500 | Internal Server Error');
    expect(v.get('negstr_down/s')).toBe('DOWN Layer7 invalid response code - | HTTP check matched unwanted content');
    expect(v.get('code/s')).toBe('DOWN Layer7 wrong status code 599 | not a 200 comment: teapot');
    expect(v.get('rstatus/s')).toBe("DOWN Layer7 wrong status code 418 | I'm a Teapot");
    expect(v.get('errsts/s')).toBe('DOWN Layer7 wrong status code 200 | HTTP content check did not match');
    expect(v.get('hdr/s')).toBe('DOWN Layer7 wrong status code 200 | OK');
    const last = (b: string): { ok: boolean; reason: string; code?: number; info?: string } | null => {
      const c = gw.gateway.backends.get(b)!.server('s')!.data.get('switchyard.health.control') as { last: { ok: boolean; reason: string; code?: number; info?: string } | null };
      return c.last;
    };
    await until('the passing servers to be checked', () => ['neg500_up', 'negstr_up', 'okc', 'hdr_up'].every((b) => last(b) !== null), 5000);
    expect(last('neg500_up')).toMatchObject({ ok: true, reason: 'Layer7 check passed', code: 200 });
    expect(last('negstr_up')).toMatchObject({ ok: true, reason: 'Layer7 check passed', code: 200 });
    expect(last('okc')).toMatchObject({ ok: true, reason: 'Layer7 check conditionally passed', code: 201, info: 'fine: all' });
    const b = gw.gateway.backends;
    expect(b.get('neg500_down')!.server('s')!.health).toBe('down');
    expect(last('hdr_up')).toMatchObject({ ok: true, reason: 'Layer7 check passed', code: 200 });
    for (const n of ['neg500_up', 'negstr_up', 'okc', 'hdr_up']) expect(b.get(n)!.server('s')!.health).toBe('up');
  });

  it('refuses a bad rstatus regex or status-code expression at load, naming the key', async () => {
    const bad = (expect: string): Promise<unknown> =>
      startTestGateway(`plugins: ['@switchyard/preset-standard', '@switchyard/plugin-health-check']
frontends: { web: { bind: '127.0.0.1:0', defaultBackend: b } }
backends:
  b:
    healthCheck: { type: http, http: { expect: ${expect} } }
    servers: [{ name: s, address: 127.0.0.1:${site.port} }]
`, { file: path.join(os.tmpdir(), 'swy-http-expect-bad.yaml') });
    await expect(bad("{ rstatus: '(' }")).rejects.toThrow(/healthCheck\.http\.expect\.rstatus is not a valid regular expression/);
    await expect(bad("{ statusCode: 'nosuch(1)' }")).rejects.toThrow(/healthCheck\.http\.expect\.statusCode/);
  });
});

function cfg(frontPort: number, port: number): string {
  return `global
  log stdout format raw local0

defaults
  mode http
  log global
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  timeout check 2s
  default-server inter 100 fall 1 rise 1

frontend web
  bind 127.0.0.1:${frontPort}
  default_backend neg500_down

backend neg500_down
  option httpchk GET /e500
  http-check expect ! status 500
  server s 127.0.0.1:${port} check

backend neg500_up
  option httpchk GET /ok
  http-check expect ! status 500
  server s 127.0.0.1:${port} check

backend negstr_down
  option httpchk GET /errbody
  http-check expect ! string error
  server s 127.0.0.1:${port} check

backend code
  option httpchk GET /teapot
  http-check expect status-code "int(599)" on-error "not\\ a\\ 200" comment teapot status 200
  server s 127.0.0.1:${port} check

backend rstatus
  option httpchk
  http-check send meth GET uri /teapot
  http-check expect rstatus ^2
  server s 127.0.0.1:${port} check

backend body_any_status
  option httpchk GET /e503fine
  http-check expect string fine
  server s 127.0.0.1:${port} check

backend hdr_down
  option httpchk GET /hdr
  http-check expect hdr name x-role value replica
  server s 127.0.0.1:${port} check

backend hdr_neg
  option httpchk GET /hdr
  http-check expect ! hdr name -m beg x-ro
  server s 127.0.0.1:${port} check

backend hdr_up
  option httpchk GET /hdr
  http-check expect hdr name X-Role value -m sub read
  server s 127.0.0.1:${port} check

backend errsts
  option httpchk GET /errbody
  http-check expect error-status L7STS string nothing
  server s 127.0.0.1:${port} check
`;
}

describe('http-check expect in haproxy.cfg, beside HAProxy 2.6', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  let dir: string;
  let gw: TestGateway;
  let haproxy: ChildProcess | null = null;
  const haproxyLines: string[] = [];

  beforeAll(async () => {
    site = await startSite();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-http-expect-'));
    const ours = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(ours, cfg(0, site.port));
    gw = await startTestGateway(fs.readFileSync(ours, 'utf8'), { file: ours });
    const theirs = path.join(dir, 'real-haproxy.cfg');
    fs.writeFileSync(theirs, cfg(await freePort(), site.port));
    haproxy = spawn(findBinary(['haproxy'], 'haproxy'), ['-f', theirs, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const take = (d: Buffer): void => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        haproxyLines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    haproxy.stdout!.on('data', take);
    haproxy.stderr!.on('data', take);
  }, 20_000);

  afterAll(async () => {
    if (haproxy?.pid !== undefined && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy!.once('exit', r));
      process.kill(haproxy.pid, 'SIGTERM');
      await exited;
    }
    await gw?.stop();
    await site?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adapts a negated http-check expect and its options (no longer refused)', () => {
    const be = gw.gateway.config.backends as Record<string, { healthCheck: { http: { expect: unknown; path?: string } } }>;
    expect(be.neg500_down!.healthCheck.http.expect).toMatchObject({ negate: true, status: 500 });
    expect(be.negstr_down!.healthCheck.http.expect).toMatchObject({ negate: true, body: 'error' });
    expect(be.code!.healthCheck.http.expect).toMatchObject({ status: 200, statusCode: 'int(599)', onError: 'not a 200', comment: 'teapot' });
    expect(be.rstatus!.healthCheck.http).toMatchObject({ path: '/teapot', expect: { rstatus: '^2' } });
    // As in HAProxy, a body expect does not look at the status.
    expect(be.body_any_status!.healthCheck.http.expect).toMatchObject({ body: 'fine', statusRange: '100-599' });
  });

  it('says what HAProxy says about every server, word for word (with the code)', async () => {
    const ids = ['neg500_down/s', 'negstr_down/s', 'code/s', 'rstatus/s', 'errsts/s', 'hdr_down/s', 'hdr_neg/s'];
    const ours = await waitVerdicts(() => gw.logs.map((l) => String(l.msg)), ids);
    const theirs = await waitVerdicts(() => haproxyLines, ids);
    for (const id of ids) expect(`${id} ${ours.get(id)}`).toBe(`${id} ${theirs.get(id)}`);
    // Spelled out, so a change on both sides still shows here.
    expect(ours.get('neg500_down/s')).toBe('DOWN Layer7 wrong status code 500 | Internal Server Error');
    expect(ours.get('negstr_down/s')).toBe('DOWN Layer7 invalid response code - | HTTP check matched unwanted content');
    expect(ours.get('code/s')).toBe('DOWN Layer7 wrong status code 599 | not a 200 comment: teapot');
    expect(ours.get('hdr_down/s')).toBe('DOWN Layer7 wrong status code 200 | OK');
    expect(ours.get('hdr_neg/s')).toBe('DOWN Layer7 wrong status code 200 | OK');
    // neg500_up stays UP on both sides (HAProxy logs nothing for a server that starts UP).
    expect(gw.gateway.backends.get('neg500_up')!.server('s')!.health).toBe('up');
    expect(haproxyLines.some((l) => /Server neg500_up\/s is DOWN/.test(l))).toBe(false);
    // A 503 whose body holds the string passes on both sides.
    const c = gw.gateway.backends.get('body_any_status')!.server('s')!.data.get('switchyard.health.control') as { last: { ok: boolean; code?: number } | null };
    await until('body_any_status to be checked', () => c.last !== null, 5000);
    expect(c.last).toMatchObject({ ok: true, code: 503 });
    expect(haproxyLines.some((l) => /Server body_any_status\/s is DOWN/.test(l))).toBe(false);
    // hdr: a value among the comma-separated ones, name case-insensitive.
    const h = gw.gateway.backends.get('hdr_up')!.server('s')!.data.get('switchyard.health.control') as { last: { ok: boolean } | null };
    await until('hdr_up to be checked', () => h.last !== null, 5000);
    expect(h.last).toMatchObject({ ok: true });
    expect(haproxyLines.some((l) => /Server hdr_up\/s is DOWN/.test(l))).toBe(false);
    expect(gw.gateway.config.backends.hdr_neg!.healthCheck).toMatchObject({ http: { expect: { negate: true, header: { name: 'x-ro', nameMatch: 'beg' } } } });
  });
});

describe('http-check expect from a defaults section', () => {
  it('is replayed into each backend with option httpchk, and a backend\'s own line wins', async () => {
    const site = await startSite();
    const gw = await startTestGateway(`defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
  option httpchk GET /ok
  http-check expect ! status 500

frontend web
  bind 127.0.0.1:0
  default_backend inherits

backend inherits
  server s 127.0.0.1:${site.port} check

backend overrides
  http-check expect rstatus ^2
  server s 127.0.0.1:${site.port} check
`, { file: path.join(os.tmpdir(), 'swy-http-expect-defaults.cfg') });
    try {
      const be = gw.gateway.config.backends as Record<string, { healthCheck: { type: string; http: { path: string; expect: Record<string, unknown> } } }>;
      expect(be.inherits!.healthCheck).toMatchObject({ type: 'http', http: { path: '/ok', expect: { negate: true, status: 500 } } });
      expect(be.overrides!.healthCheck.http.expect).toMatchObject({ rstatus: '^2' });
      expect(be.overrides!.healthCheck.http.expect.negate).not.toBe(true);
    } finally {
      await gw.stop();
      await site.close();
    }
  });
});
