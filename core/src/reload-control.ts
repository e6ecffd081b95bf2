import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Logger, ReloadResult } from '@switchyard/sdk';

/**
 * The control channel of a running `switchyard run` (master or single process): a unix socket
 * named after the process's PID, mode 0600, that answers `reload` with the outcome as one JSON
 * line once it is known. `switchyard reload --wait` uses it; a plain `switchyard reload` only
 * sends SIGHUP, which does the same reload without an answer.
 */

export function controlSocketPath(pid: number): string {
  return path.join(os.tmpdir(), `switchyard-${pid}.sock`);
}

export interface ControlChannel {
  readonly path: string;
  close(): void;
}

export async function serveControl(reload: () => Promise<ReloadResult>, logger: Logger): Promise<ControlChannel> {
  const file = controlSocketPath(process.pid);
  // A socket file left by a process that had this PID before is stale.
  fs.rmSync(file, { force: true });
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    const lines = readline.createInterface({ input: socket, crlfDelay: Infinity });
    lines.once('line', (line) => {
      lines.close();
      const command = line.trim();
      if (command !== 'reload') {
        socket.end(JSON.stringify({ ok: false, message: `unknown control command "${command}" (known: reload)`, errors: [] }) + '\n');
        return;
      }
      reload().then(
        (result) => socket.end(JSON.stringify(result) + '\n'),
        (err: unknown) => socket.end(JSON.stringify({ ok: false, message: `reload failed: ${(err as Error).message}`, errors: [] }) + '\n'),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'control socket error'));
  fs.chmodSync(file, 0o600);
  server.unref();
  return {
    path: file,
    close: () => {
      server.close();
      fs.rmSync(file, { force: true });
    },
  };
}

/** Asks the process `pid` to reload and resolves with the outcome. */
export function requestReload(pid: number, timeoutMs: number): Promise<ReloadResult> {
  const file = controlSocketPath(pid);
  return new Promise<ReloadResult>((resolve, reject) => {
    const socket = net.connect(file);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${pid} within ${timeoutMs} ms`));
    }, timeoutMs);
    let answered = false;
    socket.once('connect', () => socket.write('reload\n'));
    socket.once('error', (err: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(new Error(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `no control socket ${file} (is switchyard ${pid} running?)` : `${file}: ${err.message}`));
    });
    const lines = readline.createInterface({ input: socket, crlfDelay: Infinity });
    // readline re-emits the socket's errors (ENOENT: no such process); the socket's handler above answers them.
    lines.on('error', () => undefined);
    lines.once('line', (line) => {
      answered = true;
      clearTimeout(timer);
      lines.close();
      socket.end();
      try {
        resolve(JSON.parse(line) as ReloadResult);
      } catch {
        reject(new Error(`unreadable answer from ${pid}: ${line}`));
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (!answered) reject(new Error(`${pid} closed the control socket without an answer`));
    });
  });
}
