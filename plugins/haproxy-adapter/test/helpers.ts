import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { DEFAULT_PLUGINS, ServiceRegistry, loadPlugins } from '@switchyard/core';
import type { AdaptResult, Logger, SlotRegistry } from '@switchyard/sdk';
import { adaptHaproxy } from '../src/adapt';

export const CORPUS = path.join(__dirname, 'corpus');

/** A corpus file with its ports (and other placeholders) replaced, written to `dir`. */
export function corpusFile(name: string, dir: string, replace: Record<string, string | number>): { file: string; text: string } {
  let text = fs.readFileSync(path.join(CORPUS, name), 'utf8');
  for (const [from, to] of Object.entries(replace)) {
    const re = /^\d+$/.test(from) ? new RegExp(`:${from}\\b`, 'g') : new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
    text = text.replace(re, /^\d+$/.test(from) ? `:${to}` : String(to));
  }
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return { file, text };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `swy-haproxy-${prefix}-`));
}

/** A self-signed certificate for localhost as HAProxy wants it: one PEM with chain and key. */
export function makeCert(dir: string): { pem: string; cert: string } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const pem = path.join(dir, 'site.pem');
  fs.writeFileSync(pem, fs.readFileSync(cert, 'utf8') + fs.readFileSync(key, 'utf8'));
  return { pem, cert };
}

/** A TCP server that writes its name to every connection, then echoes. */
export interface TcpUpstream {
  name: string;
  port: number;
  address: string;
  connections: number;
  close(): Promise<void>;
}

export async function startTcpUpstream(name: string): Promise<TcpUpstream> {
  const sockets = new Set<net.Socket>();
  const up: TcpUpstream = {
    name,
    port: 0,
    address: '',
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((s) => {
    up.connections++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  up.port = (server.address() as net.AddressInfo).port;
  up.address = `127.0.0.1:${up.port}`;
  return up;
}

/** Connects, reads the first line the server sends (its name), closes. */
export function tcpHello(port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no greeting'));
    }, timeoutMs);
    s.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        s.end();
        resolve(buf.slice(0, i));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new Error('closed without greeting'));
    });
  });
}

/** Polls until `fn` is true, at most `ms`. */
export async function waitFor(fn: () => boolean | Promise<boolean>, ms: number, step = 100): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return fn();
}

/** Connects and reads the greeting, keeping the connection open (for leastconn). */
export function tcpOpen(port: number, timeoutMs = 5000): Promise<{ name: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no greeting'));
    }, timeoutMs);
    s.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        s.removeAllListeners('data');
        resolve({ name: buf.slice(0, i), socket: s });
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * A slot registry holding what the standard preset's plugins register — their
 * `haproxy.directive`s among them — as the core gives it to the adapter at load time.
 */
export function standardSlots(): SlotRegistry {
  const entries = new Map<string, unknown>();
  const slots: SlotRegistry = {
    provide(slot, name, impl) {
      entries.set(`${slot}\u0000${name}`, impl);
    },
    get: <T>(slot: string, name: string) => entries.get(`${slot}\u0000${name}`) as T | undefined,
    names: (slot) => [...entries.keys()].filter((k) => k.startsWith(`${slot}\u0000`)).map((k) => k.slice(slot.length + 1)),
  };
  const services = new ServiceRegistry();
  const logger = pino({ level: 'silent' }) as unknown as Logger;
  for (const p of loadPlugins(DEFAULT_PLUGINS, path.resolve(__dirname, '../../..'))) p.definition.register?.({ services, container: services.legacy(), slots, logger });
  return slots;
}

let cachedSlots: SlotRegistry | undefined;

/** adaptHaproxy with the directives of the standard plugins, as `switchyard run` reads a .cfg. */
export function adapt(text: string, file: string, options: { lenient: boolean; env?: Record<string, string | undefined> }): AdaptResult {
  cachedSlots ??= standardSlots();
  return adaptHaproxy(text, file, { ...options, slots: cachedSlots });
}
