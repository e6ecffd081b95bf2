/**
 * useBackend on tcp frontends: by client address (IPv4 and IPv6), and by the TLS server name
 * read from the ClientHello (req.ssl_sni, provided by @switchyard/plugin-sni-passthrough)
 * without terminating TLS.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

interface Sink {
  server: net.Server;
  port: number;
  connections: number;
}

async function sink(): Promise<Sink> {
  const s: Sink = { server: net.createServer(), port: 0, connections: 0 };
  s.server.on('connection', (c) => {
    s.connections++;
    c.on('data', () => c.end('sink\n'));
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', () => r()));
  s.port = (s.server.address() as net.AddressInfo).port;
  return s;
}

let a: Sink;
let b: Sink;
let other: Sink;
let gw: TestGateway;

beforeAll(async () => {
  a = await sink();
  b = await sink();
  other = await sink();
  gw = await startTestGateway({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-sni-passthrough', '@switchyard/plugin-acl'],
    global: { logLevel: 'warn' },
    frontends: {
      tlspass: {
        mode: 'tcp',
        bind: '127.0.0.1:0',
        sniPassthrough: { rejectNonTls: true },
        useBackend: [
          { backend: 'a', if: 'req.ssl_sni -i a.example' },
          { backend: 'b', if: 'req.ssl_sni -m end .b.example' },
        ],
        defaultBackend: 'other',
      },
      bysrc: {
        mode: 'tcp',
        bind: ['127.0.0.1:0', '[::1]:0'],
        useBackend: [{ backend: 'b', if: 'src ::1' }],
        defaultBackend: 'a',
      },
    },
    backends: {
      a: { mode: 'tcp', servers: [{ address: `127.0.0.1:${a.port}` }] },
      b: { mode: 'tcp', servers: [{ address: `127.0.0.1:${b.port}` }] },
      other: { mode: 'tcp', servers: [{ address: `127.0.0.1:${other.port}` }] },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  for (const s of [a, b, other]) await new Promise<void>((r) => s?.server.close(() => r()));
});

/** Starts a TLS handshake through the gateway; the sinks are not TLS, so it fails after they got the hello. */
function hello(servername: string): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({ port: gw.port('tlspass'), host: '127.0.0.1', servername, rejectUnauthorized: false });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.setTimeout(5000, () => s.destroy());
  });
}

function plain(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.write('hi\n'));
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy());
  });
}

test('req.ssl_sni routes the TLS connection by server name', async () => {
  const before = [a.connections, b.connections, other.connections];
  await hello('A.example');
  await hello('x.b.example');
  await hello('c.example');
  expect([a.connections - before[0]!, b.connections - before[1]!, other.connections - before[2]!]).toEqual([1, 1, 1]);
});

test('src routes a tcp session by client address (IPv6 → b, IPv4 → default a)', async () => {
  const before = [a.connections, b.connections];
  expect(await plain(gw.gateway.address('bysrc', 1).port, '::1')).toBe('sink\n');
  expect(await plain(gw.port('bysrc'), '127.0.0.1')).toBe('sink\n');
  expect([a.connections - before[0]!, b.connections - before[1]!]).toEqual([1, 1]);
});
