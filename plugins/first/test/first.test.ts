import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { get, startHoldingUpstream, waitFor, type Answer, type HoldingUpstream } from './helpers';

describe('balance: first', () => {
  let ups: HoldingUpstream[];
  let gw: TestGateway;
  const inflight: Array<Promise<Answer>> = [];

  async function hold(id: string): Promise<void> {
    inflight.push(get(gw.url(`/hold/${id}`)));
    await waitFor(() => ups.some((u) => u.held.includes(`/hold/${id}`)), `held request ${id}`);
  }
  const heldOn = (): number[] => ups.map((u) => u.held.length);
  async function releaseAll(): Promise<void> {
    for (const u of ups) u.releaseAll();
    await Promise.all(inflight.splice(0));
  }

  beforeAll(async () => {
    ups = await Promise.all(['s1', 's2', 's3'].map((n) => startHoldingUpstream(n)));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-first'],
      global: { logLevel: 'warn' },
      frontends: { fe: { bind: '127.0.0.1:0', defaultBackend: 'first' } },
      backends: {
        // Weights are ignored by first: s3's weight must not pull traffic to it.
        first: { balance: 'first', servers: ups.map((u, i) => ({ name: u.name, address: u.address, maxconn: 2, weight: i === 2 ? 100 : 1 })) },
      },
    });
  });

  afterEach(releaseAll);

  afterAll(async () => {
    await releaseAll();
    await gw?.stop();
    await Promise.all((ups ?? []).map((u) => u.close()));
  });

  it('sends everything to the first server while it has room', async () => {
    for (let i = 0; i < 20; i++) expect((await get(gw.url('/fast'))).upstream).toBe('s1');
  });

  it('fills servers in order up to their maxconn', async () => {
    const expected = [[1, 0, 0], [2, 0, 0], [2, 1, 0], [2, 2, 0], [2, 2, 1], [2, 2, 2]];
    for (const [i, want] of expected.entries()) {
      await hold(`r${i}`);
      expect(heldOn()).toEqual(want);
    }
    // Everything full: the next one waits in the backend queue and takes the first slot that frees.
    const waiting = get(gw.url('/fast/queued'));
    await waitFor(() => gw.gateway.backends.get('first')!.queued === 1, 'a queued request');
    ups[1]!.releaseAll();
    expect((await waiting).upstream).toBe('s2');
  });

  it('skips a server in maint and comes back to it when ready', async () => {
    const s1 = gw.gateway.backends.get('first')!.server('s1')!;
    s1.setAdmin('maint', 'test');
    try {
      expect((await get(gw.url('/fast'))).upstream).toBe('s2');
    } finally {
      s1.setAdmin('ready', 'test');
    }
    expect((await get(gw.url('/fast'))).upstream).toBe('s1');
  });
});
