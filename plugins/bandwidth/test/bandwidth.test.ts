import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { startGateway } from './fixtures/gateway';

const KB = 1024;
const BODY = randomBytes(256 * KB);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('bandwidth limits', () => {
  let up: Upstream;
  let gw: TestGateway;
  const received: Array<{ bytes: number; sha: string }> = [];

  beforeAll(async () => {
    up = await startUpstream({
      handler: (req, res) => {
        if (req.method === 'POST') {
          const parts: Buffer[] = [];
          req.on('data', (c: Buffer) => parts.push(c));
          req.on('end', () => {
            const b = Buffer.concat(parts);
            received.push({ bytes: b.length, sha: sha(b) });
            res.end('ok');
          });
          return;
        }
        req.resume();
        const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('kb') ?? '256') * KB;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        res.end(BODY.subarray(0, size));
      },
    });
    gw = await startGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-bandwidth'],
      frontends: {
        stream: { bind: '127.0.0.1:0', defaultBackend: 'app', bandwidth: { download: { perStream: '128kb' }, upload: { perStream: '128kb' } } },
        client: { bind: '127.0.0.1:0', defaultBackend: 'app', bandwidth: { download: { perClient: '128kb' }, upload: { perClient: '128kb' } } },
        free: { bind: '127.0.0.1:0', defaultBackend: 'app' },
      },
      backends: { app: { servers: [{ name: 'u', address: up.address }] } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
  });

  async function download(url: string, dispatcher?: Agent): Promise<{ ms: number; body: Buffer }> {
    const t0 = performance.now();
    const res = await request(url, { dispatcher });
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    return { ms: performance.now() - t0, body };
  }

  async function upload(url: string, body: Buffer, dispatcher?: Agent): Promise<number> {
    const t0 = performance.now();
    const res = await request(url, { method: 'POST', body, dispatcher, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    return performance.now() - t0;
  }

  it('a response body goes no faster than perStream, intact', async () => {
    const { ms, body } = await download(gw.url('/?kb=256', 'stream'));
    expect(sha(body)).toBe(sha(BODY));
    // 256 KiB at 128 KiB/s with a 16 KiB burst: at least ~1.9 s.
    expect(ms).toBeGreaterThan(1500);
  });

  it('an unlimited frontend is not throttled (same body, less time than the throttled floor)', async () => {
    const { ms, body } = await download(gw.url('/?kb=256', 'free'));
    expect(sha(body)).toBe(sha(BODY));
    expect(ms).toBeLessThan(1500);
  });

  it('perClient is shared by the concurrent responses of one client address', async () => {
    const a = new Agent({ localAddress: '127.0.0.2', connections: 4 });
    try {
      const t0 = performance.now();
      const both = await Promise.all([download(gw.url('/?kb=128', 'client'), a), download(gw.url('/?kb=128', 'client'), a)]);
      const ms = performance.now() - t0;
      for (const r of both) expect(sha(r.body)).toBe(sha(BODY.subarray(0, 128 * KB)));
      // 2 × 128 KiB through one 128 KiB/s budget: ~2 s (one stream alone would take ~1 s).
      expect(ms).toBeGreaterThan(1500);
    } finally {
      await a.close();
    }
  });

  it('a request body reaches the server no faster than perStream, intact', async () => {
    received.length = 0;
    const ms = await upload(gw.url('/up', 'stream'), BODY);
    expect(received).toEqual([{ bytes: BODY.length, sha: sha(BODY) }]);
    expect(ms).toBeGreaterThan(1300);
  });

  it('perClient upload budget is shared by one address', async () => {
    received.length = 0;
    const a = new Agent({ localAddress: '127.0.0.3', connections: 4 });
    try {
      const half = BODY.subarray(0, 128 * KB);
      const t0 = performance.now();
      await Promise.all([upload(gw.url('/up', 'client'), half, a), upload(gw.url('/up', 'client'), half, a)]);
      const ms = performance.now() - t0;
      expect(received.map((r) => r.sha)).toEqual([sha(half), sha(half)]);
      expect(ms).toBeGreaterThan(1300);
    } finally {
      await a.close();
    }
  });
});

describe('ThrottleStream', () => {
  it('passes empty chunks through (undici can deliver them) and ends', async () => {
    const { ThrottleStream, TokenBucket } = await import('../src/index');
    let closed = false;
    const t = new ThrottleStream([new TokenBucket(1024 * 1024)], () => (closed = true));
    const out: Buffer[] = [];
    t.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise((r) => t.once('end', r));
    t.write(Buffer.alloc(0));
    t.write(Buffer.from('abc'));
    t.write(Buffer.alloc(0));
    t.end(Buffer.from('def'));
    await ended;
    expect(Buffer.concat(out).toString()).toBe('abcdef');
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(true);
  });

  it('slices a chunk larger than the burst and paces it', async () => {
    const { ThrottleStream, TokenBucket } = await import('../src/index');
    const t = new ThrottleStream([new TokenBucket(64 * 1024)], () => {});
    const sizes: number[] = [];
    t.on('data', (c: Buffer) => sizes.push(c.length));
    const ended = new Promise((r) => t.once('end', r));
    const t0 = performance.now();
    t.end(Buffer.alloc(40 * 1024));
    await ended;
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40 * 1024);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8 * 1024);
    // 40 KiB at 64 KiB/s with an 8 KiB burst: at least ~0.45 s.
    expect(performance.now() - t0).toBeGreaterThan(400);
  });
});
