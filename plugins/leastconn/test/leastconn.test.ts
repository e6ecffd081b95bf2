import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { get, startHoldingUpstream, waitFor, type Answer, type HoldingUpstream } from './helpers';

describe('balance: leastconn', () => {
  let ups: HoldingUpstream[];
  let gw: TestGateway;
  const inflight: Array<Promise<Answer>> = [];

  /** Sends a request that the upstream holds, and waits until some upstream has it. */
  async function hold(id: string): Promise<void> {
    inflight.push(get(gw.url(`/hold/${id}`, 'lc')));
    await waitFor(() => ups.some((u) => u.held.includes(`/hold/${id}`)), `held request ${id}`);
  }
  const heldOn = (): Record<string, number> => Object.fromEntries(ups.map((u) => [u.name, u.held.length]));
  async function releaseAll(): Promise<void> {
    for (const u of ups) u.releaseAll();
    await Promise.all(inflight.splice(0));
  }

  beforeAll(async () => {
    ups = await Promise.all(['a', 'b', 'c'].map((n) => startHoldingUpstream(n)));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-leastconn'],
      global: { logLevel: 'warn' },
      frontends: { lc: { bind: '127.0.0.1:0', defaultBackend: 'lc' } },
      backends: {
        lc: { balance: 'leastconn', servers: ups.map((u) => ({ name: u.name, address: u.address })) },
      },
    });
  });

  afterEach(releaseAll);

  afterAll(async () => {
    await releaseAll();
    await gw?.stop();
    await Promise.all((ups ?? []).map((u) => u.close()));
  });

  it('idle servers take turns: 30 sequential requests give 10/10/10', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const r = await get(gw.url('/fast', 'lc'));
      counts[r.upstream!] = (counts[r.upstream!] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 10, b: 10, c: 10 });
  });

  it('sends new work away from servers busy with slow requests', async () => {
    await hold('slow1');
    await hold('slow2');
    const busy = ups.filter((u) => u.held.length > 0).map((u) => u.name);
    expect(busy).toHaveLength(2); // the two slow requests went to two different servers
    const idle = ups.find((u) => u.held.length === 0)!.name;
    const fast: string[] = [];
    for (let i = 0; i < 20; i++) fast.push((await get(gw.url('/fast', 'lc'))).upstream!);
    expect(new Set(fast)).toEqual(new Set([idle]));
    // A third slow request also avoids the busy ones, then the fourth lands beside one of them.
    await hold('slow3');
    expect(heldOn()[idle]).toBe(1);
    await hold('slow4');
    expect(Object.values(heldOn()).sort()).toEqual([1, 1, 2]);
  });

  it('counts in-flight requests against weight', async () => {
    const be = gw.gateway.backends.get('lc')!;
    be.server('c')!.setAdmin('maint', 'test');
    be.server('b')!.setWeight(3, 'test');
    try {
      await hold('w1'); // a (idle servers take turns; a was picked longest ago)
      await hold('w2'); // b is idle: score 0
      // a scores (1+1)/1 = 2; b scores (n+1)/3 and stays below 2 while it has up to 4 in flight.
      for (let i = 3; i <= 6; i++) await hold(`w${i}`);
      expect(heldOn()).toEqual({ a: 1, b: 5, c: 0 });
      await hold('w7'); // b now scores 6/3 = 2 = a's score: the tie goes to a, picked longest ago
      expect(heldOn()).toEqual({ a: 2, b: 5, c: 0 });
    } finally {
      be.server('c')!.setAdmin('ready', 'test');
      be.server('b')!.setWeight(1, 'test');
    }
  });
});
