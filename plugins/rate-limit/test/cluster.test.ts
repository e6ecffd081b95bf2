import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { request } from 'undici';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';

/** Real node:cluster workers (in a child process, outside jest) sharing limits through the primary. */
describe('cluster store: node:cluster workers share one limit', () => {
  let child: ChildProcess;
  let up: Upstream;
  let ports: number[];
  let stdout = '';

  beforeAll(async () => {
    up = await startUpstream();
    ports = [await freePort(), await freePort()];
    child = spawn(process.execPath, [path.join(__dirname, 'fixtures/cluster-child.js')], {
      env: { ...process.env, UPSTREAM: up.address, PORTS: JSON.stringify(ports) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cluster did not start: ${stdout}`)), 25_000);
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('"ready"')) {
          clearTimeout(timer);
          resolve();
        } else if (stdout.includes('"error"')) {
          clearTimeout(timer);
          reject(new Error(stdout));
        }
      });
      child.once('exit', (code) => reject(new Error(`cluster exited ${code}: ${stdout}`)));
    });
  }, 30_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      const t = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    await up?.close();
  });

  it('counts requests through either worker against the primary-held budget', async () => {
    const info = JSON.parse(stdout.split('\n').find((l) => l.includes('"ready"'))!) as { pids: number[] };
    expect(new Set(info.pids).size).toBe(2);
    const hit = async (port: number): Promise<number> => {
      const r = await request(`http://127.0.0.1:${port}/`);
      await r.body.text();
      return r.statusCode;
    };
    const seen = [await hit(ports[0]!), await hit(ports[1]!), await hit(ports[0]!), await hit(ports[1]!), await hit(ports[0]!), await hit(ports[1]!)];
    // 4 points per minute for 127.0.0.1 in total, not per worker.
    expect(seen).toEqual([200, 200, 200, 200, 429, 429]);
    expect(up.hits).toBe(4);
  });
});
