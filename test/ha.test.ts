import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'undici';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { runCli, type Running } from './helpers';

interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
}

/** Keep-alive clients sending GETs back to back until stopped (bounded by `maxMs`). */
function loadLoop(url: string, clients: number, maxMs: number): { stop: () => Promise<LoadResult> } {
  const result: LoadResult = { ok: 0, failed: 0, errors: [] };
  let running = true;
  const deadline = Date.now() + maxMs;
  const pools: Pool[] = [];
  const loops = Array.from({ length: clients }, async () => {
    const pool = new Pool(url, { connections: 1, pipelining: 1 });
    pools.push(pool);
    while (running && Date.now() < deadline) {
      try {
        const res = await pool.request({ path: '/load', method: 'GET' });
        await res.body.text();
        if (res.statusCode === 200) result.ok++;
        else {
          result.failed++;
          result.errors.push(`status ${res.statusCode}`);
        }
      } catch (err) {
        result.failed++;
        result.errors.push((err as { code?: string }).code ?? (err as Error).message);
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await Promise.all(pools.map((p) => p.close()));
      return result;
    },
  };
}

describe('master and workers (run --workers)', () => {
  let up: Upstream;
  let dir: string;
  let config: string;
  let port: number;
  let master: Running;
  const writeConfig = (extra = ''): void => {
    fs.writeFileSync(config, [
      `# ${extra}`,
      'global: { pidFile: gw.pid, gracePeriod: 5s, logLevel: info }',
      'frontends:',
      `  web: { bind: "127.0.0.1:${port}", defaultBackend: app, timeouts: { keepAlive: 1s } }`,
      'backends:',
      `  app: { servers: [{ name: s1, address: "${up.address}" }] }`,
    ].join('\n'));
  };

  beforeAll(async () => {
    up = await startUpstream({ name: 'app' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-ha-'));
    config = path.join(dir, 'gw.yaml');
    port = await freePort();
    writeConfig('generation 1');
    master = runCli(['run', '--config', config, '--workers', '2']);
    await master.waitFor(/2 workers serving/, 60_000);
  }, 90_000);
  afterAll(async () => {
    await master.stop();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('10 reloads under steady load: zero failed requests, zero resets', async () => {
    const load = loadLoop(`http://127.0.0.1:${port}`, 4, 280_000);
    for (let i = 2; i <= 11; i++) {
      writeConfig(`generation ${i}`);
      master.child.kill('SIGHUP');
      await master.waitFor(new RegExp(`reload done: generation ${i} serving`), 60_000);
    }
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    expect(result.errors.slice(0, 5)).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
  }, 300_000);

  it('a reload with a broken config changes nothing', async () => {
    fs.writeFileSync(config, 'frontends:\n  web: { bind: nonsense }\n');
    execFileSync(process.execPath, [path.join(__dirname, '..', 'core', 'bin', 'switchyard.js'), 'reload', '--pid', String(master.child.pid)]);
    await master.waitFor(/reload refused: .*frontends\.web\.bind/, 30_000);
    const pool = new Pool(`http://127.0.0.1:${port}`);
    const res = await pool.request({ path: '/still', method: 'GET' });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    await pool.close();
    writeConfig('restored');
  }, 60_000);

  it('a killed worker is replaced while the other keeps serving', async () => {
    const children = execFileSync('pgrep', ['-P', String(master.child.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(children.length).toBe(2);
    process.kill(children[0]!, 'SIGKILL');
    const pool = new Pool(`http://127.0.0.1:${port}`);
    for (let i = 0; i < 10; i++) {
      const res = await pool.request({ path: '/during', method: 'GET' });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    await pool.close();
    await master.waitFor(/replacement worker \d+ serving/, 60_000);
    const after = execFileSync('pgrep', ['-P', String(master.child.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(after.length).toBe(2);
    expect(after).not.toContain(children[0]);
  }, 90_000);

  it('SIGTERM stops the workers and the master exits 0, removing its PID file', async () => {
    expect(fs.existsSync(path.join(dir, 'gw.pid'))).toBe(true);
    expect(await master.stop('SIGTERM')).toBe(0);
    expect(fs.existsSync(path.join(dir, 'gw.pid'))).toBe(false);
  }, 30_000);
});
