import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

/**
 * Pins the order in which first-party plugins run within each hook (as Kong pins its
 * plugins' PRIORITY): a change of stage anywhere shows up here, on purpose.
 */
describe('tap order of first-party plugins', () => {
  let up: Upstream;
  let gw: TestGateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startTestGateway({
      plugins: [
        '@switchyard/preset-standard',
        '@switchyard/plugin-compression',
        '@switchyard/plugin-cache',
        '@switchyard/plugin-stats',
        '@switchyard/plugin-prometheus',
        '@switchyard/plugin-access-log',
      ],
      userlists: { staff: { users: { ann: { insecurePassword: 'x' } } } },
      stats: { listen: '127.0.0.1:0' },
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          acls: { is_api: 'path_beg /api' },
          useBackend: [{ backend: 'app', if: 'is_api' }],
          httpRequest: [{ action: 'deny', if: '{ path_beg /forbidden }' }],
          httpResponse: [{ action: 'set-header', name: 'x-served', value: 'yes' }],
          forwardedHeaders: {},
          basicAuth: { userlist: 'staff', if: '{ path_beg /admin }' },
          rateLimits: [{ name: 'per-ip', key: 'src', points: 1000, duration: '1s' }],
        },
      },
      backends: { app: { servers: [{ address: up.address }], retries: {} } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
  });

  it('is the documented order', () => {
    const order: Record<string, string[]> = {};
    for (const [hook, h] of Object.entries(gw.gateway.hooks) as Array<[string, { taps: Array<{ name: string; stage?: number }> }]>) {
      order[hook] = h.taps.map((t) => `${t.name.replace('@switchyard/plugin-', '')}@${t.stage ?? 0}`);
    }
    expect(order).toEqual(EXPECTED);
  });
});

// Reading it: within a hook, lower stages first (Stage constants in docs/hooks.md).
const EXPECTED = {
  accept: [
    'stats@2000', // counts connections when they arrive, after any filter (HAProxy's frontend sessions)
  ],
  tls: [],
  route: [
    'basic-auth@-310', // checks credentials early so rules can read http_auth() (never answers here)
    'http-rules@-300', // http-request allow/deny/redirect/return/rewrites (Stage.SECURITY)
    'basic-auth@-200', // asks for credentials (Stage.AUTH)
    'rate-limit@-100', // Stage.RATE_LIMIT
    'cache@100', // hits answered here (Stage.CACHE)
    'acl@200', // useBackend / routes (Stage.ROUTING)
  ],
  selectServer: [],
  forward: [
    'forwarded-headers@300', // X-Forwarded-* / Forwarded on the upstream request (Stage.REWRITE)
    'http-forwarder@1000',
    'tcp-forwarder@1000',
  ],
  respond: [
    'compression@0',
    'cache@100', // stores what compression produced (one variant per encoding)
    'http-rules@300', // http-response rules, on hits too
  ],
  log: ['stats@2000', 'prometheus@2000', 'access-log@2010'],
};
