import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { startChildGateway, type ChildGateway } from './fixtures/gateway';

/**
 * A 200 MB response read slowly (≈50 MB/s) by a client whose server sends as fast as it
 * can: with backpressure through the forwarder the gateway's RSS stays flat; without it
 * the gateway would hold most of the 200 MB.
 */
const SIZE = 200 * 2 ** 20;
const READ_RATE = 50 * 2 ** 20; // bytes per second
const MB = 2 ** 20;

describe('slow readers do not grow gateway memory', () => {
  let up: Upstream;
  let gw: ChildGateway;
  const report: Record<string, unknown> = {};

  beforeAll(async () => {
    const chunk = Buffer.alloc(64 * 1024, 120);
    up = await startUpstream({
      handler: (req, res) => {
        req.resume();
        const size = req.url === '/warm' ? 16 * MB : SIZE;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        let sent = 0;
        const pump = (): void => {
          while (sent < size) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
    });
    gw = await startChildGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-bandwidth'],
      frontends: {
        plain: { bind: '127.0.0.1:0', defaultBackend: 'app' },
        // A bandwidth transform high enough not to bind: backpressure must cross the transform too.
        shaped: { bind: '127.0.0.1:0', defaultBackend: 'app', bandwidth: { download: { perStream: '1gb' } } },
      },
      backends: { app: { servers: [{ name: 'u', address: up.address }] } },
    });
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    const dir = path.resolve(__dirname, '../../test-artifacts/traffic-shaping');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'slow-reader.json'), JSON.stringify(report, null, 2) + '\n');
  });

  /** Reads the whole response at READ_RATE while sampling the gateway's RSS. */
  async function slowRead(port: number): Promise<{ bytes: number; baseMb: number; peakMb: number; seconds: number }> {
    // Warm up (JIT, pools, heap) with a 16 MB response read at full speed, so the baseline is steady.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.write('GET /warm HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      s.resume();
      s.on('error', reject);
      s.on('close', () => resolve());
    });
    const base = await gw.rss();
    let peak = base;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await gw.rss());
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const t0 = performance.now();
    const bytes = await new Promise<number>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      let got = 0;
      s.write('GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      s.on('data', (d: Buffer) => {
        got += d.length;
        const ahead = got / READ_RATE - (performance.now() - t0) / 1000;
        if (ahead > 0.005) {
          s.pause();
          setTimeout(() => s.resume(), ahead * 1000);
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve(got));
    });
    const seconds = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    return { bytes, baseMb: base / MB, peakMb: peak / MB, seconds };
  }

  it.each(['plain', 'shaped'])('%s: a 200 MB response read at 50 MB/s keeps RSS growth well under the body size', async (name) => {
    const port = gw.ports[name]!;
    const r = await slowRead(port);
    report[name] = { ...r, growthMb: r.peakMb - r.baseMb };
    // eslint-disable-next-line no-console
    console.log(`slow reader (${name})`, JSON.stringify(report[name]));
    expect(r.bytes).toBeGreaterThan(SIZE);
    // Without backpressure the gateway would hold most of the 200 MB; allocation churn (GC lag) stays far below.
    expect(r.peakMb - r.baseMb).toBeLessThan(100);
  }, 30_000);

});
