import * as net from 'node:net';
import { request } from 'undici';
import type { TestGateway } from '@switchyard/sdk/testing';
import { recordingUpstream, startGateway } from './helpers';
import { compilePolicy, redispatchOn } from '../src';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-retries'];

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function send(gw: TestGateway, method: string, body?: string, path = '/', frontend?: string): Promise<{ status: number; text: string }> {
  const res = await request(gw.url(path, frontend), { method, body, headers: body === undefined ? {} : { 'content-type': 'text/plain' } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('redispatch schedule', () => {
  it('follows HAProxy option redispatch <interval>', () => {
    const p = (redispatch: boolean | number) => compilePolicy({ count: 3, redispatch, retryOn: [], maxBodySize: 0, delay: 0, idempotentMethods: [] });
    expect([1, 2, 3].map((r) => redispatchOn(p(true), r))).toEqual([false, false, true]);
    expect([1, 2, 3].map((r) => redispatchOn(p(1), r))).toEqual([true, true, true]);
    expect([1, 2, 3].map((r) => redispatchOn(p(2), r))).toEqual([false, true, false]);
    expect([1, 2, 3].map((r) => redispatchOn(p(-2), r))).toEqual([false, true, false]);
    expect([1, 2, 3].map((r) => redispatchOn(p(false), r))).toEqual([false, false, false]);
  });
});

describe('connection failures are retried for any method, elsewhere', () => {
  let good: Awaited<ReturnType<typeof recordingUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    good = await recordingUpstream('good', () => 'ok');
    const dead = `127.0.0.1:${await closedPort()}`;
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' }, plain: { bind: '127.0.0.1:0', defaultBackend: 'noretries' } },
      backends: {
        api: {
          retries: { count: 2, redispatch: 1 },
          servers: [{ name: 'dead', address: dead }, { name: 'good', address: good.address }],
        },
        noretries: { servers: [{ name: 'dead', address: dead }, { name: 'good', address: good.address }] },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await good.close();
  });

  it('sends a POST whose connect was refused to the other server exactly once, body intact', async () => {
    const failed: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await send(gw, 'POST', `order-${i}`);
      if (r.status !== 200) failed.push(r.status);
    }
    expect(failed).toEqual([]);
    const posts = good.seen.filter((s) => s.method === 'POST').map((s) => s.body);
    expect(posts).toEqual(Array.from({ length: 10 }, (_, i) => `order-${i}`));
    const dead = gw.gateway.backends.get('api')!.server('dead')!;
    expect(dead.counters.errors).toBeGreaterThanOrEqual(5);
  });

  it('leaves a backend without `retries` alone: its refused requests fail', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(gw, 'GET', undefined, '/', 'plain')).status);
    expect(statuses.filter((s) => s === 503).length).toBe(3);
    expect(statuses.filter((s) => s === 200).length).toBe(3);
  });
});

describe('replay only where safe', () => {
  let flaky: Awaited<ReturnType<typeof recordingUpstream>>;
  let good: Awaited<ReturnType<typeof recordingUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    // flaky reads each request, then drops the connection without answering (an empty response)
    // or answers 503 for /busy.
    flaky = await recordingUpstream('flaky', () => (flaky.seen[flaky.seen.length - 1]?.url === '/busy' ? 503 : 'reset'));
    good = await recordingUpstream('good', () => 'ok');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          retries: { count: 3, redispatch: 1, retryOn: ['conn-failure', 'empty-response', 503], maxBodySize: '1kb' },
          servers: [{ name: 'flaky', address: flaky.address }, { name: 'good', address: good.address }],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([flaky.close(), good.close()]);
  });

  beforeEach(() => {
    flaky.seen.length = 0;
    good.seen.length = 0;
  });

  it('never sends a POST twice: each one reaches one server once, and those that hit the empty response fail', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await send(gw, 'POST', `pay-${i}`)).status);
    const flakyPosts = flaky.seen.filter((s) => s.method === 'POST').length;
    const goodPosts = good.seen.filter((s) => s.method === 'POST').length;
    // Every POST was delivered exactly once in total: none was replayed.
    expect(flakyPosts + goodPosts).toBe(10);
    expect(new Set([...flaky.seen, ...good.seen].map((s) => s.body)).size).toBe(10);
    expect(flakyPosts).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 502).length).toBe(flakyPosts);
  });

  it('replays an idempotent PUT with its body on another server after an empty response', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await send(gw, 'PUT', `doc-${i}`)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(good.seen.map((s) => s.body)).toEqual(Array.from({ length: 10 }, (_, i) => `doc-${i}`));
    expect(flaky.seen.length).toBeGreaterThan(0);
    expect(flaky.seen.every((s) => s.body.startsWith('doc-'))).toBe(true);
  });

  it('does not replay a PUT whose body is larger than maxBodySize', async () => {
    const big = 'x'.repeat(4096);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(gw, 'PUT', big)).status);
    const flakyPuts = flaky.seen.length;
    expect(flakyPuts).toBeGreaterThan(0);
    expect(flakyPuts + good.seen.length).toBe(6);
    expect(statuses.filter((s) => s === 502).length).toBe(flakyPuts);
  });

  it('retries a GET answered with a retry-on status elsewhere, but hands a POST its 503… as a failed attempt, not a replay', async () => {
    const gets: number[] = [];
    for (let i = 0; i < 6; i++) gets.push((await send(gw, 'GET', undefined, '/busy')).status);
    expect(gets.every((s) => s === 200)).toBe(true);
    const posts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await send(gw, 'POST', 'p', '/busy');
      posts.push(r.text);
    }
    // A POST that got 503 from flaky is passed through as is: the client sees flaky's 503.
    expect(posts.filter((t) => t === 'flaky 503').length).toBe(flaky.seen.filter((s) => s.method === 'POST').length);
    expect(flaky.seen.filter((s) => s.method === 'POST').length + good.seen.filter((s) => s.method === 'POST').length).toBe(6);
  });
});
