import * as net from 'node:net';
import { request, Agent } from 'undici';
import { startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { startGateway } from './fixtures/gateway';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-conn-limit'];

interface RawClient {
  socket: net.Socket;
  /** Resolves with the first bytes answered, or null if the connection closed without any. */
  answer: Promise<string | null>;
  closed: Promise<void>;
}

/** One keep-alive connection sending one GET, from a chosen loopback address. */
function rawGet(port: number, localAddress = '127.0.0.1'): RawClient {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
  const answer = new Promise<string | null>((resolve) => {
    socket.once('data', (d: Buffer) => resolve(d.toString('latin1')));
    socket.once('close', () => resolve(null));
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, answer, closed };
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> =>
  Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);

describe('connection limits', () => {
  let up: Upstream;
  let held: Array<() => void> = [];
  let gw: TestGateway;
  let gwGlobal: TestGateway;

  beforeAll(async () => {
    up = await startUpstream({
      handler: (req, res) => {
        req.resume();
        const answer = (): void => void res.end('ok\n');
        if (req.url === '/hold') held.push(answer);
        else answer();
      },
    });
    gwGlobal = await startGateway({
      plugins: PLUGINS,
      connLimit: { maxconn: 2, maxconnWait: '1500ms' },
      frontends: {
        a: { bind: '127.0.0.1:0', defaultBackend: 'app' },
        b: { bind: '127.0.0.1:0', defaultBackend: 'app' },
      },
      backends: { app: { servers: [{ name: 'u', address: up.address }] } },
    });
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: {
        a: { bind: '127.0.0.1:0', defaultBackend: 'app' },
        rated: { bind: '127.0.0.1:0', defaultBackend: 'app', connLimits: { rate: { limit: 3, period: '60s' } } },
        perclient: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          connLimits: { ratePerClient: { limit: 2, period: '60s' }, maxconnPerClient: 0 },
        },
        concurrent: { bind: '127.0.0.1:0', defaultBackend: 'app', connLimits: { maxconnPerClient: 2 } },
        requests: { bind: '127.0.0.1:0', defaultBackend: 'app', connLimits: { maxRequestsPerClient: 2 } },
      },
      backends: { app: { servers: [{ name: 'u', address: up.address }] } },
    });
  });
  afterAll(async () => {
    for (const h of held) h();
    await gw.stop();
    await gwGlobal.stop();
    await up.close();
  });

  it('global maxconn: a connection above it waits unread across frontends, then is served', async () => {
    const c1 = rawGet(gwGlobal.port('a'));
    const c2 = rawGet(gwGlobal.port('b'));
    expect(await c1.answer).toMatch(/^HTTP\/1.1 200/);
    expect(await c2.answer).toMatch(/^HTTP\/1.1 200/);
    const c3 = rawGet(gwGlobal.port('a'));
    // Not answered and not reset while both slots are taken.
    expect(await within(c3.answer, 500)).toBe('pending');
    expect(c3.socket.destroyed).toBe(false);
    c2.socket.destroy();
    expect(await within(c3.answer, 5000)).toMatch(/^HTTP\/1.1 200/);
    c1.socket.destroy();
    c3.socket.destroy();
    await Promise.all([c1.closed, c3.closed]);
  });

  it('global maxconn: a connection that waits longer than maxconnWait is closed', async () => {
    const c1 = rawGet(gwGlobal.port('a'));
    const c2 = rawGet(gwGlobal.port('a'));
    await Promise.all([c1.answer, c2.answer]);
    const c3 = rawGet(gwGlobal.port('b'));
    expect(await within(c3.answer, 500)).toBe('pending');
    expect(await within(c3.answer, 5000)).toBeNull();
    c1.socket.destroy();
    c2.socket.destroy();
    await Promise.all([c1.closed, c2.closed]);
  });

  it('connection rate per frontend: connections above the rate are refused', async () => {
    const seen: Array<string | null> = [];
    for (let i = 0; i < 4; i++) {
      const c = rawGet(gw.port('rated'));
      const a = await within(c.answer, 5000);
      seen.push(typeof a === 'string' ? a.slice(0, 12) : a === 'pending' ? 'pending' : null);
      c.socket.destroy();
      await c.closed;
    }
    expect(seen).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200', null]);
    // Another frontend is not affected.
    const other = rawGet(gw.port('a'));
    expect(await other.answer).toMatch(/^HTTP\/1.1 200/);
    other.socket.destroy();
    await other.closed;
  });

  it('connection rate per client address: one address is refused, another is served', async () => {
    const from = async (addr: string): Promise<string | null> => {
      const c = rawGet(gw.port('perclient'), addr);
      const a = await within(c.answer, 5000);
      c.socket.destroy();
      await c.closed;
      return typeof a === 'string' ? a.slice(0, 12) : null;
    };
    expect([await from('127.0.0.2'), await from('127.0.0.2'), await from('127.0.0.2')]).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', null]);
    expect(await from('127.0.0.3')).toBe('HTTP/1.1 200');
  });

  it('concurrent connections per client address', async () => {
    const c1 = rawGet(gw.port('concurrent'), '127.0.0.4');
    const c2 = rawGet(gw.port('concurrent'), '127.0.0.4');
    await Promise.all([c1.answer, c2.answer]);
    const c3 = rawGet(gw.port('concurrent'), '127.0.0.4');
    expect(await within(c3.answer, 5000)).toBeNull();
    const other = rawGet(gw.port('concurrent'), '127.0.0.5');
    expect(await other.answer).toMatch(/^HTTP\/1.1 200/);
    c1.socket.destroy();
    await c1.closed;
    // Once the gateway has seen c1 close, the address has a free slot again.
    let c4 = rawGet(gw.port('concurrent'), '127.0.0.4');
    for (let i = 0; i < 20 && (await c4.answer) === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      c4 = rawGet(gw.port('concurrent'), '127.0.0.4');
    }
    expect(await c4.answer).toMatch(/^HTTP\/1.1 200/);
    for (const c of [c2, other, c4]) c.socket.destroy();
  });

  it('concurrent requests per client address: the third in flight gets 429', async () => {
    const agent = new Agent({ connections: 10, localAddress: '127.0.0.6' });
    const other = new Agent({ localAddress: '127.0.0.7' });
    try {
      const url = gw.url('/hold', 'requests');
      const r1 = request(url, { dispatcher: agent });
      const r2 = request(url, { dispatcher: agent });
      for (let i = 0; i < 100 && held.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(held.length).toBe(2);
      const r3 = await request(url, { dispatcher: agent });
      expect(r3.statusCode).toBe(429);
      expect(r3.headers['retry-after']).toBe('1');
      await r3.body.text();
      const r4 = await request(gw.url('/', 'requests'), { dispatcher: other });
      expect(r4.statusCode).toBe(200);
      await r4.body.text();
      for (const h of held.splice(0)) h();
      expect((await r1).statusCode).toBe(200);
      expect((await r2).statusCode).toBe(200);
      await Promise.all([(await r1).body.text(), (await r2).body.text()]);
      // The slots are given back when the exchanges end.
      const r5 = await request(gw.url('/', 'requests'), { dispatcher: agent });
      expect(r5.statusCode).toBe(200);
      await r5.body.text();
    } finally {
      await agent.close();
      await other.close();
    }
  });
});

describe('core per-frontend maxconn (no plugin): excess connections wait, they are not reset', () => {
  it('serves the waiting connection once a slot frees', async () => {
    const up = await startUpstream();
    const gw = await startGateway({
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', maxconn: 2 } },
      backends: { app: { servers: [{ name: 'u', address: up.address }] } },
    });
    try {
      const c1 = rawGet(gw.port());
      const c2 = rawGet(gw.port());
      await Promise.all([c1.answer, c2.answer]);
      const c3 = rawGet(gw.port());
      expect(await within(c3.answer, 600)).toBe('pending');
      expect(c3.socket.destroyed).toBe(false);
      c1.socket.destroy();
      expect(await within(c3.answer, 5000)).toMatch(/^HTTP\/1.1 200/);
      c2.socket.destroy();
      c3.socket.destroy();
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
