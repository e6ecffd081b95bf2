import type { Exchange, ServerState } from '@switchyard/sdk';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

/**
 * Key movement measured on the real gateway state: 10 000 client addresses are run through
 * the backend's policy (gateway.selectServer, as the core does per request) before and
 * after a server leaves. No traffic is needed, so the servers point at a closed port.
 */
const N = 10;
const KEYS = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

describe('consistent vs map-based hashing: keys moved when a server leaves', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    const servers = Array.from({ length: N }, (_, i) => ({ name: `s${i}`, address: '127.0.0.1:9' }));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-hash'],
      global: { logLevel: 'warn' },
      frontends: { fe: { bind: '127.0.0.1:0', defaultBackend: 'ring' } },
      backends: {
        ring: { balance: 'source', hashType: 'consistent', servers },
        map: { balance: 'source', hashType: 'map-based', servers },
        weighted: {
          balance: 'source',
          hashType: 'consistent',
          // HAProxy's ring: weight × 16 points per server; weights 10:20:30 give enough points to follow the ratio.
          servers: [1, 2, 3].map((w) => ({ name: `w${w}`, address: '127.0.0.1:9', weight: w * 10 })),
        },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  function assign(backend: string): string[] {
    const be = gw.gateway.backends.get(backend)!;
    return KEYS.map((clientAddress) => {
      const ex = { kind: 'tcp', backend: be, clientAddress } as unknown as Exchange;
      return (gw.gateway.selectServer(ex) as ServerState).name;
    });
  }

  function moved(a: string[], b: string[]): number {
    let n = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
    return n;
  }

  it(`consistent: one of ${N} servers leaving moves about 1/${N} of 10 000 keys, all of them its own`, () => {
    const before = assign('ring');
    const victim = gw.gateway.backends.get('ring')!.server('s3')!;
    victim.setAdmin('maint', 'test');
    let after: string[];
    try {
      after = assign('ring');
    } finally {
      victim.setAdmin('ready', 'test');
    }
    const n = moved(before, after);
    const held = before.filter((s) => s === 's3').length;
    // Exactly the victim's keys move, and nothing else.
    expect(n).toBe(held);
    expect(KEYS.filter((_, i) => before[i] !== 's3' && after[i] !== before[i])).toEqual([]);
    // The victim held about 1/N of the keys (100 ring points per server: ±10 % per server is typical).
    expect(n / KEYS.length).toBeGreaterThan(0.5 / N);
    expect(n / KEYS.length).toBeLessThan(1.5 / N);
    // Back in service, every key returns to where it was.
    expect(moved(before, assign('ring'))).toBe(0);
    process.stdout.write(`consistent: ${n} of ${KEYS.length} keys moved (${((100 * n) / KEYS.length).toFixed(1)} %, ideal ${100 / N} %)\n`);
  });

  it('consistent: a server joining takes about 1/(N+1) of the keys, from everyone, and only to itself', () => {
    const be = gw.gateway.backends.get('ring')!;
    be.server('s9')!.setAdmin('maint', 'test');
    const without = assign('ring');
    be.server('s9')!.setAdmin('ready', 'test');
    const withIt = assign('ring');
    expect(KEYS.filter((_, i) => without[i] !== withIt[i] && withIt[i] !== 's9')).toEqual([]);
    const n = moved(without, withIt);
    expect(n / KEYS.length).toBeGreaterThan(0.5 / N);
    expect(n / KEYS.length).toBeLessThan(1.5 / N);
  });

  it('map-based: the same change remaps most keys (why consistent exists)', () => {
    const before = assign('map');
    const victim = gw.gateway.backends.get('map')!.server('s3')!;
    victim.setAdmin('maint', 'test');
    try {
      const n = moved(before, assign('map'));
      expect(n / KEYS.length).toBeGreaterThan(0.5);
      process.stdout.write(`map-based: ${n} of ${KEYS.length} keys moved (${((100 * n) / KEYS.length).toFixed(1)} %)\n`);
    } finally {
      victim.setAdmin('ready', 'test');
    }
  });

  it('map-based spreads keys evenly; consistent follows weights 10:20:30 within ±15 %', () => {
    const count = (names: string[]): Record<string, number> => names.reduce<Record<string, number>>((c, s) => ((c[s] = (c[s] ?? 0) + 1), c), {});
    const map = count(assign('map'));
    for (const v of Object.values(map)) expect(Math.abs(v - KEYS.length / N)).toBeLessThan(0.15 * (KEYS.length / N));
    const weighted = count(assign('weighted'));
    for (const w of [1, 2, 3]) {
      const expected = (KEYS.length * w) / 6;
      expect(Math.abs(weighted[`w${w}`]! - expected)).toBeLessThan(0.15 * expected);
    }
  });

  it('a weight change on a consistent ring moves keys only to or from that server', () => {
    const be = gw.gateway.backends.get('weighted')!;
    const before = assign('weighted');
    be.server('w1')!.setWeight(30, 'test');
    try {
      const after = assign('weighted');
      expect(KEYS.filter((_, i) => before[i] !== after[i] && after[i] !== 'w1')).toEqual([]);
    } finally {
      be.server('w1')!.setWeight(10, 'test');
    }
    expect(moved(before, assign('weighted'))).toBe(0);
  });

  it('a server at its maxconn passes its keys on along the ring, to one other server per key', () => {
    // Saturate s0 by pretending its slots are taken: the state's active count is what the core raises.
    const be = gw.gateway.backends.get('ring')!;
    const s0 = be.server('s0')! as ServerState & { active: number; maxconn: number };
    const before = assign('ring');
    Object.defineProperty(s0, 'maxconn', { value: 1, configurable: true });
    s0.active = 1;
    try {
      const after = assign('ring');
      expect(after.filter((s) => s === 's0')).toEqual([]);
      expect(KEYS.filter((_, i) => before[i] !== 's0' && after[i] !== before[i])).toEqual([]);
      expect(moved(before, after)).toBe(before.filter((s) => s === 's0').length);
    } finally {
      s0.active = 0;
      Object.defineProperty(s0, 'maxconn', { value: 0, configurable: true });
    }
  });
});
