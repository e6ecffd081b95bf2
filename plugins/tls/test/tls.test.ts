import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { TestPki } from './certs';

/** openssl s_client; resolves with stdout + stderr, never rejects. */
function sClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { timeout: 10_000 }, (_e, out, err) => resolve(`${out}\n${err}`));
    child.stdin!.end('Q\n');
  });
}

/** Subject line of the certificate the server presented (`subject=...`), or null. */
async function servedSubject(port: number, servername: string | null): Promise<string | null> {
  const out = await sClient(port, servername === null ? ['-noservername'] : ['-servername', servername]);
  return /^subject=(.*)$/m.exec(out)?.[1]?.trim() ?? null;
}

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '10', ...args], (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('@switchyard/plugin-tls', () => {
  let pki: TestPki;
  let up: Upstream;
  let gw: TestGateway;
  let reloadFile: string;

  beforeAll(async () => {
    pki = new TestPki();
    pki.issue('default', ['localhost']);
    pki.issue('a', ['a.example.com'], { combined: true });
    pki.issue('wild', ['*.wild.example.com'], { subject: '/CN=*.wild.example.com' });
    pki.issue('dir-b', ['b.example.com'], { combined: true, dir: pki.path('certs.d') });
    pki.issue('dir-c', ['c.example.com'], { dir: pki.path('certs.d') });
    reloadFile = pki.issue('reload', ['reload.example.com'], { combined: true, subject: '/O=First/CN=reload.example.com' });
    pki.issue('alice', ['alice'], { client: true, subject: '/O=Example/CN=alice' });
    pki.issue('bob', ['bob'], { client: true, subject: '/O=Example/CN=bob' });
    up = await startUpstream({ name: 'app' });
    const tlsBase = { cert: pki.path('default.pem'), key: pki.path('default.key') };
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-tls', path.join(__dirname, 'fixtures', 'cn-acl.ts')],
      tls: { reloadInterval: '100ms' },
      frontends: {
        sni: {
          bind: [{ host: '127.0.0.1', port: 0, tls: { ...tlsBase, certificates: [pki.path('a.pem'), pki.path('wild.pem'), pki.path('certs.d'), reloadFile] } }],
          defaultBackend: 'app',
        },
        strict: {
          bind: [{ host: '127.0.0.1', port: 0, tls: { ...tlsBase, strictSni: true, certificates: [pki.path('a.pem')] } }],
          defaultBackend: 'app',
        },
        mtls: {
          bind: [{ host: '127.0.0.1', port: 0, tls: { ...tlsBase, verify: 'required', ca: pki.path('ca.pem') } }],
          defaultBackend: 'app',
        },
        optional: {
          bind: [{ host: '127.0.0.1', port: 0, tls: { ...tlsBase, verify: 'optional', ca: pki.path('ca.pem') } }],
          defaultBackend: 'app',
        },
        acl: {
          bind: [{ host: '127.0.0.1', port: 0, tls: { ...tlsBase, verify: 'optional', ca: pki.path('ca.pem') } }],
          defaultBackend: 'app',
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    pki?.remove();
  });

  it('serves the certificate that matches the SNI name, wildcards included', async () => {
    const port = gw.port('sni');
    expect(await servedSubject(port, 'a.example.com')).toMatch(/CN\s*=\s*a\.example\.com/);
    expect(await servedSubject(port, 'x.wild.example.com')).toMatch(/CN\s*=\s*\*\.wild\.example\.com/);
    expect(await servedSubject(port, 'b.example.com')).toMatch(/CN\s*=\s*b\.example\.com/);
    expect(await servedSubject(port, 'c.example.com')).toMatch(/CN\s*=\s*c\.example\.com/);
  });

  it('falls back to the default certificate for unknown names and clients without SNI', async () => {
    const port = gw.port('sni');
    expect(await servedSubject(port, 'unknown.example.org')).toMatch(/CN\s*=\s*localhost/);
    expect(await servedSubject(port, 'deep.x.wild.example.com')).toMatch(/CN\s*=\s*localhost/);
    expect(await servedSubject(port, null)).toMatch(/CN\s*=\s*localhost/);
  });

  it('resumes sessions (tickets) on a certificate chosen by SNI', async () => {
    const sess = pki.path('sni-session.pem');
    const port = gw.port('sni');
    expect(await sClient(port, ['-servername', 'a.example.com', '-tls1_2', '-sess_out', sess])).toMatch(/^New,/m);
    const again = await sClient(port, ['-servername', 'a.example.com', '-tls1_2', '-sess_in', sess]);
    expect(again).toMatch(/^Reused,/m);
  });

  it('with strictSni refuses unknown names and handshakes without SNI', async () => {
    const port = gw.port('strict');
    expect(await servedSubject(port, 'a.example.com')).toMatch(/CN\s*=\s*a\.example\.com/);
    expect(await servedSubject(port, 'localhost')).toMatch(/CN\s*=\s*localhost/);
    expect(await servedSubject(port, 'unknown.example.org')).toBeNull();
    expect(await servedSubject(port, null)).toBeNull();
  });

  it('serves a replaced certificate file to new connections without dropping open ones', async () => {
    const port = gw.port('sni');
    expect(await servedSubject(port, 'reload.example.com')).toMatch(/O\s*=\s*First/);
    // An open keep-alive connection from before the swap.
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'reload.example.com', rejectUnauthorized: false });
    await new Promise<void>((r) => sock.once('secureConnect', () => r()));
    const ask = (): Promise<string> =>
      new Promise((resolve) => {
        let buf = '';
        const onData = (d: Buffer): void => {
          buf += d.toString();
          if (buf.includes('\r\n\r\n') && buf.includes('"upstream"')) {
            sock.off('data', onData);
            resolve(buf);
          }
        };
        sock.on('data', onData);
        sock.write('GET /keep HTTP/1.1\r\nhost: reload.example.com\r\n\r\n');
      });
    expect(await ask()).toMatch(/^HTTP\/1\.1 200/);

    // Renew as a client would: write the new PEM beside, then rename over the old one.
    const fresh = pki.issue('reload-new', ['reload.example.com'], { combined: true, subject: '/O=Second/CN=reload.example.com' });
    fs.renameSync(fresh, reloadFile);
    let subject: string | null = null;
    for (let i = 0; i < 50; i++) {
      subject = await servedSubject(port, 'reload.example.com');
      if (subject && /O\s*=\s*Second/.test(subject)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(subject).toMatch(/O\s*=\s*Second/);
    expect(await ask()).toMatch(/^HTTP\/1\.1 200/);
    sock.destroy();
  });

  it('refuses a client without a certificate when verify is required', async () => {
    const port = gw.port('mtls');
    const res = await curl(['-k', `https://127.0.0.1:${port}/mtls-none`]);
    expect(res.code).not.toBe(0);
    expect(up.requests.some((r) => r.url === '/mtls-none')).toBe(false);
    // With TLS 1.2 the refusal is part of the handshake itself: no session is established.
    const s = await sClient(port, ['-tls1_2', '-servername', 'localhost']);
    expect(s).toMatch(/alert handshake failure/);
  });

  it('passes the verified client certificate to the server as headers', async () => {
    const port = gw.port('mtls');
    const res = await curl(['-k', '--cert', pki.path('alice.pem'), '--key', pki.path('alice.key'), '-H', 'x-ssl-client-s-dn: /CN=forged', `https://127.0.0.1:${port}/mtls-ok`]);
    expect(res.code).toBe(0);
    const seen = up.requests.find((r) => r.url === '/mtls-ok')!;
    expect(seen.headers['x-ssl-client-verify']).toBe('SUCCESS');
    expect(seen.headers['x-ssl-client-s-dn']).toBe('/O=Example/CN=alice');
    expect(seen.headers['x-ssl-client-i-dn']).toBe('/O=Switchyard Test/CN=Test CA');
    expect(seen.headers['x-ssl-client-sha256']).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('with verify optional lets clients without a certificate in, and says so to the server', async () => {
    const port = gw.port('optional');
    const res = await curl(['-k', '-H', 'x-ssl-client-verify: SUCCESS', `https://127.0.0.1:${port}/optional-none`]);
    expect(res.code).toBe(0);
    expect(up.requests.find((r) => r.url === '/optional-none')!.headers['x-ssl-client-verify']).toBe('NONE');
  });

  it('makes the certificate subject and verification result available to ACLs (fetches)', async () => {
    const port = gw.port('acl');
    const alice = await curl(['-k', '--cert', pki.path('alice.pem'), '--key', pki.path('alice.key'), '-w', '%{http_code}', '-o', '/dev/null', `https://127.0.0.1:${port}/acl`]);
    expect(alice.stdout).toBe('200');
    const bob = await curl(['-k', '--cert', pki.path('bob.pem'), '--key', pki.path('bob.key'), `https://127.0.0.1:${port}/acl`]);
    expect(bob.stdout).toBe('denied cn=bob verify=0\n');
    const nobody = await curl(['-k', `https://127.0.0.1:${port}/acl`]);
    expect(nobody.stdout).toBe('denied cn=null verify=null\n');
  });
});
