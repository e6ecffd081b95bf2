import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

/** Sends `n` GETs, `concurrency` at a time, and counts answers by the x-upstream header. */
async function tally(url: string, n: number, concurrency = 8): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const res = await request(url);
      await res.body.text();
      const who = String(res.headers['x-upstream'] ?? `status ${res.statusCode}`);
      counts[who] = (counts[who] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

describe('balance: static-rr (and roundrobin, for comparison)', () => {
  let ups: Upstream[];
  let gw: TestGateway;

  beforeAll(async () => {
    ups = await Promise.all(['s1', 's2', 's3'].map((name) => startUpstream({ name })));
    const servers = ups.map((u, i) => ({ name: u.name, address: u.address, weight: i + 1 }));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-static-rr'],
      global: { logLevel: 'warn' },
      frontends: {
        srr: { bind: '127.0.0.1:0', defaultBackend: 'srr' },
        rr: { bind: '127.0.0.1:0', defaultBackend: 'rr' },
      },
      backends: {
        srr: { balance: 'static-rr', servers },
        rr: { balance: 'roundrobin', servers },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await Promise.all((ups ?? []).map((u) => u.close()));
  });

  it.each(['srr', 'rr'])('%s: weights 1:2:3 over 600 requests give exactly 100/200/300', async (fe) => {
    expect(await tally(gw.url('/', fe), 600)).toEqual({ s1: 100, s2: 200, s3: 300 });
  });

  it('static-rr interleaves servers instead of sending bursts', async () => {
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(gw.url('/', 'srr'));
      await res.body.text();
      order.push(String(res.headers['x-upstream']));
    }
    // One full cycle holds each server by weight, and s3 never runs three times in a row.
    expect(order.filter((s) => s === 's3')).toHaveLength(3);
    expect(order.join(',')).not.toMatch(/s3,s3,s3/);
  });

  it.each(['srr', 'rr'])('%s: runtime weight changes apply to the next requests', async (fe) => {
    const be = gw.gateway.backends.get(fe)!;
    be.server('s1')!.setWeight(3, 'test');
    be.server('s2')!.setWeight(0, 'test');
    try {
      expect(await tally(gw.url('/', fe), 120)).toEqual({ s1: 60, s3: 60 });
    } finally {
      be.server('s1')!.setWeight(1, 'test');
      be.server('s2')!.setWeight(2, 'test');
    }
    expect(await tally(gw.url('/', fe), 120)).toEqual({ s1: 20, s2: 40, s3: 60 });
  });

  it('a server in maint or down takes no traffic; it is back in the schedule when ready', async () => {
    const be = gw.gateway.backends.get('srr')!;
    be.server('s3')!.setAdmin('maint', 'test');
    be.server('s1')!.setHealth('down', 'test');
    try {
      expect(await tally(gw.url('/', 'srr'), 40)).toEqual({ s2: 40 });
    } finally {
      be.server('s3')!.setAdmin('ready', 'test');
      be.server('s1')!.setHealth('up', 'test');
    }
    expect(await tally(gw.url('/', 'srr'), 60)).toEqual({ s1: 10, s2: 20, s3: 30 });
  });

  it('answers 503 when no server is available', async () => {
    const be = gw.gateway.backends.get('srr')!;
    for (const s of be.servers) s.setAdmin('maint', 'test');
    try {
      const res = await request(gw.url('/', 'srr'));
      await res.body.text();
      expect(res.statusCode).toBe(503);
    } finally {
      for (const s of be.servers) s.setAdmin('ready', 'test');
    }
  });
});
