import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

async function distribution(gw: TestGateway, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await request(gw.url('/'));
    const name = String(res.headers['x-upstream']);
    counts[name] = (counts[name] ?? 0) + 1;
    await res.body.text();
  }
  return counts;
}

describe('balance: roundrobin (smooth weighted)', () => {
  let ups: Upstream[];
  let gw: TestGateway;
  beforeAll(async () => {
    ups = await Promise.all(['w1', 'w2', 'w3'].map((name) => startUpstream({ name })));
    gw = await startTestGateway({
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { balance: 'roundrobin', servers: ups.map((u, i) => ({ name: u.name, address: u.address, weight: i + 1 })) } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('weights 1:2:3 over 600 requests give exactly 100/200/300', async () => {
    expect(await distribution(gw, 600)).toEqual({ w1: 100, w2: 200, w3: 300 });
  });

  it('interleaves instead of sending bursts: no server twice in a row at 1:1:1', async () => {
    const servers = gw.gateway.backends.get('app')!.servers;
    servers.forEach((s) => s.setWeight(1));
    const order: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await request(gw.url('/'));
      order.push(String(res.headers['x-upstream']));
      await res.body.text();
    }
    for (let i = 1; i < order.length; i++) expect(order[i]).not.toBe(order[i - 1]);
  });

  it('applies a weight changed at run time on the next requests', async () => {
    const servers = gw.gateway.backends.get('app')!.servers;
    servers[0]!.setWeight(4);
    servers[1]!.setWeight(0);
    servers[2]!.setWeight(1);
    expect(await distribution(gw, 50)).toEqual({ w1: 40, w3: 10 });
  });

  it('skips servers that are down or in maintenance, and spreads over the rest', async () => {
    const servers = gw.gateway.backends.get('app')!.servers;
    servers.forEach((s) => s.setWeight(1));
    servers[0]!.setHealth('down', 'test');
    servers[2]!.setAdmin('maint', 'test');
    expect(await distribution(gw, 10)).toEqual({ w2: 10 });
    servers[0]!.setHealth('up');
    servers[2]!.setAdmin('ready');
    expect(await distribution(gw, 30)).toEqual({ w1: 10, w2: 10, w3: 10 });
  });
});
