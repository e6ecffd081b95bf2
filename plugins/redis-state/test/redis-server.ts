import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { freePort } from '@switchyard/sdk/testing';

/** A real redis-server on 127.0.0.1 (no persistence), started and stopped by PID. */
export class RedisServer {
  #proc: ChildProcess | null = null;
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts on a free port (or the same port again after stop()). */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const proc = spawn('/usr/bin/redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.#proc = proc;
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (await this.#accepts()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis-server did not start listening within 5 s');
  }

  #accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      s.once('connect', () => {
        s.end('PING\r\n');
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
      });
      s.once('error', () => resolve(false));
    });
  }

  /** Stops the process by its PID and waits for it to exit. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = null;
    if (proc === null || proc.exitCode !== null || proc.pid === undefined) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    process.kill(proc.pid, 'SIGKILL');
    await exited;
  }
}

export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
