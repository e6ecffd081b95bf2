import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'core/bin/switchyard.js');

async function until<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

// A real process and a real signal: `switchyard run` (built dist), as logrotate's postrotate would do it.
describe('access log file reopening on SIGUSR2 (switchyard run in a child process)', () => {
  let up: Upstream;
  let child: ChildProcess | undefined;
  let dir: string;
  let stderr = '';

  beforeAll(async () => {
    up = await startUpstream({ name: 'app' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-reopen-'));
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps writing to the old file until SIGUSR2, then to a new file at the same path', async () => {
    const port = await freePort();
    const file = path.join(dir, 'access.log');
    const config = path.join(dir, 'switchyard.yaml');
    fs.writeFileSync(
      config,
      [
        'plugins: ["@switchyard/preset-standard", "@switchyard/plugin-access-log"]',
        'global: { logLevel: warn }',
        `accessLog: { output: file, file: ${JSON.stringify(file)}, format: custom, template: "%HP %ST" }`,
        `frontends: { web: { bind: "127.0.0.1:${port}", defaultBackend: app } }`,
        `backends: { app: { servers: [ { name: a1, address: "${up.address}" } ] } }`,
        '',
      ].join('\n'),
    );
    child = spawn(process.execPath, [CLI, 'run', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const get = async (p: string): Promise<number | undefined> => {
      try {
        const r = await request(`http://127.0.0.1:${port}${p}`);
        await r.body.text();
        return r.statusCode;
      } catch {
        return undefined;
      }
    };
    await until(() => get('/ready'), `the gateway to listen (stderr: ${stderr})`, 15_000);
    await get('/before');
    await until(() => lines(file).includes('/before 200'), 'the first line');
    fs.renameSync(file, `${file}.1`);
    await get('/moved');
    await until(() => lines(`${file}.1`).includes('/moved 200'), 'a line in the moved file before the signal');
    child.kill('SIGUSR2');
    await until(() => fs.existsSync(file), 'the reopened file');
    await get('/after');
    await until(() => lines(file).includes('/after 200'), 'a line in the new file');
    expect(lines(`${file}.1`)).toEqual(['/ready 200', '/before 200', '/moved 200']);
    expect(lines(file)).toEqual(['/after 200']);
    expect(child.exitCode).toBeNull();
  }, 30_000);
});
