import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { get, closeClient } from './helpers';

// Its own gateway and server: the test closes the server to see stale-if-error take over.
describe('cache: stale-if-error when the server is unreachable', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream({
      handler: (req, res) => {
        req.resume();
        const cc = req.url === '/strict' ? 'max-age=1, must-revalidate' : 'max-age=1, stale-if-error=600';
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': cc, age: '5' });
        res.end(`saved ${req.url}\n`);
      },
    });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-cache'],
      global: { logLevel: 'error' },
      frontends: { web: { mode: 'http', bind: [{ host: '127.0.0.1', port: 0 }], defaultBackend: 'app' } },
      backends: { app: { mode: 'http', servers: [{ name: 'a', address: up.address }] } },
    });
  });
  afterAll(async () => {
    await closeClient();
    await gw?.stop();
    await up?.close();
  });

  test('connection refused or no server: the stale object is served instead of a 5xx', async () => {
    await get(gw.url('/saved'));
    await get(gw.url('/strict'));
    await up.close();
    const a = await get(gw.url('/saved'));
    expect(a.status).toBe(200);
    expect(a.headers['x-cache']).toBe('STALE');
    expect(a.body).toBe('saved /saved\n');
    gw.gateway.backends.get('app')!.servers[0]!.setAdmin('maint');
    const b = await get(gw.url('/saved'));
    expect(b.status).toBe(200);
    expect(b.headers['x-cache']).toBe('STALE');
    const strict = await get(gw.url('/strict'));
    expect(strict.status).toBe(503);
  });
});
