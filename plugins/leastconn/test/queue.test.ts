import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { get, startHoldingUpstream, waitFor, type Answer, type HoldingUpstream } from './helpers';

/**
 * The core's backend queue (maxconn, maxqueue, timeouts.queue) as a leastconn backend sees
 * it: requests above every server's maxconn wait in FIFO order, a full queue or an expired
 * wait answers 503, and queued work goes to whichever server frees a slot.
 */
describe('backend queue with leastconn', () => {
  let one: HoldingUpstream;
  let two: HoldingUpstream;
  let gw: TestGateway;
  const inflight: Array<Promise<Answer>> = [];

  beforeAll(async () => {
    one = await startHoldingUpstream('one');
    two = await startHoldingUpstream('two');
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-leastconn'],
      global: { logLevel: 'info' },
      frontends: {
        fifo: { bind: '127.0.0.1:0', defaultBackend: 'fifo' },
        short: { bind: '127.0.0.1:0', defaultBackend: 'short' },
        bounded: { bind: '127.0.0.1:0', defaultBackend: 'bounded' },
        pair: { bind: '127.0.0.1:0', defaultBackend: 'pair' },
      },
      backends: {
        fifo: { balance: 'leastconn', servers: [{ name: 'one', address: one.address, maxconn: 1 }] },
        short: { balance: 'leastconn', timeouts: { queue: '300ms' }, servers: [{ name: 'one', address: one.address, maxconn: 1 }] },
        bounded: { balance: 'leastconn', maxqueue: 2, servers: [{ name: 'one', address: one.address, maxconn: 1 }] },
        pair: {
          balance: 'leastconn',
          servers: [
            { name: 'one', address: one.address, maxconn: 1 },
            { name: 'two', address: two.address, maxconn: 2 },
          ],
        },
      },
    });
  });

  async function releaseAll(): Promise<void> {
    one.releaseAll();
    two.releaseAll();
    await Promise.all(inflight.splice(0));
  }

  afterEach(releaseAll);

  afterAll(async () => {
    await releaseAll();
    await gw?.stop();
    await one?.close();
    await two?.close();
  });

  const queued = (backend: string): number => gw.gateway.backends.get(backend)!.queued;

  it('serves waiting requests first in, first out once the slot frees', async () => {
    inflight.push(get(gw.url('/hold/first', 'fifo')));
    await waitFor(() => one.held.includes('/hold/first'), 'the first request to hold the only slot');
    const answers: Array<Promise<Answer>> = [];
    for (let i = 1; i <= 5; i++) {
      answers.push(get(gw.url(`/fast/${i}`, 'fifo')));
      await waitFor(() => queued('fifo') === i, `request ${i} to queue`);
    }
    expect(one.arrivals.filter((u) => u.startsWith('/fast/'))).toEqual([]);
    one.releaseAll();
    const done = await Promise.all(answers);
    expect(done.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(one.arrivals.filter((u) => u.startsWith('/fast/'))).toEqual(['/fast/1', '/fast/2', '/fast/3', '/fast/4', '/fast/5']);
    expect(queued('fifo')).toBe(0);
  });

  it('answers 503 when a request waits longer than timeouts.queue', async () => {
    inflight.push(get(gw.url('/hold/busy', 'short')));
    await waitFor(() => one.held.includes('/hold/busy'), 'the slot to be taken');
    const before = one.arrivals.length;
    const answer = await get(gw.url('/fast/late', 'short'));
    expect(answer.status).toBe(503);
    expect(one.arrivals.length).toBe(before); // it never reached the server
    expect(queued('short')).toBe(0);
    expect(gw.logs.some((l) => l.code === 'SWY_ERR_BALANCE_QUEUE_TIMEOUT')).toBe(true);
  });

  it('answers 503 at once when maxqueue requests already wait, and serves the queued ones', async () => {
    inflight.push(get(gw.url('/hold/busy', 'bounded')));
    await waitFor(() => one.held.includes('/hold/busy'), 'the slot to be taken');
    const waiting = [get(gw.url('/fast/q1', 'bounded')), get(gw.url('/fast/q2', 'bounded'))];
    await waitFor(() => queued('bounded') === 2, 'two queued requests');
    const refused = await get(gw.url('/fast/q3', 'bounded'));
    expect(refused.status).toBe(503);
    expect(gw.logs.some((l) => l.code === 'SWY_ERR_BALANCE_QUEUE_FULL')).toBe(true);
    expect(queued('bounded')).toBe(2);
    one.releaseAll();
    expect((await Promise.all(waiting)).map((a) => a.status)).toEqual([200, 200]);
    expect(one.arrivals).not.toContain('/fast/q3');
  });

  it('a request queued while every server is full goes to the server that frees a slot', async () => {
    inflight.push(get(gw.url('/hold/p1', 'pair')));
    inflight.push(get(gw.url('/hold/p2', 'pair')));
    inflight.push(get(gw.url('/hold/p3', 'pair')));
    await waitFor(() => one.held.length + two.held.length === 3, 'three held requests');
    expect([one.held.length, two.held.length]).toEqual([1, 2]);
    const waiting = get(gw.url('/fast/next', 'pair'));
    await waitFor(() => queued('pair') === 1, 'the fourth request to queue');
    two.releaseAll();
    const answer = await waiting;
    expect(answer).toMatchObject({ status: 200, upstream: 'two' });
  });

  it('drops a queued request whose client went away instead of sending it', async () => {
    inflight.push(get(gw.url('/hold/busy', 'fifo')));
    await waitFor(() => one.held.includes('/hold/busy'), 'the slot to be taken');
    const ac = new AbortController();
    const { request } = await import('undici');
    const gone = request(gw.url('/fast/gone', 'fifo'), { signal: ac.signal }).catch((err: Error) => err);
    await waitFor(() => queued('fifo') === 1, 'the request to queue');
    ac.abort();
    await gone;
    await waitFor(() => queued('fifo') === 0, 'the gateway to see the client leave the queue');
    const after = get(gw.url('/fast/after', 'fifo'));
    one.releaseAll();
    expect((await after).status).toBe(200);
    expect(one.arrivals).not.toContain('/fast/gone');
    expect(one.arrivals).toContain('/fast/after');
  });

  // An abandoned request gives its queue place (and its share of maxqueue) up at once.
  it('forgets a queued request as soon as its client goes away', async () => {
    inflight.push(get(gw.url('/hold/busy', 'fifo')));
    await waitFor(() => one.held.includes('/hold/busy'), 'the slot to be taken');
    const ac = new AbortController();
    const { request } = await import('undici');
    const gone = request(gw.url('/fast/gone2', 'fifo'), { signal: ac.signal }).catch((err: Error) => err);
    await waitFor(() => queued('fifo') === 1, 'the request to queue');
    ac.abort();
    await gone;
    await waitFor(() => queued('fifo') === 0, 'the queue to forget the abandoned request', 1000);
  });
});
