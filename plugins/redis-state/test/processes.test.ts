import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { RedisServer, until } from './redis-server';

/**
 * Two gateway processes (the built CLI, `switchyard run`) share one redis-server: one stick
 * table and one rate limit enforced together; Redis killed → both still serve and say so.
 */
const CLI = path.resolve(__dirname, '..', '..', '..', 'core', 'bin', 'switchyard.js');

interface Gateway {
  child: ChildProcess;
  out: () => string;
  port: number;
}

const redis = new RedisServer();
const dir = mkdtempSync(path.join(tmpdir(), 'swy-redis-state-'));
let s1: Upstream;
let s2: Upstream;
const gateways: Gateway[] = [];

async function startGateway(name: string): Promise<Gateway> {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stickiness', '@switchyard/plugin-rate-limit', '@switchyard/plugin-redis-state'],
    redis: { url: redis.url, keyPrefix: 'proc', retryMin: '50ms', retryMax: '300ms' },
    rateLimit: { store: 'redis', redis: { url: redis.url, keyPrefix: 'proc' } },
    frontends: {
      web: {
        bind: '127.0.0.1:0',
        defaultBackend: 'app',
        rateLimits: [{ name: 'per-client', key: 'hdr(x-client)', points: 5, duration: '1m' }],
      },
    },
    backends: {
      app: {
        balance: 'roundrobin',
        stickTable: { key: 'src', expire: '1m', store: 'redis' },
        servers: [{ name: 's1', address: s1.address }, { name: 's2', address: s2.address }],
      },
    },
  }));
  const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const gw: Gateway = { child, out: () => text, port: 0 };
  gateways.push(gw);
  await until(`${name} listening`, () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${text}`);
    const m = /frontend web listening on 127\.0\.0\.1:(\d+)/.exec(text);
    if (m) gw.port = Number(m[1]);
    return m !== null;
  }, 15_000);
  return gw;
}

async function get(gw: Gateway, p: string, client = 'pin'): Promise<{ status: number; upstream: string }> {
  const res = await request(`http://127.0.0.1:${gw.port}${p}`, { headers: { 'x-client': client } });
  await res.body.text();
  return { status: res.statusCode, upstream: String(res.headers['x-upstream'] ?? '') };
}

let p1: Gateway;
let p2: Gateway;

beforeAll(async () => {
  await redis.start();
  s1 = await startUpstream({ name: 's1' });
  s2 = await startUpstream({ name: 's2' });
  [p1, p2] = await Promise.all([startGateway('p1'), startGateway('p2')]);
}, 30_000);

afterAll(async () => {
  for (const g of gateways) {
    if (g.child.exitCode === null && g.child.pid !== undefined) {
      const exited = new Promise((r) => g.child.once('exit', r));
      process.kill(g.child.pid, 'SIGKILL');
      await exited;
    }
  }
  await s1?.close();
  await s2?.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('redis-state: two gateway processes, one redis', () => {
  it('enforce one stick table together', async () => {
    const first = await get(p1, '/a', 'stick-1');
    expect(first.status).toBe(200);
    // The entry is written after the server is chosen: wait until it is in Redis.
    const { Redis } = await import('ioredis');
    const cli = new Redis(redis.url);
    try {
      await until('the stick entry to reach Redis', async () => (await cli.keys('proc:stick:*:e:*')).length > 0);
    } finally {
      cli.disconnect();
    }
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(i % 2 === 0 ? p2 : p1, `/b${i}`, `stick-${i + 2}`)).upstream);
    expect([...seen]).toEqual([first.upstream]);
  });

  it('enforce one rate limit together (5 per minute per client across both)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(i % 2 === 0 ? p1 : p2, '/limited', 'limited-client')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
  });

  it('Redis killed: both processes still serve and log it', async () => {
    await redis.stop();
    await until('both log the loss', () => [p1, p2].every((g) => g.out().includes('redis unreachable: serving on local state')));
    for (let i = 0; i < 4; i++) {
      expect((await get(p1, `/down${i}`, `down-${i}`)).status).toBe(200);
      expect((await get(p2, `/down${i}`, `down-${i}`)).status).toBe(200);
    }
  });
});
