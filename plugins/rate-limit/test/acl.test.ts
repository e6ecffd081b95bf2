import { request } from 'undici';
import { startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { startGateway } from './fixtures/gateway';

/** With @switchyard/plugin-acl and -http-rules: conditions on limits, and HAProxy's track-sc0 + deny idiom. */
describe('rate limits with the ACL plugin', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules', '@switchyard/plugin-rate-limit'],
      frontends: {
        conditional: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          acls: { is_api: 'path_beg /api', trusted: 'hdr(x-partner) -m str acme' },
          rateLimits: [{ name: 'api', key: 'src', points: 2, duration: '60s', if: 'is_api !trusted' }],
        },
        haproxy: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          // http-request track-sc0 src
          // http-request deny deny_status 429 if { sc_http_req_rate(0) gt 3 }
          // No -m int: the fetch declares defaultMatch 'int', as HAProxy's sc_* fetches are integers.
          track: [{ counter: 0, key: 'src', period: '60s' }],
          httpRequest: [{ action: 'deny', status: 429, if: '{ sc_http_req_rate(0) gt 3 }' }],
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  async function status(path: string, frontend: string, headers: Record<string, string> = {}): Promise<number> {
    const r = await request(gw.url(path, frontend), { headers });
    await r.body.text();
    return r.statusCode;
  }

  it('applies a limit only when its ACL condition holds', async () => {
    expect([await status('/api/x', 'conditional'), await status('/api/x', 'conditional'), await status('/api/x', 'conditional')]).toEqual([200, 200, 429]);
    // Not under /api, or a trusted partner: the condition is false, the limit does not apply.
    expect([await status('/web', 'conditional'), await status('/web', 'conditional'), await status('/web', 'conditional')]).toEqual([200, 200, 200]);
    expect(await status('/api/x', 'conditional', { 'x-partner': 'acme' })).toBe(200);
  });

  it('track-sc0 src + deny if { sc_http_req_rate(0) gt 3 }', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push(await status('/', 'haproxy'));
    expect(seen).toEqual([200, 200, 200, 429, 429]);
  });
});
