import { request } from 'undici';
import { startTestGateway, startUpstream, type Upstream, type TestGateway } from '@switchyard/sdk/testing';

describe('HTTP proxying', () => {
  let ups: Upstream[];
  let gw: TestGateway;
  beforeAll(async () => {
    ups = await Promise.all(['a', 'b', 'c'].map((name) => startUpstream({ name })));
    gw = await startTestGateway({
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: ups.map((u) => ({ name: u.name, address: u.address })) } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('balances round-robin over the servers', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(gw.url('/x'));
      expect(res.statusCode).toBe(200);
      seen.push(String(res.headers['x-upstream']));
      await res.body.text();
    }
    expect(seen.sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });
});
