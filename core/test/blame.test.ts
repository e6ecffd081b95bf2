import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

// issue 20 item 5: a throw in any tap is a 500 coded SWY_ERR_HOOK_FAILED that names the
// plugin and the hook; it is never the server's fault (no 502, no passive-health error).
describe('a tap that throws is blamed on its plugin and hook, never on a server', () => {
  let a: Upstream;
  let b: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    a = await startUpstream({ name: 'a' });
    b = await startUpstream({ name: 'b' });
    gw = await startTestGateway(
      {
        plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', '@switchyard/plugin-passive-health', './fixtures/throwing-plugin.js'],
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'one' } },
        backends: {
          one: {
            passiveHealth: { observe: 'layer7', errorLimit: 2, onError: 'mark-down', recover: '1h' },
            servers: [{ name: 'a', address: a.address }, { name: 'b', address: b.address }],
          },
        },
      },
      { baseDir: __dirname },
    );
  });
  afterAll(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });

  const failures = (hook: string): Array<Record<string, unknown>> =>
    gw.logs.filter((l) => l.code === 'SWY_ERR_HOOK_FAILED' && typeof l.msg === 'string' && l.msg.includes(`plugin test-throwing failed in its ${hook} tap`));

  it.each(['respond', 'route', 'selectServer'])('a throw in a %s tap: 500 SWY_ERR_HOOK_FAILED naming plugin and hook', async (hook) => {
    const before = failures(hook).length;
    for (let i = 0; i < 6; i++) {
      const res = await request(gw.url('/x'), { headers: { 'x-throw': hook } });
      expect(res.statusCode).toBe(500);
      const text = await res.body.text();
      expect(text).toContain('500 Internal Server Error');
      expect(text).not.toContain('exploded'); // no internals to the client
    }
    expect(failures(hook).length - before).toBe(6);
  });

  it('a respond tap that writes an invalid header value: 500 SWY_ERR_HTTP_BAD_HEADER, not 502', async () => {
    const res = await request(gw.url('/x'), { headers: { 'x-throw': 'bad-header' } });
    expect(res.statusCode).toBe(500);
    await res.body.dump();
    expect(gw.logs.some((l) => l.code === 'SWY_ERR_HTTP_BAD_HEADER' && typeof l.msg === 'string' && l.msg.includes('x-bad'))).toBe(true);
  });

  it('no server was marked down nor counted an error, and everyone else is served', async () => {
    const be = gw.gateway.backends.get('one')!;
    for (const s of be.servers) {
      expect(s.health).toBe('up');
      expect(s.counters.errors).toBe(0);
      expect(s.counters.responses[5]).toBe(0);
    }
    expect(gw.logs.some((l) => l.code === 'SWY_ERR_FORWARD_BAD_RESPONSE')).toBe(false);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await request(gw.url('/ok'));
      expect(res.statusCode).toBe(200);
      seen.add(String(res.headers['x-upstream'] ?? (await res.body.text())));
      await res.body.dump().catch(() => undefined);
    }
    expect(seen.size).toBe(2);
  });
});
