import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { runCli, type Running } from './helpers';

const SIZE = 64 * 1024 * 1024 + 12_345; // not a multiple of any buffer size
// 251 distinct 64 KB chunks (a prime count): a dropped, repeated or reordered chunk changes the digest.
const CHUNKS = Array.from({ length: 251 }, (_, i) => Buffer.alloc(64 * 1024, i));

function generate(total: number): Readable {
  let sent = 0;
  let i = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const chunk = CHUNKS[i++ % CHUNKS.length]!;
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

async function digestOf(body: AsyncIterable<Buffer>): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of body) {
    bytes += c.length;
    h.update(c);
  }
  return { bytes, sha256: h.digest('hex') };
}

/**
 * 64 MB up and 64 MB down through a gateway running as its own process: every byte arrives,
 * in order. (How much memory the gateway uses meanwhile is measured by `npm run bench`,
 * not asserted here: a memory limit in the unit suite is flaky on a busy machine.)
 */
describe('streaming large bodies', () => {
  let upstream: http.Server;
  let dir: string;
  let gw: Running;
  let port: number;
  let received: { bytes: number; sha256: string } = { bytes: 0, sha256: '' };
  let expected: { bytes: number; sha256: string };

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      if (req.method === 'POST') {
        void digestOf(req).then((d) => {
          received = d;
          res.end(String(d.bytes));
        });
        return;
      }
      res.writeHead(200, { 'content-length': SIZE, 'content-type': 'application/octet-stream' });
      generate(SIZE).pipe(res);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    expected = await digestOf(generate(SIZE));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-stream-'));
    const config = path.join(dir, 'gw.yaml');
    const upPort = (upstream.address() as { port: number }).port;
    fs.writeFileSync(config, `global: { logLevel: warn }\nfrontends:\n  web: { bind: 127.0.0.1:0, defaultBackend: app }\nbackends:\n  app: { servers: [{ address: "127.0.0.1:${upPort}" }] }\n`);
    gw = runCli(['run', '--config', config, '--log-level', 'info']);
    port = Number((await gw.waitFor(/"port":(\d+)/))[1]);
  });
  afterAll(async () => {
    await gw.stop();
    upstream.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploads 64 MB and downloads 64 MB, every byte intact and in order', async () => {
    const up = await request(`http://127.0.0.1:${port}/upload`, { method: 'POST', body: generate(SIZE), headers: { 'content-length': String(SIZE) } });
    expect(up.statusCode).toBe(200);
    expect(await up.body.text()).toBe(String(SIZE));
    expect(received).toEqual(expected);

    const down = await request(`http://127.0.0.1:${port}/download`);
    expect(down.statusCode).toBe(200);
    expect(await digestOf(down.body as AsyncIterable<Buffer>)).toEqual(expected);
  }, 120_000);
});
