import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { STATS_SERVICE, type StatsService } from '@switchyard/plugin-stats';

const ROOT = path.resolve(__dirname, '../../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

describe('stats page in a real browser (chromium)', () => {
  let upstreams: Upstream[] = [];
  let gw: TestGateway;
  let context: BrowserContext;
  let userDataDir: string;
  let url: string;
  let traffic: NodeJS.Timeout | undefined;
  let healthFails = false;

  beforeAll(async () => {
    upstreams = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        startUpstream({
          name,
          handler: (req, res) => {
            req.resume();
            // Only b's health endpoint flips; ordinary requests keep working.
            const sick = req.url === '/health' && name === 'b' && healthFails;
            res.writeHead(sick ? 503 : 200, { 'content-type': 'text/plain' }).end(sick ? 'sick' : `hello from ${name}`);
          },
        }),
      ),
    );
    const slow = await startUpstream({
      name: 'slow',
      handler: (req, res) => {
        req.resume();
        setTimeout(() => res.writeHead(req.url === '/err' ? 500 : 200).end('slow'), 5 + Math.random() * 20);
      },
    });
    upstreams.push(slow);
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-health-check', '@switchyard/plugin-stats'],
      stats: { listen: '127.0.0.1:0', auth: { username: 'ops', password: 'pw' } },
      frontends: {
        web: { bind: '127.0.0.1:0', defaultBackend: 'app' },
        api: { bind: '127.0.0.1:0', defaultBackend: 'api' },
      },
      backends: {
        app: {
          healthCheck: { type: 'http', inter: '250ms', timeout: '3s', rise: 1, fall: 1, http: { path: '/health' } },
          servers: upstreams.slice(0, 3).map((u, i) => ({ name: `web${i + 1}`, address: u.address })),
        },
        api: {
          servers: [
            { name: 'api1', address: slow.address },
            { name: 'api2', address: slow.address, weight: 50 },
            { name: 'spare', address: slow.address, backup: true },
          ],
        },
      },
    });
    url = (await gw.gateway.container.resolve<StatsService>(STATS_SERVICE).ready).url;
    // A little steady traffic so the charts and counters have something to show.
    let n = 0;
    traffic = setInterval(() => {
      n++;
      for (const [fe, p] of [['web', '/'], ['api', n % 10 === 0 ? '/err' : '/']] as const) {
        request(gw.url(p, fe)).then((r) => r.body.dump(), () => undefined);
      }
    }, 40);
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      httpCredentials: { username: 'ops', password: 'pw' },
      viewport: { width: 1500, height: 900 },
    });
  }, 30_000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await context?.close();
    await gw?.stop();
    await Promise.all(upstreams.map((u) => u.close()));
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  it('shows every server UP, then DOWN live when its health endpoint flips, and saves a screenshot', async () => {
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(new URL(url).origin)) external.push(r.url());
    });
    await page.goto(url);
    const web2 = page.locator('tr[data-server="app/web2"] td.status');
    await page.locator('tr[data-server="app/web2"] td.status', { hasText: 'UP' }).waitFor({ timeout: 10_000 });
    expect(await web2.textContent()).toBe('UP');
    await page.locator('#live', { hasText: 'live' }).waitFor({ timeout: 10_000 });

    // Let a few seconds of history accumulate for the charts, then flip the server's health.
    await page.waitForTimeout(2000);
    healthFails = true;
    gw.gateway.backends.get('api')!.server('api2')!.setAdmin('drain', 'test');
    await page.locator('tr[data-server="app/web2"] td.status', { hasText: 'DOWN' }).waitFor({ timeout: 10_000 });
    const row = page.locator('tr[data-server="app/web2"]');
    expect(await row.getAttribute('class')).toContain('s-DOWN');
    // One evaluation (the table is re-rendered live, so an element handle could go stale).
    const bg = await page.evaluate(() => {
      const td = document.querySelector('tr[data-server="app/web2"] td');
      return td ? getComputedStyle(td).backgroundColor : 'missing';
    });
    expect(bg).toBe('rgb(255, 144, 144)');
    // The last check's result shows beside the status.
    expect(await row.locator('td.check').textContent()).toMatch(/503/);
    expect(await page.locator('tr[data-server="api/api2"] td.status').textContent()).toBe('DRAIN');
    // Requests keep flowing: the counter of a server that is still UP goes up without a reload.
    const total = page.locator('tr[data-server="app/web1"] td.stot');
    const before = Number(await total.textContent());
    await page.waitForFunction(
      ([sel, n]) => Number(document.querySelector(sel as string)?.textContent) > (n as number),
      ['tr[data-server="app/web1"] td.stot', before] as const,
      { timeout: 10_000 },
    );
    expect(external).toEqual([]);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'stats.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    // docs/monitoring.md shows this screenshot: SWITCHYARD_UPDATE_DOCS=1 refreshes it.
    if (process.env.SWITCHYARD_UPDATE_DOCS === '1') fs.copyFileSync(shot, path.join(ROOT, 'docs', 'img', 'stats.png')); // refresh the docs' screenshot on demand
    await page.close();
  }, 40_000);
});
