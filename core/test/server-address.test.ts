import { request } from 'undici';
import type { ServerChange } from '@switchyard/sdk';
import { startTestGateway, startUpstream, type Upstream, type TestGateway } from '@switchyard/sdk/testing';

describe('ServerState.setAddress (set server addr, DNS resolution)', () => {
  let a: Upstream;
  let b: Upstream;
  let gw: TestGateway;
  beforeAll(async () => {
    [a, b] = await Promise.all([startUpstream({ name: 'a' }), startUpstream({ name: 'b' })]);
    gw = await startTestGateway({
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 's1', address: a.address }] } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all([a.close(), b.close()]);
  });

  const hit = async (): Promise<string> => {
    const res = await request(gw.url('/'));
    await res.body.text();
    return String(res.headers['x-upstream']);
  };

  it('moves new requests to the new address, pooled connections included, and says so', async () => {
    expect(await hit()).toBe('a');
    expect(await hit()).toBe('a');
    const changes: ServerChange[] = [];
    gw.gateway.events.on('server-change', (c) => changes.push(c));
    const s1 = gw.gateway.backends.get('app')!.server('s1')!;
    const [, bPort] = /:(\d+)$/.exec(b.address)!;
    s1.setAddress('127.0.0.1', Number(bPort), 'test');
    expect(`${s1.host}:${s1.port}`).toBe(b.address);
    expect(await hit()).toBe('b');
    expect(changes.map((c) => [c.what, c.from, c.to, c.reason])).toEqual([['addr', a.address, b.address, 'test']]);
    // the config keeps what the file said
    expect(s1.config.address).toBe(a.address);
  });

  it('refuses an empty host or a bad port, and a no-op emits nothing', () => {
    const s1 = gw.gateway.backends.get('app')!.server('s1')!;
    expect(() => s1.setAddress('', 80)).toThrow(/not a host/);
    expect(() => s1.setAddress('127.0.0.1', 70000)).toThrow(/1-65535/);
    const changes: ServerChange[] = [];
    gw.gateway.events.on('server-change', (c) => changes.push(c));
    s1.setAddress(s1.host, s1.port);
    expect(changes).toEqual([]);
  });
});
