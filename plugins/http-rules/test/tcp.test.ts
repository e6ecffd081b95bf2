/** tcp-request connection and content rules through real sockets. */
import * as net from 'node:net';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

let echo: net.Server;
let echoPort = 0;
let gw: TestGateway;
const seen: string[] = [];

/** Connects, optionally writes, and collects what comes back until the gateway or server closes. */
function session(port: number, host: string, write?: string, wait = 0): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    let data = '';
    s.on('data', (c) => {
      data += c.toString();
      s.end();
    });
    s.on('close', () => resolve({ data, closed: true }));
    s.on('error', (err: Error & { code?: string }) => (err.code === 'ECONNRESET' ? resolve({ data, closed: true }) : reject(err)));
    s.setTimeout(10_000, () => s.destroy());
    if (write !== undefined) setTimeout(() => s.write(write), wait);
  });
}

beforeAll(async () => {
  echo = net.createServer((s) => {
    s.once('data', (c) => {
      seen.push(c.toString());
      s.end(`echo:${c.toString()}`);
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as net.AddressInfo).port;
  gw = await startTestGateway({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules'],
    global: { logLevel: 'warn' },
    frontends: {
      db: {
        mode: 'tcp',
        bind: ['127.0.0.1:0', '[::1]:0'],
        tcpRequest: {
          inspectDelay: '2s',
          connection: [{ action: 'reject', if: 'src ::1' }],
          content: [
            { action: 'reject', if: 'req.len gt 0 { var(none) -m found } or req.len gt 64' },
            { action: 'accept', if: 'req.len ge 5' },
          ],
        },
        defaultBackend: 'echo',
      },
    },
    backends: { echo: { mode: 'tcp', servers: [{ address: `127.0.0.1:${echoPort}` }] } },
  });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => echo.close(() => r()));
});

test('tcp-request connection reject closes an IPv6 client at once; the server sees nothing', async () => {
  const before = seen.length;
  const r = await session(gw.gateway.address('db', 1).port, '::1', 'hello');
  expect(r.data).toBe('');
  expect(seen.length).toBe(before);
});

test('content accept once enough bytes arrived; the bytes read during inspection reach the server first', async () => {
  const r = await session(gw.port('db'), '127.0.0.1', 'hello world', 50);
  expect(r.data).toBe('echo:hello world');
});

test('content reject on a too-long first message', async () => {
  const before = seen.length;
  const r = await session(gw.port('db'), '127.0.0.1', 'x'.repeat(100), 20);
  expect(r.data).toBe('');
  expect(seen.length).toBe(before);
});

test('with no decisive bytes, the inspect delay passes and the session goes on', async () => {
  const started = Date.now();
  const r = await session(gw.port('db'), '127.0.0.1', 'hey', 0);
  expect(r.data).toBe('echo:hey');
  expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
});
