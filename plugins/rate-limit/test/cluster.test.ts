import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { request } from 'undici';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';

/** Real node:cluster workers (in a child process, outside jest) sharing limits through the primary. */
function clusterSuite(withMaster: boolean): void {
  describe(withMaster ? 'cluster store: node:cluster workers share one limit' : 'cluster store without a master in the primary', () => {
    let child: ChildProcess;
    let up: Upstream;
    let ports: number[];
    let stdout = '';

    beforeAll(async () => {
      up = await startUpstream();
      ports = [await freePort(), await freePort()];
      child = spawn(process.execPath, [path.join(__dirname, 'fixtures/cluster-child.js')], {
        env: { ...process.env, UPSTREAM: up.address, PORTS: JSON.stringify(ports), ...(withMaster ? {} : { NO_MASTER: '1' }) },
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

    const hit = async (port: number): Promise<number> => {
      const r = await request(`http://127.0.0.1:${port}/`);
      await r.body.text();
      return r.statusCode;
    };
    const info = (): { pids: number[]; warned: number } => JSON.parse(stdout.split('\n').find((l) => l.includes('"ready"'))!) as { pids: number[]; warned: number };

    if (withMaster) {
      it('counts requests through either worker against the primary-held budget', async () => {
        expect(new Set(info().pids).size).toBe(2);
        expect(info().warned).toBe(0);
        const seen = [await hit(ports[0]!), await hit(ports[1]!), await hit(ports[0]!), await hit(ports[1]!), await hit(ports[0]!), await hit(ports[1]!)];
        // 4 points per minute for 127.0.0.1 in total, not per worker.
        expect(seen).toEqual([200, 200, 200, 200, 429, 429]);
        expect(up.hits).toBe(4);
      });
    } else {
      it('falls back to per-worker counting, says so, and does not slow requests down', async () => {
        expect(info().warned).toBe(2);
        const seen = [await hit(ports[0]!), await hit(ports[1]!), await hit(ports[0]!), await hit(ports[1]!), await hit(ports[0]!), await hit(ports[1]!)];
        // 4 points per worker: 3 requests each all pass.
        expect(seen).toEqual([200, 200, 200, 200, 200, 200]);
      });
    }
  });
}

clusterSuite(true);
clusterSuite(false);
