import * as net from 'node:net';
import type { TestGateway } from '@switchyard/sdk/testing';
import { startGateway } from './helpers';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Connects through the gateway, sends `line`, resolves with what came back before the close. */
function roundTrip(port: number, line: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.endsWith('\n')) s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.write(line + '\n');
  });
}

describe('tcp mode: a refused connect is retried on another server', () => {
  let echo: net.Server;
  const lines: string[] = [];
  let gw: TestGateway;

  beforeAll(async () => {
    echo = net.createServer((s) => {
      s.on('data', (c: Buffer) => {
        lines.push(c.toString().trim());
        s.write(`echo ${c.toString()}`);
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    gw = await startGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-retries'],
      frontends: { tcpin: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'db' } },
      backends: {
        db: {
          mode: 'tcp',
          retries: { count: 2, redispatch: 1 },
          servers: [
            { name: 'dead', address: `127.0.0.1:${await closedPort()}` },
            { name: 'echo', address: `127.0.0.1:${(echo.address() as net.AddressInfo).port}` },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    echo.close();
  });

  it('every session reaches the live server once, with the bytes the client sent first', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 10; i++) answers.push(await roundTrip(gw.port(), `hello-${i}`));
    expect(answers).toEqual(Array.from({ length: 10 }, (_, i) => `echo hello-${i}\n`));
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `hello-${i}`));
    expect(gw.gateway.backends.get('db')!.server('dead')!.counters.errors).toBeGreaterThanOrEqual(5);
  });
});
