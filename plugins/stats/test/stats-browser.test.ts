import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { STATS_SERVICE, type StatsService } from '@switchyard/plugin-stats';
import { HEALTH_CONTROL } from '@switchyard/plugin-health-check/contract';

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
      stats: { listen: '127.0.0.1:0', auth: { username: 'ops', password: 'pw' }, admin: true },
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

  it('serves every frontend, backend and server with its state in the first HTML (no JavaScript)', async () => {
    const noJs = await context.browser()?.newContext({ javaScriptEnabled: false, httpCredentials: { username: 'ops', password: 'pw' } });
    // A persistent context has no browser object: open a page and turn scripts off through CDP instead.
    const page = noJs ? await noJs.newPage() : await context.newPage();
    if (!noJs) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    }
    await page.goto(url);
    for (const fe of ['web', 'api']) expect(await page.locator(`table[data-frontend="${fe}"] td.status`).textContent()).toBe('OPEN');
    for (const id of ['app/web1', 'app/web3', 'api/api1', 'api/spare']) {
      expect(await page.locator(`tr[data-server="${id}"] td.status`).textContent()).toMatch(/^(UP|DOWN|DRAIN|MAINT)$/);
    }
    expect(await page.locator('tr[data-server="api/spare"] td.name').textContent()).toBe('spare (backup)');
    // Nothing ran: the live badge still says what the server wrote.
    expect(await page.locator('#live').textContent()).toBe('static');
    await page.close();
    await noJs?.close();
  });

  it('sorts a table by a column heading, and keeps the order through live updates', async () => {
    const page = await context.newPage();
    await page.goto(url);
    await page.locator('#live', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    const order = (): Promise<string[]> => page.$$eval('table[data-backend="api"] tr.server', (rows) => rows.map((r) => r.getAttribute('data-server') ?? ''));
    const weightHeading = page.locator('table[data-backend="api"] th[data-col="4"]');
    await weightHeading.click();
    // Weights: api1 1, api2 50, spare 1 — ascending puts api2 last; names break no ties here.
    expect((await order())[2]).toBe('api/api2');
    await weightHeading.click();
    expect((await order())[0]).toBe('api/api2');
    // Two more updates arrive (one a second): still sorted the chosen way.
    const updated = await page.locator('#updated').textContent();
    await page.waitForFunction((u) => document.getElementById('updated')?.textContent !== u, updated, { timeout: 10_000 });
    expect((await order())[0]).toBe('api/api2');
    expect(await page.locator('table[data-backend="api"] th[data-col="4"]').getAttribute('class')).toContain('sorted-desc');
    await page.close();
  });

  it('an admin action on the page changes the server state through the core (and the page shows it)', async () => {
    const page = await context.newPage();
    await page.goto(url);
    const api1 = gw.gateway.backends.get('api')!.server('api1')!;
    expect(api1.admin).toBe('ready');
    const form = page.locator('tr[data-server="api/api1"] form.adm');
    await form.locator('select[name="action"]').selectOption('maint');
    await Promise.all([page.waitForURL(/result=/), form.locator('button').click()]);
    expect(api1.admin).toBe('maint');
    expect(await page.locator('.notice').textContent()).toBe('api/api1: maint');
    expect(await page.locator('tr[data-server="api/api1"] td.status').textContent()).toBe('MAINT');
    // Weight through the same form.
    const again = page.locator('tr[data-server="api/api1"] form.adm');
    await again.locator('select[name="action"]').selectOption('weight');
    await again.locator('input[name="weight"]').fill('7');
    await Promise.all([page.waitForURL(/weight%207/), again.locator('button').click()]);
    expect(api1.weight).toBe(7);
    api1.setAdmin('ready', 'test');
    api1.setWeight(1, 'test');
    // A post without the page's token (another site's form) is refused.
    const forged = await request(url + ';admin', {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from('ops:pw').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'server=api%2Fapi1&action=maint&token=guess',
    });
    expect(forged.statusCode).toBe(403);
    await forged.body.dump();
    expect(api1.admin).toBe('ready');
    await page.close();
  });

  it('fits 1280 px with a long check result, and the chart axes have round ticks', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    gw.gateway.backends.get('api')!.server('api2')!.data.set(HEALTH_CONTROL.id, {
      last: { ok: false, reason: 'Layer7 wrong status', code: 503, info: 'a very long explanation from the server '.repeat(8), at: Date.now(), duration: 12 },
    });
    await page.goto(url);
    await page.locator('#live', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => (document.querySelector('tr[data-server="api/api2"] td.check')?.textContent ?? '').includes('long explanation'), undefined, { timeout: 10_000 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(1280);
    await page.waitForFunction(() => document.getElementById('chart-rate')?.getAttribute('data-ticks'), undefined, { timeout: 10_000 });
    const ticks = await page.evaluate(() => ['chart-rate', 'chart-p99', 'chart-p50'].map((id) => document.getElementById(id)!.getAttribute('data-ticks')!.split(',').map(Number)));
    const round = (t: number[]): boolean => {
      const step = t[1]! - t[0]!;
      const mag = Math.pow(10, Math.floor(Math.log10(step)));
      const f = Math.round((step / mag) * 1e9) / 1e9;
      return t[0] === 0 && [1, 2, 5].includes(f) && t.every((x, i) => Math.abs(x - i * step) < step * 1e-9);
    };
    for (const t of ticks) expect({ t, round: round(t) }).toEqual({ t, round: true });
    // The same function on awkward maxima (what unrounded axes used to show: 0.9167, 1.8333…).
    const samples = await page.evaluate(() => [0.3667, 7.3, 11, 1234.5, 0].map((m) => (window as unknown as { __stats: { niceTicks(m: number, n: number): number[] } }).__stats.niceTicks(m, 4)));
    for (const t of samples) expect({ t, round: round(t) }).toEqual({ t, round: true });
    expect(samples[1]).toEqual([0, 2, 4, 6, 8]);
    gw.gateway.backends.get('api')!.server('api2')!.data.delete(HEALTH_CONTROL.id);
    await page.close();
  });
});
