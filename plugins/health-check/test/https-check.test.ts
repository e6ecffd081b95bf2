import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestGateway } from '@switchyard/sdk/testing';
import { startGateway, sleep } from './helpers';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-health-check'];

describe('https check with SNI', () => {
  let dir: string;
  let server: https.Server;
  let port: number;
  const names: string[] = [];
  let gw: TestGateway;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=api.internal', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1'], { stdio: 'ignore' });
    server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
      names.push((req.socket as unknown as { servername?: string }).servername ?? '');
      res.end(req.url === '/ready' ? 'ready' : 'nope');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          healthCheck: {
            type: 'http', inter: '150ms', timeout: '3s', rise: 1, fall: 1,
            http: { path: '/ready', expect: { body: 'ready' } },
            tls: { enabled: true, sni: 'api.internal', verify: true, ca: path.join(dir, 'cert.pem') },
          },
          servers: [{ name: 't1', address: `127.0.0.1:${port}` }],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends SNI, verifies the certificate against the CA and keeps the server UP', async () => {
    for (let i = 0; i < 100 && names.length < 2; i++) await sleep(50);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(new Set(names)).toEqual(new Set(['api.internal']));
    expect(gw.gateway.backends.get('api')!.server('t1')!.health).toBe('up');
  });
});
