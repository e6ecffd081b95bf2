/**
 * Differential test: the same haproxy.cfg and the same requests against HAProxy
 * (/usr/sbin/haproxy, started with -f file -db as a child and stopped by PID) and against
 * Switchyard (the file read by the adapter). What a client sees (status, chosen server,
 * response headers) and what a server sees (request headers) must agree, except for the
 * differences listed in ACCEPTED below.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { corpusFile, makeCert, startTcpUpstream, tcpHello, tcpOpen, tmpDir, waitFor, type TcpUpstream } from './helpers';

const HAPROXY = '/usr/sbin/haproxy';
const haveHaproxy = fs.existsSync(HAPROXY);
const maybe = haveHaproxy ? describe : describe.skip;

/**
 * Differences we accept, and why. Each is applied by what the comparison leaves out.
 * - hashes: `balance uri` and `balance url_param` use a different hash function than
 *   HAProxy's, so a key may land on another server; both must keep one key on one server.
 * - round-robin phase: which server takes the very first request differs; both must
 *   alternate evenly (compared as counts per server).
 * - generated bodies: HAProxy's own 403/401 pages and its stats page are HTML of its own;
 *   only statuses (and WWW-Authenticate's presence) are compared.
 * - rate estimate: HAProxy's http_req_rate is a sliding-window estimate, Switchyard counts a
 *   fixed window; both must pass the first request of a burst and deny before its end.
 * - cookie nocache: HAProxy 2.6 adds `Cache-Control: private` only to responses it judges
 *   cacheable (a plain 200 without caching headers is not); Switchyard's stickiness plugin
 *   marks every response that inserts the cookie. Stricter, never less safe for caches.
 * - hop-by-hop and identity headers (date, server when set by the proxy, connection,
 *   keep-alive, content-length of generated answers) are not compared.
 */
export const ACCEPTED = ['hashes', 'round-robin phase', 'generated bodies', 'rate estimate', 'cookie nocache', 'hop-by-hop headers'];

interface Seen {
  name: string;
  status: number;
  server?: string;
  headers: Record<string, string | undefined>;
  upstream: Record<string, string | undefined>;
}

async function startHaproxy(file: string, ports: number[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const ok = await waitFor(
    async () =>
      (
        await Promise.all(
          ports.map(
            (p) =>
              new Promise<boolean>((resolve) => {
                const s = net.connect(p, '127.0.0.1');
                s.once('connect', () => {
                  s.destroy();
                  resolve(true);
                });
                s.once('error', () => resolve(false));
              }),
          ),
        )
      ).every(Boolean) || child.exitCode !== null,
    10000,
    100,
  );
  if (!ok || child.exitCode !== null) throw new Error(`haproxy did not start: ${err}`);
  return { child, stderr: () => err };
}

async function stopHaproxy(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

/** The last request `name` received for `url` (health checks interleave with traffic). */
function lastRequest(ups: Upstream[], name: string | undefined, url: string): Record<string, string | undefined> {
  const up = ups.find((u) => u.name === name);
  const r = up?.requests.filter((x) => x.url === url).pop();
  if (!r) return {};
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(r.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

async function hit(base: string, ups: Upstream[], name: string, path: string, headers: Record<string, string> = {}, keep: string[] = [], upKeep: string[] = []): Promise<Seen> {
  const res = await request(base + path, { headers });
  const body = await res.body.text();
  const server = res.headers['x-upstream'] as string | undefined;
  const h: Record<string, string | undefined> = {};
  for (const k of keep) h[k] = res.headers[k] === undefined ? undefined : String(res.headers[k]);
  const seenUp = server ? lastRequest(ups, server, path) : {};
  const u: Record<string, string | undefined> = {};
  for (const k of upKeep) u[k] = seenUp[k];
  void body;
  return { name, status: res.statusCode, server, headers: h, upstream: u };
}

const dir = tmpDir('diff');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

maybe('differential: website.cfg', () => {
  let ups: Upstream[] = [];
  beforeAll(async () => {
    ups = await Promise.all(['app1', 'app2', 'static1', 'static2', 'sorry'].map((name) => startUpstream({ name })));
  });
  afterAll(async () => {
    await Promise.all(ups.map((u) => u.close()));
  });

  async function script(base: string): Promise<{ seen: Seen[]; rr: Record<string, number>; staticStable: boolean }> {
    const seen: Seen[] = [];
    const rr: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const s = await hit(base, ups, 'app', '/page', {}, ['x-served-by'], ['x-site', 'x-forwarded-for']);
      rr[s.server ?? '-'] = (rr[s.server ?? '-'] ?? 0) + 1;
      seen.push({ ...s, server: undefined });
    }
    const first = await hit(base, ups, 'static', '/static/a.css', {}, ['x-served-by'], ['x-site']);
    let staticStable = ['static1', 'static2'].includes(first.server ?? '');
    for (let i = 0; i < 3; i++) staticStable &&= (await hit(base, ups, 'static', '/static/a.css')).server === first.server;
    seen.push({ ...first, server: undefined });
    seen.push(await hit(base, ups, 'images', '/images/x.png', {}, [], []).then((s) => ({ ...s, server: s.server?.replace(/\d$/, '') })));
    return { seen, rr, staticStable };
  }

  it('answers the same way', async () => {
    const [a1, a2, s1, s2, sorry] = ups as [Upstream, Upstream, Upstream, Upstream, Upstream];
    const hp = await freePort();
    const repl = { 9001: a1.port, 9002: a2.port, 9003: s1.port, 9004: s2.port, 9009: sorry.port };
    const h = corpusFile('website.cfg', dir, { ...repl, 8080: hp });
    const ha = await startHaproxy(h.file, [hp]);
    let fromHaproxy;
    try {
      // let the first health checks pass
      await waitFor(async () => (await hit(`http://127.0.0.1:${hp}`, ups, 'x', '/')).server?.startsWith('app') === true, 5000);
      fromHaproxy = await script(`http://127.0.0.1:${hp}`);
    } finally {
      await stopHaproxy(ha.child);
    }
    const s = corpusFile('website.cfg', dir, { ...repl, 8080: 0 });
    const gw: TestGateway = await startTestGateway(s.text, { file: s.file });
    let fromSwitchyard;
    try {
      await waitFor(async () => (await hit(gw.url(''), ups, 'x', '/')).server?.startsWith('app') === true, 5000);
      fromSwitchyard = await script(gw.url(''));
    } finally {
      await gw.stop();
    }
    // the observations are not trivially equal: HAProxy itself gave these
    expect(fromHaproxy.seen.map((x) => [x.status, x.headers['x-served-by'], x.upstream['x-site'], x.upstream['x-forwarded-for']])).toContainEqual([200, 'switchyard-or-haproxy', 'www', '127.0.0.1']);
    expect(fromSwitchyard.seen).toEqual(fromHaproxy.seen);
    expect(fromHaproxy.rr).toEqual({ app1: 3, app2: 3 });
    expect(fromSwitchyard.rr).toEqual(fromHaproxy.rr);
    expect(fromHaproxy.staticStable).toBe(true);
    expect(fromSwitchyard.staticStable).toBe(true);
  });
});

maybe('differential: api-gateway.cfg', () => {
  let ups: Upstream[] = [];
  beforeAll(async () => {
    ups = await Promise.all(
      ['u1', 'u2', 'o1', 'o2'].map((name) =>
        startUpstream({
          name,
          handler: (req, res) => {
            req.resume();
            res.writeHead(200, { 'x-upstream': name, server: 'node-upstream', 'content-type': 'text/plain' });
            res.end(name);
          },
        }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(ups.map((u) => u.close()));
  });

  async function script(base: string, stats: string): Promise<{ seen: Seen[]; leastconn: Record<string, number>; orderStable: boolean; burst: number[] }> {
    const seen: Seen[] = [];
    const strip = (x: Seen): Seen => ({ ...x, server: x.server?.replace(/\d$/, '') });
    seen.push(await hit(base, ups, 'ping', '/ping', {}, ['content-type']));
    seen.push(await hit(base, ups, 'redirect', '/u', {}, ['location']));
    seen.push(await hit(base, ups, 'admin denied', '/admin/x'));
    seen.push(strip(await hit(base, ups, 'v2 header', '/users/1', { host: 'v2.api.example', 'x-debug': '1' }, ['server'], ['x-api-version', 'x-debug'])));
    seen.push(strip(await hit(base, ups, 'v1', '/users/2', { host: 'api.example' }, ['server'], ['x-api-version'])));
    seen.push(strip(await hit(base, ups, 'default', '/', {}, [], [])));
    const leastconn: Record<string, number> = {};
    for (let i = 0; i < 4; i++) {
      const s = await hit(base, ups, 'lc', '/users/x');
      leastconn[s.server ?? '-'] = (leastconn[s.server ?? '-'] ?? 0) + 1;
    }
    const first = await hit(base, ups, 'orders', '/orders?customer=42');
    let orderStable = ['o1', 'o2'].includes(first.server ?? '');
    for (let i = 0; i < 3; i++) orderStable &&= (await hit(base, ups, 'orders', '/orders?customer=42')).server === first.server;
    const noAuth = await hit(stats, ups, 'stats no auth', '/stats', {}, []);
    seen.push({ ...noAuth, headers: { 'www-authenticate': noAuth.status === 401 ? 'present' : 'absent' } });
    seen.push(await hit(stats, ups, 'stats', '/stats', { authorization: 'Basic ' + Buffer.from('admin:s3cret').toString('base64') }));
    const burst: number[] = [];
    for (let i = 0; i < 40; i++) burst.push((await hit(base, ups, 'burst', '/users/1')).status);
    return { seen, leastconn, orderStable, burst };
  }

  it('answers the same way', async () => {
    const [u1, u2, o1, o2] = ups as [Upstream, Upstream, Upstream, Upstream];
    const repl = { 9011: u1.port, 9012: u2.port, 9021: o1.port, 9022: o2.port };
    const [hp, hs] = [await freePort(), await freePort()];
    const h = corpusFile('api-gateway.cfg', dir, { ...repl, 8081: hp, 8404: hs });
    const ha = await startHaproxy(h.file, [hp, hs]);
    let fromHaproxy;
    try {
      fromHaproxy = await script(`http://127.0.0.1:${hp}`, `http://127.0.0.1:${hs}`);
    } finally {
      await stopHaproxy(ha.child);
    }
    const s = corpusFile('api-gateway.cfg', dir, { ...repl, 8081: 0, 8404: 0 });
    const gw = await startTestGateway(s.text, { file: s.file });
    let fromSwitchyard;
    try {
      fromSwitchyard = await script(gw.url('', 'api'), gw.url('', 'stats'));
    } finally {
      await gw.stop();
    }
    expect(fromHaproxy.seen.map((x) => x.status)).toEqual([200, 301, 403, 200, 200, 200, 401, 200]);
    expect(fromHaproxy.seen[3]!.upstream).toEqual({ 'x-api-version': '2', 'x-debug': undefined });
    expect(fromSwitchyard.seen).toEqual(fromHaproxy.seen);
    // idle leastconn servers take turns in both
    expect(fromSwitchyard.leastconn).toEqual(fromHaproxy.leastconn);
    expect([fromHaproxy.orderStable, fromSwitchyard.orderStable]).toEqual([true, true]);
    for (const b of [fromHaproxy.burst, fromSwitchyard.burst]) {
      expect(b[0]).toBe(200);
      expect(b.slice(-5)).toEqual([429, 429, 429, 429, 429]);
    }
  });
});

maybe('differential: tcp-db.cfg', () => {
  let ups: TcpUpstream[] = [];
  beforeAll(async () => {
    ups = await Promise.all(['pg1', 'pg2', 'standby', 'my1', 'my2'].map((n) => startTcpUpstream(n)));
  });
  afterAll(async () => {
    await Promise.all(ups.map((u) => u.close()));
  });

  async function script(pg: number, my: number): Promise<{ pg: Record<string, number>; myStable: boolean }> {
    // connections held open at once, so leastconn's choice does not depend on close timing
    const counts: Record<string, number> = {};
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const c = await tcpOpen(pg);
        open.push(c.socket);
        counts[c.name] = (counts[c.name] ?? 0) + 1;
      }
    } finally {
      for (const s of open) s.destroy();
    }
    const first = await tcpHello(my);
    let myStable = ['my1', 'my2'].includes(first);
    for (let i = 0; i < 3; i++) myStable &&= (await tcpHello(my)) === first;
    return { pg: counts, myStable };
  }

  it('spreads and sticks TCP connections the same way', async () => {
    const [p1, p2, sb, m1, m2] = ups as [TcpUpstream, TcpUpstream, TcpUpstream, TcpUpstream, TcpUpstream];
    const repl = { 9031: p1.port, 9032: p2.port, 9033: sb.port, 9041: m1.port, 9042: m2.port };
    const [hp, hm] = [await freePort(), await freePort()];
    const h = corpusFile('tcp-db.cfg', dir, { ...repl, 5433: hp, 3307: hm });
    const ha = await startHaproxy(h.file, [hp, hm]);
    let fromHaproxy;
    try {
      fromHaproxy = await script(hp, hm);
    } finally {
      await stopHaproxy(ha.child);
    }
    const s = corpusFile('tcp-db.cfg', dir, { ...repl, 5433: 0, 3307: 0 });
    const gw = await startTestGateway(s.text, { file: s.file });
    let fromSwitchyard;
    try {
      fromSwitchyard = await script(gw.port('postgres'), gw.port('mysql'));
    } finally {
      await gw.stop();
    }
    expect(fromHaproxy).toEqual({ pg: { pg1: 2, pg2: 2 }, myStable: true });
    expect(fromSwitchyard).toEqual(fromHaproxy);
  });
});

maybe('differential: tls.cfg', () => {
  let ups: Upstream[] = [];
  const certDir = tmpDir('diff-certs');
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  beforeAll(async () => {
    makeCert(certDir);
    ups = await Promise.all(['w1', 'w2'].map((name) => startUpstream({ name })));
  });
  afterAll(async () => {
    await insecure.destroy();
    await Promise.all(ups.map((u) => u.close()));
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  async function script(http: string, https: string): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    const r = await request(`${http}/login?x=1`, { headers: { host: 'shop.example' } });
    await r.body.text();
    out.push({ status: r.statusCode, location: r.headers.location });
    const a = await request(`${https}/a`, { dispatcher: insecure });
    await a.body.text();
    const server = String(a.headers['x-upstream']);
    const cookie = String(a.headers['set-cookie']);
    const up = ups.find((u) => u.name === server)!;
    const seen = up.requests[up.requests.length - 1]!.headers;
    out.push({
      status: a.statusCode,
      hsts: a.headers['strict-transport-security'],
      cookieNamesServer: new RegExp(`^SRV=${server}(;|$)`).test(cookie),
      cacheControl: a.headers['cache-control'],
      proto: seen['x-forwarded-proto'],
      xff: seen['x-forwarded-for'],
    });
    const sticky: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await request(`${https}/b`, { dispatcher: insecure, headers: { cookie: 'SRV=w2' } });
      await b.body.text();
      sticky.push(String(b.headers['x-upstream']));
      const w2 = ups[1]!.requests[ups[1]!.requests.length - 1]!.headers;
      sticky.push(String(w2.cookie ?? '(none)'));
    }
    out.push({ sticky });
    return out;
  }

  it('terminates TLS, redirects and persists the same way', async () => {
    const [w1, w2] = ups as [Upstream, Upstream];
    const repl = { 9051: w1.port, 9052: w2.port, CERTDIR: certDir };
    const [hh, hs] = [await freePort(), await freePort()];
    const h = corpusFile('tls.cfg', dir, { ...repl, 8082: hh, 8443: hs });
    const ha = await startHaproxy(h.file, [hh, hs]);
    let fromHaproxy;
    try {
      fromHaproxy = await script(`http://127.0.0.1:${hh}`, `https://127.0.0.1:${hs}`);
    } finally {
      await stopHaproxy(ha.child);
    }
    const s = corpusFile('tls.cfg', dir, { ...repl, 8082: 0, 8443: 0 });
    const gw = await startTestGateway(s.text, { file: s.file });
    let fromSwitchyard;
    try {
      fromSwitchyard = await script(gw.url('', 'http_in').replace(/\/$/, ''), `https://127.0.0.1:${gw.port('https_in')}`);
    } finally {
      await gw.stop();
    }
    expect(fromHaproxy[0]).toEqual({ status: 301, location: 'https://shop.example/login?x=1' });
    // accepted difference "cookie nocache": see ACCEPTED
    expect(fromHaproxy[1]!.cacheControl).toBeUndefined();
    expect(fromSwitchyard[1]!.cacheControl).toBe('private');
    delete fromHaproxy[1]!.cacheControl;
    delete fromSwitchyard[1]!.cacheControl;
    expect(fromSwitchyard).toEqual(fromHaproxy);
  });
});
