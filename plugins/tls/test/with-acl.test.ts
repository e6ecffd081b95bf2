import { execFile } from 'node:child_process';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { TestPki } from './certs';

function curlCode(args: string[]): Promise<string> {
  return new Promise((resolve) => execFile('curl', ['-sk', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', ...args], (_e, out) => resolve(out)));
}

// The ACL plugin listed before plugin-tls: the shared ssl_fc fetches stay the ACL plugin's,
// and the client-certificate fetches work in real ACL rules.
describe('plugin-tls fetches in @switchyard/plugin-acl rules', () => {
  let pki: TestPki;
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    pki = new TestPki('swy-tls-acl-');
    pki.issue('default', ['localhost']);
    pki.issue('alice', ['alice'], { client: true, subject: '/O=Example/CN=alice' });
    pki.issue('bob', ['bob'], { client: true, subject: '/O=Example/CN=bob' });
    up = await startUpstream({ name: 'app' });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules', '@switchyard/plugin-tls'],
      frontends: {
        web: {
          bind: [{ host: '127.0.0.1', port: 0, tls: { cert: pki.path('default.pem'), key: pki.path('default.key'), verify: 'optional', ca: pki.path('ca.pem') } }],
          httpRequest: [{ action: 'deny', unless: 'ssl_fc { ssl_c_verify 0 } { ssl_c_s_dn(CN) alice }' }],
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

  it('lets alice in and denies bob and clients without a certificate', async () => {
    const url = `https://127.0.0.1:${gw.port()}/`;
    expect(await curlCode(['--cert', pki.path('alice.pem'), '--key', pki.path('alice.key'), url])).toBe('200');
    expect(await curlCode(['--cert', pki.path('bob.pem'), '--key', pki.path('bob.key'), url])).toBe('403');
    expect(await curlCode([url])).toBe('403');
  });
});
