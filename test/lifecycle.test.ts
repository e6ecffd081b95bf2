import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { runCli, until } from './helpers';

const exec = promisify(execFile);

describe('the quick start (npm start = switchyard run --demo)', () => {
  it('serves demo upstreams round-robin; two curls show two upstreams', async () => {
    const demo = runCli(['run', '--demo', '--port', '0']);
    try {
      const port = (await demo.waitFor(/curl -si http:\/\/127\.0\.0\.1:(\d+)\//))[1];
      const served: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { stdout } = await exec('curl', ['-si', `http://127.0.0.1:${port}/`]);
        expect(stdout).toMatch(/^HTTP\/1\.1 200 OK/);
        served.push(/x-served-by: (\w+)/i.exec(stdout)![1]!);
      }
      expect(new Set(served).size).toBe(2);
    } finally {
      expect(await demo.stop('SIGINT')).toBe(0);
    }
  });
});

describe('graceful stop', () => {
  let slow: Upstream;
  let dir: string;
  beforeAll(async () => {
    slow = await startUpstream({
      name: 'slow',
      handler: (req, res) => {
        req.resume();
        setTimeout(() => res.end('finished\n'), 1500);
      },
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-stop-'));
  });
  afterAll(async () => {
    await slow.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM stops accepting, lets in-flight requests finish, then exits 0', async () => {
    const config = path.join(dir, 'gw.yaml');
    fs.writeFileSync(config, `global: { gracePeriod: 10s }\nfrontends:\n  web: { bind: 127.0.0.1:0, defaultBackend: app }\nbackends:\n  app: { servers: [{ address: "${slow.address}" }] }\n`);
    const gw = runCli(['run', '--config', config]);
    const port = Number((await gw.waitFor(/"port":(\d+)/))[1]);
    const hits = slow.hits;
    const inFlight = request(`http://127.0.0.1:${port}/long`);
    await until('the request to reach the upstream', () => slow.hits > hits);
    gw.child.kill('SIGTERM');
    await gw.waitFor(/stopping gracefully/);
    // New connections are refused once the listener is closed (the log line can reach us
    // before the child has run the close: wait for the refusal, with a deadline).
    const refused = (): Promise<boolean> =>
      new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.on('error', () => resolve(true));
      });
    await until('the listener to close', refused, 5_000);
    const res = await inFlight;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('finished\n');
    expect(await gw.exit).toBe(0);
  });

  it('cuts what is still running when the grace period ends', async () => {
    const config = path.join(dir, 'short.yaml');
    fs.writeFileSync(config, `global: { gracePeriod: 200ms }\nfrontends:\n  web: { bind: 127.0.0.1:0, defaultBackend: app }\nbackends:\n  app: { servers: [{ address: "${slow.address}" }] }\n`);
    const gw = runCli(['run', '--config', config]);
    const port = Number((await gw.waitFor(/"port":(\d+)/))[1]);
    const inFlight = request(`http://127.0.0.1:${port}/long`).then(
      (r) => r.body.text().then(() => 'completed'),
      () => 'cut',
    );
    await until('the request to reach the upstream', () => slow.requests.some((r) => r.url === '/long' && r.headers.host === `127.0.0.1:${port}`));
    const started = Date.now();
    gw.child.kill('SIGTERM');
    expect(await gw.exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(1400);
    expect(await inFlight).toBe('cut');
  });
});
