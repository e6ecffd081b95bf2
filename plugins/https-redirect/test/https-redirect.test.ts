import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

function curl(args: string[]): Promise<string> {
  return new Promise((resolve) => execFile('curl', ['-s', '--max-time', '10', ...args], (_e, out) => resolve(out)));
}

describe('@switchyard/plugin-https-redirect', () => {
  let dir: string;
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-redirect-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
    up = await startUpstream({ name: 'app' });
    gw = await startTestGateway(
      {
        plugins: ['@switchyard/preset-standard', '@switchyard/plugin-https-redirect'],
        frontends: {
          web: {
            bind: ['127.0.0.1:0', { host: '127.0.0.1', port: 0, tls: { cert: 'cert.pem', key: 'key.pem' } }],
            httpsRedirect: { port: 8443 },
            hsts: { maxAge: '180d', includeSubDomains: true },
            defaultBackend: 'app',
          },
          plain: { bind: '127.0.0.1:0', httpsRedirect: { status: 308 }, defaultBackend: 'app' },
        },
        backends: { app: { servers: [{ name: 'a', address: up.address }] } },
      },
      { baseDir: dir },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('redirects plain HTTP to the same URL over HTTPS', async () => {
    const before = up.hits;
    const res = await request(`http://127.0.0.1:${gw.port('web')}/a/b?c=d`, { headers: { host: 'shop.example.com:8080' } });
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('https://shop.example.com:8443/a/b?c=d');
    expect(res.headers['strict-transport-security']).toBeUndefined();
    await res.body.text();
    const other = await request(`http://127.0.0.1:${gw.port('plain')}/x`, { method: 'POST', body: 'data', headers: { host: 'example.com' } });
    expect(other.statusCode).toBe(308);
    expect(other.headers.location).toBe('https://example.com/x');
    await other.body.text();
    expect(up.hits).toBe(before);
  });

  it('keeps ACME HTTP-01 challenges on plain HTTP', async () => {
    const res = await request(`http://127.0.0.1:${gw.port('web')}/.well-known/acme-challenge/token123`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-upstream']).toBe('app');
    await res.body.text();
  });

  it('answers 400 to a Host it cannot put in a Location', async () => {
    const out = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'host: bad host"<>', `http://127.0.0.1:${gw.port('web')}/`]);
    expect(out).toBe('400');
  });

  it('serves HTTPS with Strict-Transport-Security, over HTTP/2 too', async () => {
    const tlsPort = gw.gateway.address('web', 1).port;
    for (const v of ['--http1.1', '--http2']) {
      const head = await curl(['-k', '-D', '-', '-o', '/dev/null', v, `https://127.0.0.1:${tlsPort}/`]);
      expect(head).toMatch(/^HTTP\/(1\.1|2) 200/);
      expect(head).toMatch(/strict-transport-security: max-age=15552000; includeSubDomains\r\n/i);
    }
  });
});
