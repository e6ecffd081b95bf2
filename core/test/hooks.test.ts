import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Agent, request } from 'undici';
import * as tls from 'node:tls';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

interface Seen {
  accept: number;
  sni: string[];
  log: Array<{ status: number; backend: string | null; server: string | null; termination: string; url: string | null }>;
}

function makeCert(dir: string, name: string, cn: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', `subjectAltName=DNS:${cn}`,
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`),
  ], { stdio: 'ignore' });
}

describe('lifecycle hooks, tapped by a test plugin', () => {
  let a: Upstream;
  let b: Upstream;
  let gw: TestGateway;
  let seen: Seen;
  let certDir: string;

  beforeAll(async () => {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-hooks-'));
    makeCert(certDir, 'default', 'default.test');
    makeCert(certDir, 'other', 'other.test');
    a = await startUpstream({
      name: 'a',
      handler: (req, res) => {
        req.resume();
        res.writeHead(200, { 'x-upstream': 'a', 'x-secret': 'internal' });
        res.end('a\n');
      },
    });
    b = await startUpstream({ name: 'b' });
    gw = await startTestGateway(
      {
        // Only what the core needs besides the test plugin (the standard preset's TLS plugin
        // would answer the tls hook first).
        plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', './fixtures/hooks-plugin.js'],
        testHooks: { certDir },
        frontends: {
          web: { bind: '127.0.0.1:0', defaultBackend: 'one' },
          secure: { bind: { host: '127.0.0.1', port: 0, tls: { cert: path.join(certDir, 'default.crt'), key: path.join(certDir, 'default.key') } }, defaultBackend: 'one' },
        },
        backends: {
          one: { servers: [{ name: 'a', address: a.address }, { name: 'b', address: b.address }] },
          two: { servers: [{ name: 'b', address: b.address }] },
        },
      },
      { baseDir: __dirname },
    );
    seen = gw.gateway.container.resolve<Seen>('test.seen');
  });
  afterAll(async () => {
    await gw.stop();
    await a.close();
    await b.close();
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('route can answer directly: the server never sees the request', async () => {
    const before = a.hits + b.hits;
    const res = await request(gw.url('/direct'), { headers: { 'x-answer': '1' } });
    expect(res.statusCode).toBe(218);
    expect(await res.body.text()).toBe('answered by route\n');
    expect(a.hits + b.hits).toBe(before);
  });

  it('route can choose the backend', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(gw.url('/two'), { headers: { 'x-backend': 'two' } });
      expect(res.headers['x-upstream']).toBe('b');
      await res.body.text();
    }
  });

  it('a route tap that throws fails that request with 500, and the gateway keeps serving', async () => {
    const res = await request(gw.url('/boom'), { headers: { 'x-throw': '1' } });
    expect(res.statusCode).toBe(500);
    await res.body.text();
    const ok = await request(gw.url('/after'));
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });

  it('a route naming an unknown backend gets 503', async () => {
    const res = await request(gw.url('/nope'), { headers: { 'x-backend': 'missing' } });
    expect(res.statusCode).toBe(503);
    await res.body.text();
  });

  it('selectServer overrides the policy', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await request(gw.url('/pinned'), { headers: { 'x-server': 'a' } });
      expect(res.headers['x-upstream']).toBe('a');
      await res.body.text();
    }
  });

  it('respond rewrites response headers', async () => {
    const res = await request(gw.url('/h'), { headers: { 'x-server': 'a' } });
    expect(res.headers['x-respond']).toBe('rewritten');
    expect(res.headers['x-secret']).toBeUndefined();
    await res.body.text();
  });

  it('log sees every exchange, with its outcome', async () => {
    const before = seen.log.length;
    const r1 = await request(gw.url('/logged-1'));
    await r1.body.text();
    const r2 = await request(gw.url('/logged-2'), { headers: { 'x-answer': '1' } });
    await r2.body.text();
    // The log hook runs when the exchange ends, which may be just after the client has the body.
    for (const deadline = Date.now() + 5_000; seen.log.length < before + 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    const mine = seen.log.slice(before);
    expect(mine.map((l) => l.url)).toEqual(['/logged-1', '/logged-2']);
    expect(mine[0]).toMatchObject({ status: 200, backend: 'one', termination: 'ok' });
    expect(mine[1]).toMatchObject({ status: 218, termination: 'local' });
  });

  it('accept can refuse a connection', async () => {
    const freeLocalPort = async (): Promise<number> => {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise<void>((r) => server.close(() => r()));
      return port;
    };
    const connectFrom = (localPort: number) =>
      new Promise<string>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: gw.port('web'), localPort, localAddress: '127.0.0.1' });
        s.on('connect', () => s.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
        s.on('data', () => resolve('answered'));
        s.on('close', () => resolve('closed'));
        s.on('error', () => resolve('closed'));
      });
    const hooks = gw.gateway.config.testHooks as { refusePort: number };
    const before = seen.accept;
    const refusedPort = await freeLocalPort();
    hooks.refusePort = refusedPort;
    try {
      expect(await connectFrom(refusedPort)).toBe('closed');
      expect(await connectFrom(await freeLocalPort())).toBe('answered');
    } finally {
      hooks.refusePort = 0;
    }
    expect(seen.accept - before).toBe(2);
  });

  it('tls sees the SNI and can choose the certificate', async () => {
    const subjectFor = (servername: string) =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: gw.port('secure'), servername, rejectUnauthorized: false }, () => {
          const cn = s.getPeerCertificate().subject.CN;
          s.end();
          resolve(String(cn));
        });
        s.on('error', reject);
      });
    expect(await subjectFor('other.test')).toBe('other.test');
    expect(await subjectFor('default.test')).toBe('default.test');
    expect(seen.sni).toEqual(expect.arrayContaining(['other.test', 'default.test']));
    const agent = new Agent({ connect: { rejectUnauthorized: false, servername: 'other.test' } });
    const res = await request(`https://127.0.0.1:${gw.port('secure')}/over-tls`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    await agent.close();
  });
});
