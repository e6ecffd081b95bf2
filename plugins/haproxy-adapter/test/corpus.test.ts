/**
 * The corpus of realistic haproxy.cfg files, each read by the core through the adapter
 * (the `.cfg` extension) and run with real traffic against real upstreams on 127.0.0.1.
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { request, Agent } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { corpusFile, makeCert, startTcpUpstream, tcpHello, tcpOpen, tmpDir, waitFor, type TcpUpstream } from './helpers';

const dir = tmpDir('corpus');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

describe('website.cfg', () => {
  let ups: Upstream[] = [];
  let gw: TestGateway;
  beforeAll(async () => {
    ups = await Promise.all(['app1', 'app2', 'static1', 'static2', 'sorry'].map((name) => startUpstream({ name })));
    const [a1, a2, s1, s2, sorry] = ups as [Upstream, Upstream, Upstream, Upstream, Upstream];
    const { file, text } = corpusFile('website.cfg', dir, { 8080: 0, 9001: a1.port, 9002: a2.port, 9003: s1.port, 9004: s2.port, 9009: sorry.port });
    gw = await startTestGateway(text, { file });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('balances the app backend round-robin and routes /static by URI hash', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push(String((await get(gw.url('/page'))).headers['x-upstream']));
    expect(seen.sort()).toEqual(['app1', 'app1', 'app2', 'app2']);
    const first = (await get(gw.url('/static/logo.png'))).headers['x-upstream'];
    expect(['static1', 'static2']).toContain(first);
    for (let i = 0; i < 3; i++) expect((await get(gw.url('/static/logo.png'))).headers['x-upstream']).toBe(first);
  });

  it('applies http-request/http-response rules and option forwardfor', async () => {
    const r = await get(gw.url('/x'));
    expect(r.status).toBe(200);
    expect(r.headers['x-served-by']).toBe('switchyard-or-haproxy');
    const up = ups.find((u) => u.name === r.headers['x-upstream'])!;
    const seen = up.requests[up.requests.length - 1]!;
    expect(seen.headers['x-site']).toBe('www');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('fails over to the backup once the checked servers are down', async () => {
    await ups[0]!.close();
    await ups[1]!.close();
    const ok = await waitFor(async () => (await get(gw.url('/'))).headers['x-upstream'] === 'sorry', 8000, 200);
    expect(ok).toBe(true);
  });
});

describe('api-gateway.cfg', () => {
  let ups: Upstream[] = [];
  let gw: TestGateway;
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
    const [u1, u2, o1, o2] = ups as [Upstream, Upstream, Upstream, Upstream];
    const { file, text } = corpusFile('api-gateway.cfg', dir, { 8081: 0, 8404: 0, 9011: u1.port, 9012: u2.port, 9021: o1.port, 9022: o2.port });
    gw = await startTestGateway(text, { file });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('routes by ACL and keeps a customer on one server (url_param)', async () => {
    expect(['u1', 'u2']).toContain((await get(gw.url('/users/7', 'api'))).body);
    expect(['u1', 'u2']).toContain((await get(gw.url('/', 'api'))).body);
    const first = (await get(gw.url('/orders?customer=42', 'api'))).body;
    expect(['o1', 'o2']).toContain(first);
    for (let i = 0; i < 3; i++) expect((await get(gw.url('/orders?customer=42', 'api'))).body).toBe(first);
  });

  it('answers deny, return and redirect rules itself', async () => {
    expect((await get(gw.url('/admin/x', 'api'))).status).toBe(403);
    const pong = await get(gw.url('/ping', 'api'));
    expect([pong.status, pong.body, pong.headers['content-type']]).toEqual([200, 'pong', 'text/plain']);
    const r = await get(gw.url('/u', 'api'));
    expect([r.status, r.headers.location]).toEqual([301, '/users/']);
  });

  it('rewrites request and response headers', async () => {
    const r = await get(gw.url('/users/1', 'api'), { host: 'v2.api.example', 'x-debug': '1' });
    expect(r.headers.server).toBeUndefined();
    const up = ups.find((u) => u.name === r.body)!;
    const seen = up.requests[up.requests.length - 1]!;
    expect(seen.headers['x-api-version']).toBe('2');
    expect(seen.headers['x-debug']).toBeUndefined();
  });

  it('serves stats behind basic auth on the stats listen section', async () => {
    expect((await get(gw.url('/stats', 'stats'))).status).toBe(401);
    const auth = 'Basic ' + Buffer.from('admin:s3cret').toString('base64');
    const page = await get(gw.url('/stats', 'stats'), { authorization: auth });
    expect(page.status).toBe(200);
  });

  it('limits the request rate with track-sc0 and sc_http_req_rate (gt 30 in 10s)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await get(gw.url('/users/1', 'api'))).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses[0]).toBe(200);
  });
});

describe('tcp-db.cfg', () => {
  let ups: TcpUpstream[] = [];
  let gw: TestGateway;
  beforeAll(async () => {
    ups = await Promise.all(['pg1', 'pg2', 'standby', 'my1', 'my2'].map((n) => startTcpUpstream(n)));
    const [p1, p2, sb, m1, m2] = ups as [TcpUpstream, TcpUpstream, TcpUpstream, TcpUpstream, TcpUpstream];
    const { file, text } = corpusFile('tcp-db.cfg', dir, { 5433: 0, 3307: 0, 9031: p1.port, 9032: p2.port, 9033: sb.port, 9041: m1.port, 9042: m2.port });
    gw = await startTestGateway(text, { file });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('spreads connections over the pool (leastconn) and keeps a source on one server', async () => {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await tcpOpen(gw.port('postgres')));
    for (const h of held) h.socket.destroy();
    expect(held.map((h) => h.name).sort()).toEqual(['pg1', 'pg1', 'pg2', 'pg2']);
    const first = await tcpHello(gw.port('mysql'));
    expect(['my1', 'my2']).toContain(first);
    for (let i = 0; i < 3; i++) expect(await tcpHello(gw.port('mysql'))).toBe(first);
  });

  it('uses the standby once both primaries fail their checks', async () => {
    await ups[0]!.close();
    await ups[1]!.close();
    const ok = await waitFor(async () => (await tcpHello(gw.port('postgres')).catch(() => '')) === 'standby', 10000, 250);
    expect(ok).toBe(true);
  });
});

describe('tls.cfg', () => {
  let ups: Upstream[] = [];
  let gw: TestGateway;
  const certDir = tmpDir('certs');
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  beforeAll(async () => {
    makeCert(certDir);
    ups = await Promise.all(['w1', 'w2'].map((name) => startUpstream({ name })));
    const [w1, w2] = ups as [Upstream, Upstream];
    const { file, text } = corpusFile('tls.cfg', dir, { 8082: 0, 8443: 0, 9051: w1.port, 9052: w2.port, CERTDIR: certDir });
    gw = await startTestGateway(text, { file });
  });
  afterAll(async () => {
    await gw?.stop();
    await insecure.destroy();
    await Promise.all(ups.map((u) => u.close()));
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('terminates TLS, adds the HAProxy-configured headers and inserts the persistence cookie', async () => {
    const res = await request(`https://127.0.0.1:${gw.port('https_in')}/a`, { dispatcher: insecure });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    const cookie = String(res.headers['set-cookie']);
    const m = /SRV=(w[12])/.exec(cookie);
    expect(m).not.toBeNull();
    const up = ups.find((u) => u.name === res.headers['x-upstream'])!;
    expect(up.name).toBe(m![1]);
    expect(up.requests[up.requests.length - 1]!.headers['x-forwarded-proto']).toBe('https');
    for (let i = 0; i < 3; i++) {
      const again = await request(`https://127.0.0.1:${gw.port('https_in')}/a`, { dispatcher: insecure, headers: { cookie: `SRV=${m![1]}` } });
      await again.body.text();
      expect(again.headers['x-upstream']).toBe(m![1]);
    }
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const r = await get(gw.url('/login?x=1', 'http_in'), { host: 'shop.example' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://shop.example/login?x=1');
  });
});

describe('kitchen-sink.cfg', () => {
  let up: Upstream;
  let gw: TestGateway;
  let syslog: dgram.Socket;
  const lines: string[] = [];
  const certDir = tmpDir('kitchen');
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  const page = '<html>' + 'hello haproxy '.repeat(200) + '</html>';
  beforeAll(async () => {
    makeCert(certDir);
    syslog = dgram.createSocket('udp4');
    syslog.on('message', (m) => lines.push(m.toString()));
    await new Promise<void>((r) => syslog.bind(0, '127.0.0.1', () => r()));
    up = await startUpstream({
      name: 'a',
      handler: (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=60', 'x-upstream': 'a' });
        res.end(page);
      },
    });
    const { file, text } = corpusFile('kitchen-sink.cfg', dir, { 8090: 0, 8091: 0, 9101: up.port, 514: syslog.address().port, CERTDIR: certDir });
    gw = await startTestGateway(text, { file });
  });
  afterAll(async () => {
    await gw?.stop();
    await insecure.destroy();
    await up.close();
    syslog.close();
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('runs: TLS bind, compression, cache, log-format to syslog', async () => {
    const url = `https://127.0.0.1:${gw.gateway.address('fe', 1).port}/index.html`;
    const bodies: number[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await request(url, { dispatcher: insecure, headers: { 'accept-encoding': 'gzip' } });
      const buf = Buffer.from(await res.body.arrayBuffer());
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBe('gzip');
      bodies.push(buf.length);
      expect(res.headers['x-cache']).toBe(i === 0 ? 'MISS' : 'HIT');
    }
    expect(bodies[0]!).toBeLessThan(page.length);
    expect(up.requests.filter((r) => r.url === '/index.html')).toHaveLength(1); // the second came from the cache
    expect(up.requests.some((r) => r.method === 'HEAD' && r.url === '/healthz' && r.headers.host === 'app.local')).toBe(true);
    expect(await waitFor(() => lines.some((l) => /^<134>.* 127\.0\.0\.1:\d+ \[\d+\/\w+\/\d{4}:[\d:.]+\] fe~ pool\/a 200 \d+ "GET \/index.html HTTP\/1.1"$/.test(l)), 5000)).toBe(true);
  });
});
