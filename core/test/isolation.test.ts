import { request } from 'undici';
import { startTestGateway, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { Slots } from '@switchyard/sdk';
import { TOKENS } from '@switchyard/core';

describe('two gateways in one process', () => {
  let a: Upstream;
  let b: Upstream;
  beforeAll(async () => {
    a = await startUpstream({ name: 'a' });
    b = await startUpstream({ name: 'b' });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('share nothing: containers, slots, hooks and server state are their own', async () => {
    const config = (up: Upstream) => ({
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'only', address: up.address }] } },
    });
    const one = await startTestGateway(config(a));
    const two = await startTestGateway(config(b));
    try {
      expect(one.gateway.container).not.toBe(two.gateway.container);
      expect(one.gateway.container.resolve(TOKENS.GATEWAY)).toBe(one.gateway);
      expect(two.gateway.container.resolve(TOKENS.GATEWAY)).toBe(two.gateway);
      // A registration in one container is invisible to the other.
      one.gateway.container.register('test.only-in-one', { useValue: 1 });
      expect(one.gateway.container.isRegistered('test.only-in-one', true)).toBe(true);
      expect(two.gateway.container.isRegistered('test.only-in-one', true)).toBe(false);
      // Same slot name, distinct registrations and instances.
      expect(one.gateway.slots.get(Slots.BALANCE, 'roundrobin')).toBeDefined();
      expect(one.gateway.hooks).not.toBe(two.gateway.hooks);
      expect(one.gateway.hooks.forward.taps.length).toBeGreaterThan(0);
      // Taking a server out in one gateway does not touch the other.
      one.gateway.backends.get('app')!.servers[0]!.setAdmin('maint', 'test');
      const r1 = await request(one.url('/'));
      expect(r1.statusCode).toBe(503);
      await r1.body.text();
      const r2 = await request(two.url('/'));
      expect(r2.statusCode).toBe(200);
      expect(r2.headers['x-upstream']).toBe('b');
      await r2.body.text();
      expect(two.gateway.backends.get('app')!.servers[0]!.admin).toBe('ready');
    } finally {
      await one.stop();
      await two.stop();
    }
  });
});
