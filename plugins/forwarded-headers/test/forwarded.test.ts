/** Forwarding headers as the server sees them, from untrusted and trusted peers, over IPv4 and IPv6. */
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { isolatedGateway, send } from '../../acl/test/client';

let up: Upstream;
let gw: TestGateway;
const seen = () => up.requests[up.requests.length - 1]!.headers;

beforeAll(async () => {
  up = await startUpstream({ name: 'app' });
  gw = await startTestGateway({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-forwarded-headers'],
    global: { logLevel: 'warn' },
    frontends: {
      // 127.0.0.1 is a trusted proxy here; ::1 is not.
      web: {
        bind: ['127.0.0.1:0', '[::1]:0'],
        defaultBackend: 'app',
        forwardedHeaders: { forwarded: true, xForwardedPort: true, trustedProxies: ['127.0.0.0/8'] },
      },
      plain: { bind: '127.0.0.1:0', defaultBackend: 'app' },
    },
    defaults: { forwardedHeaders: { trustedProxies: [] } },
    backends: { app: { servers: [{ address: up.address }] } },
  });
});

afterAll(async () => {
  await gw?.stop();
  await up?.close();
});

test('an untrusted client cannot spoof its address: incoming values are replaced (IPv6 client)', async () => {
  await send(gw.gateway.address('web', 1).port, '/', {
    host: '::1',
    headers: { host: 'shop.example', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', forwarded: 'for=6.6.6.6' },
  });
  const h = seen();
  expect(h['x-forwarded-for']).toBe('::1');
  expect(h['x-forwarded-proto']).toBe('http');
  expect(h['x-forwarded-host']).toBe('shop.example');
  expect(h.forwarded).toBe('for="[::1]";host=shop.example;proto=http');
  expect(h['x-forwarded-port']).toBe(String(gw.gateway.address('web', 1).port));
});

test('a trusted proxy\'s values are kept and the peer is appended', async () => {
  await send(gw.port('web'), '/', {
    headers: { host: 'shop.example:8443', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', forwarded: 'for=203.0.113.7;proto=https' },
  });
  const h = seen();
  expect(h['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
  expect(h['x-forwarded-proto']).toBe('https');
  expect(h.forwarded).toBe('for=203.0.113.7;proto=https, for=127.0.0.1;host="shop.example:8443";proto=http');
});

test('defaults apply to a frontend without its own settings (127.0.0.1 untrusted there)', async () => {
  await send(gw.port('plain'), '/', { headers: { 'x-forwarded-for': '6.6.6.6' } });
  const h = seen();
  expect(h['x-forwarded-for']).toBe('127.0.0.1');
  expect(h.forwarded).toBeUndefined();
});

test('a trustedProxies entry that is not an address or CIDR block is refused at load', async () => {
  await expect(
    isolatedGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-forwarded-headers'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', forwardedHeaders: { trustedProxies: ['10.0.0.0/40'] } } },
      backends: { app: { servers: [{ address: up.address }] } },
    }),
  ).rejects.toMatchObject({ code: 'SWY_ERR_FORWARDED_BAD_PROXY' });
});
