import { request } from 'undici';
import type { ServerChange } from '@switchyard/sdk';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

async function tally(url: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await request(url);
    await res.body.text();
    const who = String(res.headers['x-upstream']);
    counts[who] = (counts[who] ?? 0) + 1;
  }
  return counts;
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (let waited = 0; !check(); waited += 25) {
    if (waited >= ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('slow start', () => {
  let ups: Upstream[];
  let gw: TestGateway;
  const changes: ServerChange[] = [];

  beforeAll(async () => {
    ups = await Promise.all(['steady', 'back'].map((name) => startUpstream({ name })));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-slowstart'],
      global: { logLevel: 'warn' },
      frontends: { fe: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: {
        app: {
          balance: 'roundrobin',
          servers: [
            { name: 'steady', address: ups[0]!.address, weight: 20 },
            { name: 'back', address: ups[1]!.address, weight: 20, slowstart: '3s' },
          ],
        },
      },
    });
    gw.gateway.events.on('server-change', (c) => changes.push(c));
  });

  afterAll(async () => {
    await gw?.stop();
    await Promise.all((ups ?? []).map((u) => u.close()));
  });

  const back = () => gw.gateway.backends.get('app')!.server('back')!;

  it('does not ramp at start-up', () => {
    expect(back().weight).toBe(20);
  });

  it('a server that comes back up ramps from a low weight to its full weight, in several steps', async () => {
    back().setHealth('down', 'test');
    changes.length = 0;
    back().setHealth('up', 'test');
    expect(back().weight).toBeLessThan(20);
    expect(back().weight).toBeGreaterThanOrEqual(1);
    // Right after coming back it gets a small share of traffic (weight well below its peer's 20).
    const early = await tally(gw.url('/'), 40);
    expect(early.back ?? 0).toBeLessThan(early.steady!);
    await until(() => back().weight === 20, 'the full weight');
    const steps = changes.filter((c) => c.server === back() && c.what === 'weight' && c.reason === 'slowstart').map((c) => Number(c.to));
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!).toBeGreaterThan(steps[i - 1]!);
    expect(steps.at(-1)).toBe(20);
    // Ramp over: an even split again.
    expect(await tally(gw.url('/'), 40)).toEqual({ steady: 20, back: 20 });
  });

  it('leaving maint also ramps; going down mid-ramp restores the full weight at once', async () => {
    back().setAdmin('maint', 'test');
    back().setAdmin('ready', 'test');
    expect(back().weight).toBeLessThan(20);
    back().setHealth('down', 'test');
    expect(back().weight).toBe(20);
    back().setHealth('up', 'test');
    expect(back().weight).toBeLessThan(20);
    await until(() => back().weight === 20, 'the full weight');
  });

  it('a weight an operator sets becomes the target of the next ramp', async () => {
    back().setWeight(8, 'operator');
    back().setHealth('down', 'test');
    back().setHealth('up', 'test');
    expect(back().weight).toBeLessThan(8);
    await until(() => back().weight === 8, 'the operator weight');
    await new Promise((r) => setTimeout(r, 300));
    expect(back().weight).toBe(8);
    back().setWeight(20, 'operator');
  });
});
