import { request } from 'undici';
import type { TestGateway } from '@switchyard/sdk/testing';
import { startUpstream } from '@switchyard/sdk/testing';
import { recordingUpstream, startGateway } from './helpers';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-retries'];

async function send(gw: TestGateway, method: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await request(gw.url('/'), { method, body, headers: body === undefined ? {} : { 'content-type': 'text/plain' } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('response timeouts', () => {
  let slow: Awaited<ReturnType<typeof startUpstream>>;
  let good: Awaited<ReturnType<typeof recordingUpstream>>;
  let slowSeen: string[];
  let gw: TestGateway;

  beforeAll(async () => {
    slowSeen = [];
    // Reads the request and never answers.
    slow = await startUpstream({
      name: 'slow',
      handler: (req) => {
        req.resume();
        req.on('end', () => slowSeen.push(req.method ?? ''));
      },
    });
    good = await recordingUpstream('good', () => 'ok');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          timeouts: { server: '300ms' },
          retries: { count: 1, redispatch: 1, retryOn: ['response-timeout'] },
          servers: [{ name: 'slow', address: slow.address }, { name: 'good', address: good.address }],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([slow.close(), good.close()]);
  });

  it('a GET that timed out is answered by another server; a POST that timed out gets 504 and is not replayed', async () => {
    const gets: number[] = [];
    for (let i = 0; i < 4; i++) gets.push((await send(gw, 'GET')).status);
    expect(gets).toEqual([200, 200, 200, 200]);
    const posts: number[] = [];
    for (let i = 0; i < 4; i++) posts.push((await send(gw, 'POST', `p${i}`)).status);
    const slowPosts = slowSeen.filter((m) => m === 'POST').length;
    expect(slowPosts).toBeGreaterThan(0);
    expect(posts.filter((s) => s === 504).length).toBe(slowPosts);
    expect(slowPosts + good.seen.filter((s) => s.method === 'POST').length).toBe(4);
  });
});
