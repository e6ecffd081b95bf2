import * as net from 'node:net';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

/** A TCP server that writes its name and closes. */
async function nameServer(name: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => s.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as net.AddressInfo).port };
}

function readAll(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
  });
}

describe('stick table on a TCP backend', () => {
  let servers: Array<{ server: net.Server; port: number }>;
  let gw: TestGateway;

  beforeAll(async () => {
    servers = await Promise.all(['t1', 't2', 't3'].map(nameServer));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stickiness'],
      global: { logLevel: 'warn' },
      frontends: {
        sticky: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'sticky' },
        plain: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'plain' },
      },
      backends: {
        sticky: {
          mode: 'tcp',
          balance: 'roundrobin',
          stickTable: { key: 'src' },
          servers: servers.map((s, i) => ({ name: `t${i + 1}`, address: `127.0.0.1:${s.port}` })),
        },
        plain: { mode: 'tcp', balance: 'roundrobin', servers: servers.map((s, i) => ({ name: `t${i + 1}`, address: `127.0.0.1:${s.port}` })) },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    for (const s of servers ?? []) await new Promise<void>((r) => s.server.close(() => r()));
  });

  it('connections from one address all go to the first server they reached; without the table they rotate', async () => {
    const sticky = new Set<string>();
    const plain = new Set<string>();
    for (let i = 0; i < 6; i++) {
      sticky.add(await readAll(gw.port('sticky')));
      plain.add(await readAll(gw.port('plain')));
    }
    expect(sticky.size).toBe(1);
    expect(plain.size).toBe(3);
  });
});
