import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

async function tally(url: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await request(url);
    await res.body.text();
    const who = String(res.headers['x-upstream'] ?? `status ${res.statusCode}`);
    counts[who] = (counts[who] ?? 0) + 1;
  }
  return counts;
}

/** Backup servers under a static-rr backend: the core picks the group, the policy the server. */
describe('static-rr with backup servers', () => {
  let ups: Upstream[];
  let gw: TestGateway;

  beforeAll(async () => {
    ups = await Promise.all(['p1', 'p2', 'b1', 'b2'].map((name) => startUpstream({ name })));
    const servers = [
      { name: 'p1', address: ups[0]!.address },
      { name: 'p2', address: ups[1]!.address },
      { name: 'b1', address: ups[2]!.address, backup: true },
      { name: 'b2', address: ups[3]!.address, backup: true, weight: 3 },
    ];
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-static-rr'],
      global: { logLevel: 'warn' },
      frontends: {
        one: { bind: '127.0.0.1:0', defaultBackend: 'one' },
        all: { bind: '127.0.0.1:0', defaultBackend: 'all' },
      },
      backends: {
        one: { balance: 'static-rr', servers },
        all: { balance: 'static-rr', allBackups: true, servers },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await Promise.all((ups ?? []).map((u) => u.close()));
  });

  const setPrimaries = (backend: string, health: 'up' | 'down'): void => {
    for (const n of ['p1', 'p2']) gw.gateway.backends.get(backend)!.server(n)!.setHealth(health, 'test');
  };

  it('backups take nothing while a primary is up', async () => {
    gw.gateway.backends.get('one')!.server('p1')!.setHealth('down', 'test');
    try {
      expect(await tally(gw.url('/', 'one'), 10)).toEqual({ p2: 10 });
    } finally {
      gw.gateway.backends.get('one')!.server('p1')!.setHealth('up', 'test');
    }
  });

  it('with every primary down, the first available backup takes everything', async () => {
    setPrimaries('one', 'down');
    try {
      expect(await tally(gw.url('/', 'one'), 12)).toEqual({ b1: 12 });
      gw.gateway.backends.get('one')!.server('b1')!.setAdmin('maint', 'test');
      expect(await tally(gw.url('/', 'one'), 4)).toEqual({ b2: 4 });
    } finally {
      gw.gateway.backends.get('one')!.server('b1')!.setAdmin('ready', 'test');
      setPrimaries('one', 'up');
    }
    expect(await tally(gw.url('/', 'one'), 4)).toEqual({ p1: 2, p2: 2 });
  });

  it('allBackups: every backup takes traffic, by weight, through the policy', async () => {
    setPrimaries('all', 'down');
    try {
      expect(await tally(gw.url('/', 'all'), 40)).toEqual({ b1: 10, b2: 30 });
    } finally {
      setPrimaries('all', 'up');
    }
  });
});
