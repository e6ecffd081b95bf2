import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-forward-auth'];

// The auth service: a separate Node process, so the test can kill it for real.
const SERVICE = `
const http = require('node:http');
let hits = 0;
const seen = [];
http.createServer((req, res) => {
  if (req.url === '/__hits') { res.setHeader('content-type', 'application/json'); return res.end(JSON.stringify({ hits, seen })); }
  hits++;
  seen.push({ method: req.method, url: req.url, headers: req.headers });
  if (req.headers['x-forwarded-uri'] === '/slow') return; // never answers
  if (req.headers.authorization === 'Bearer good') {
    res.writeHead(200, { 'x-auth-user': 'alice', 'x-auth-role': 'admin', 'x-internal': 'not-copied' });
    return res.end();
  }
  const body = JSON.stringify({ error: 'login first' });
  res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="svc"', 'x-reason': 'no token' });
  res.end(body);
}).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });
`;

function startService(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVICE], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
  });
}

async function serviceHits(port: number): Promise<{ hits: number; seen: Array<{ method: string; url: string; headers: Record<string, string> }> }> {
  const r = await request(`http://127.0.0.1:${port}/__hits`);
  return (await r.body.json()) as { hits: number; seen: Array<{ method: string; url: string; headers: Record<string, string> }> };
}

describe('forward auth against a real auth service', () => {
  let up: Upstream;
  let svc: { child: ChildProcess; port: number };
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream({ name: 'app' });
    svc = await startService();
    const url = `http://127.0.0.1:${svc.port}/verify`;
    gw = await startTestGateway({
      plugins: PLUGINS,
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          forwardAuth: { url, requestHeaders: ['authorization', 'x-tenant'], responseHeaders: ['x-auth-user', 'x-auth-role'], timeout: '1s', unless: '{ path_beg /public }' },
          defaultBackend: 'app',
        },
        cached: {
          bind: '127.0.0.1:0',
          forwardAuth: { url, cacheTtl: '1m' },
          defaultBackend: 'app',
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    if (svc && svc.child.exitCode === null && svc.child.signalCode === null) {
      const exited = new Promise((r) => svc.child.once('exit', r));
      process.kill(svc.child.pid!, 'SIGKILL');
      await exited;
    }
  });

  async function get(path: string, headers: Record<string, string> = {}, frontend?: string, method = 'GET') {
    const res = await request(gw.url(path, frontend), { method: method as 'GET', headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  it('2xx lets the request through with the chosen answer headers copied upstream (and spoofed ones replaced)', async () => {
    const r = await get('/orders?id=7', { authorization: 'Bearer good', 'x-auth-role': 'spoofed', 'x-tenant': 'acme' }, undefined, 'DELETE');
    expect(r.status).toBe(200);
    const seen = up.requests[up.requests.length - 1]!;
    expect(seen.method).toBe('DELETE');
    expect(seen.headers['x-auth-user']).toBe('alice');
    expect(seen.headers['x-auth-role']).toBe('admin');
    expect(seen.headers['x-internal']).toBeUndefined();
    // The sub-request carried the original method, URI and chosen headers.
    const { seen: asked } = await serviceHits(svc.port);
    const last = asked[asked.length - 1]!;
    expect(last.method).toBe('DELETE');
    expect(last.url).toBe('/verify');
    expect(last.headers['x-forwarded-uri']).toBe('/orders?id=7');
    expect(last.headers['x-forwarded-method']).toBe('DELETE');
    expect(last.headers['x-tenant']).toBe('acme');
    expect(last.headers.authorization).toBe('Bearer good');
  });

  it('any other answer goes back to the client: status, headers and body; the server never sees the request', async () => {
    const hits = up.hits;
    const r = await get('/orders', { authorization: 'Bearer bad' });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="svc"');
    expect(r.headers['x-reason']).toBe('no token');
    expect(JSON.parse(r.body)).toEqual({ error: 'login first' });
    expect(up.hits).toBe(hits);
    const logged = gw.logs.filter((l) => l.code === 'SWY_ERR_FWDAUTH_DENIED');
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(gw.logs)).not.toContain('Bearer bad');
  });

  it('unless: public paths are not sent to the auth service', async () => {
    const before = (await serviceHits(svc.port)).hits;
    expect((await get('/public/x')).status).toBe(200);
    expect((await serviceHits(svc.port)).hits).toBe(before);
  });

  it('caches decisions when cacheTtl is set: one sub-request for repeated identical requests', async () => {
    const before = (await serviceHits(svc.port)).hits;
    for (let i = 0; i < 5; i++) expect((await get('/c', { authorization: 'Bearer good' }, 'cached')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await get('/c', { authorization: 'Bearer bad' }, 'cached')).status).toBe(401);
    expect((await serviceHits(svc.port)).hits - before).toBe(2);
  });

  it('a service that does not answer in time fails closed with 504 and a coded log', async () => {
    const hits = up.hits;
    const r = await get('/slow', { authorization: 'Bearer good' });
    expect(r.status).toBe(504);
    expect(up.hits).toBe(hits);
    expect(gw.logs.some((l) => l.code === 'SWY_ERR_FWDAUTH_TIMEOUT')).toBe(true);
  });

  it('a service killed mid-request, then gone, fails closed with 503 (cached decisions still serve until they expire)', async () => {
    const before = (await serviceHits(svc.port)).hits;
    const inFlight = get('/slow', { authorization: 'Bearer good' });
    for (let i = 0; i < 100 && (await serviceHits(svc.port)).hits === before; i++) await new Promise((r) => setTimeout(r, 10));
    const exited = new Promise((r) => svc.child.once('exit', r));
    process.kill(svc.child.pid!, 'SIGKILL');
    await exited;
    expect((await inFlight).status).toBe(503);
    const hits = up.hits;
    const r = await get('/after-crash', { authorization: 'Bearer good' });
    expect(r.status).toBe(503);
    expect(up.hits).toBe(hits);
    expect(gw.logs.some((l) => l.code === 'SWY_ERR_FWDAUTH_UNREACHABLE')).toBe(true);
    expect((await get('/c', { authorization: 'Bearer good' }, 'cached')).status).toBe(200);
  });
});
