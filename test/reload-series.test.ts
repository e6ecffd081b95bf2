/**
 * Reloads that change what the gateway does, under steady load, in a single process and in
 * master mode: each of 10 reloads changes something a client can see (a server added, one
 * removed, a weight, an ACL route, a certificate, a frontend added and removed), each change
 * is checked on new connections right after `switchyard reload --wait` returns, no request
 * of the load fails or is reset, and a broken config in the middle of the series is refused
 * with its file:line while the previous generation keeps serving.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'undici';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { cli, runCli, type Running } from './helpers';

interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
}

/** Keep-alive clients sending GETs back to back until stopped (bounded by `maxMs`). */
function loadLoop(url: string, clients: number, maxMs: number, tls = false): { stop: () => Promise<LoadResult> } {
  const result: LoadResult = { ok: 0, failed: 0, errors: [] };
  let running = true;
  const deadline = Date.now() + maxMs;
  const pools: Pool[] = [];
  const loops = Array.from({ length: clients }, async () => {
    const pool = new Pool(url, { connections: 1, pipelining: 1, ...(tls ? { connect: { rejectUnauthorized: false } } : {}) });
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

/** One request on a new connection: which upstream answered. */
function fresh(port: number, p = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(String(res.headers['x-upstream'])) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

/** A new TLS connection: the certificate's CN and the upstream that answered. */
function freshTls(port: number): Promise<{ cn: string; upstream: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', agent: false, rejectUnauthorized: false, servername: 'localhost' }, (res) => {
      const cn = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN);
      res.resume();
      res.on('end', () => resolve({ cn, upstream: String(res.headers['x-upstream']) }));
    });
    req.on('error', reject);
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

/** Upstreams seen on `n` new connections. */
async function seen(port: number, n: number, p = '/'): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(await fresh(port, p));
  return out;
}

/** New connections until every one of `want` has answered (at most `max`). */
async function reaches(port: number, want: string[], max = 60): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < max && !want.every((w) => out.has(w)); i++) out.add(await fresh(port));
  return out;
}

interface Generation {
  app: Array<{ name: string; weight?: number }>;
  /** Backend server for `/api` (an ACL route), if any. */
  api?: string;
  cert: 'a' | 'b';
  extra: boolean;
  broken?: boolean;
}

describe.each([
  ['a single process', [] as string[]],
  ['master mode (--workers 2)', ['--workers', '2']],
])('10 reloads under load, %s', (_mode, extraArgs) => {
  const ups = new Map<string, Upstream>();
  let dir: string;
  let config: string;
  let ports: { web: number; secure: number; extra: number };
  let gw: Running;
  let pid: number;

  const write = (g: Generation): void => {
    const servers = (list: Array<{ name: string; weight?: number }>): string =>
      `[${list.map((s) => `{ name: ${s.name}, address: "${ups.get(s.name)!.address}"${s.weight !== undefined ? `, weight: ${s.weight}` : ''} }`).join(', ')}]`;
    fs.writeFileSync(config, [
      'global: { pidFile: gw.pid, gracePeriod: 5s, logLevel: info }',
      'frontends:',
      '  web:',
      `    bind: "127.0.0.1:${ports.web}"`,
      '    timeouts: { keepAlive: 1s }',
      ...(g.api ? ['    useBackend:', "      - { backend: api, if: '{ path_beg /api }' }"] : []),
      `    defaultBackend: ${g.broken ? 'no-such-backend' : 'app'}`,
      '  secure:',
      `    bind: [{ host: 127.0.0.1, port: ${ports.secure}, tls: { cert: ${g.cert}.pem, key: ${g.cert}.key } }]`,
      '    timeouts: { keepAlive: 1s }',
      '    defaultBackend: app',
      ...(g.extra ? ['  extra:', `    bind: "127.0.0.1:${ports.extra}"`, '    defaultBackend: app'] : []),
      'backends:',
      `  app: { servers: ${servers(g.app)} }`,
      ...(g.api ? [`  api: { servers: ${servers([{ name: g.api }])} }`] : []),
    ].join('\n') + '\n');
  };

  /** `switchyard reload --wait`: its exit code and what it printed. */
  const reload = async (g: Generation): Promise<{ code: number | null; output: string }> => {
    write(g);
    return cli(['reload', '--config', config, '--wait']);
  };

  beforeAll(async () => {
    for (const n of ['s1', 's2', 's3']) ups.set(n, await startUpstream({ name: n }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-reload-series-'));
    for (const c of ['a', 'b']) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${c}.key`, '-out', `${c}.pem`, '-days', '2', '-subj', `/CN=cert-${c}`, '-addext', 'subjectAltName=DNS:localhost'], { cwd: dir, stdio: 'ignore' });
    }
    config = path.join(dir, 'gw.yaml');
    ports = { web: await freePort(), secure: await freePort(), extra: await freePort() };
    write({ app: [{ name: 's1' }], cert: 'a', extra: false });
    gw = runCli(['run', '--config', config, ...extraArgs]);
    await gw.waitFor(/serving/, 60_000);
    pid = Number(fs.readFileSync(path.join(dir, 'gw.pid'), 'utf8'));
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    for (const u of ups.values()) await u.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every change takes effect, nothing fails, a broken config is refused and changes nothing', async () => {
    expect(pid).toBe(gw.child.pid);
    expect(await seen(ports.web, 4)).toEqual(new Set(['s1']));
    expect((await freshTls(ports.secure)).cn).toBe('cert-a');
    const web = loadLoop(`http://127.0.0.1:${ports.web}`, 3, 440_000);
    const secure = loadLoop(`https://127.0.0.1:${ports.secure}`, 2, 440_000, true);
    try {
      await series();
    } finally {
      results = [await web.stop(), await secure.stop()];
    }
    const [w, s] = results;
    console.log(`${_mode}: ${w.ok} HTTP + ${s.ok} HTTPS requests ok, ${w.failed + s.failed} failed, over 11 reloads`);
    expect(w.errors.slice(0, 5)).toEqual([]);
    expect(s.errors.slice(0, 5)).toEqual([]);
    expect(w.failed + s.failed).toBe(0);
    expect(w.ok).toBeGreaterThan(100);
    expect(s.ok).toBeGreaterThan(20);
  }, 480_000);

  let results: LoadResult[] = [];

  const ok = async (g: Generation, generation: number): Promise<void> => {
      const r = await reload(g);
      expect(r.output).toContain(`generation ${generation} serving`);
      expect(r.code).toBe(0);
    };

  async function series(): Promise<void> {
    // 1. a server added
    await ok({ app: [{ name: 's1' }, { name: 's2' }], cert: 'a', extra: false }, 2);
    expect(await reaches(ports.web, ['s1', 's2'])).toEqual(new Set(['s1', 's2']));
    // 2. a server removed
    await ok({ app: [{ name: 's2' }], cert: 'a', extra: false }, 3);
    expect(await seen(ports.web, 8)).toEqual(new Set(['s2']));
    // 3. another added
    await ok({ app: [{ name: 's2' }, { name: 's3' }], cert: 'a', extra: false }, 4);
    expect(await reaches(ports.web, ['s2', 's3'])).toEqual(new Set(['s2', 's3']));
    // 4. a weight: s2 at 0 takes nothing
    await ok({ app: [{ name: 's2', weight: 0 }, { name: 's3' }], cert: 'a', extra: false }, 5);
    expect(await seen(ports.web, 8)).toEqual(new Set(['s3']));
    // 5. an ACL route: /api goes to backend api (s1)
    await ok({ app: [{ name: 's2', weight: 0 }, { name: 's3' }], api: 's1', cert: 'a', extra: false }, 6);
    expect(await seen(ports.web, 4, '/api/x')).toEqual(new Set(['s1']));
    expect(await seen(ports.web, 4, '/other')).toEqual(new Set(['s3']));
    // 6. a certificate
    await ok({ app: [{ name: 's2', weight: 0 }, { name: 's3' }], api: 's1', cert: 'b', extra: false }, 7);
    expect(await freshTls(ports.secure)).toEqual({ cn: 'cert-b', upstream: 's3' });

    // A broken config: refused with its place, and generation 7 keeps serving as it did.
    const broken = await reload({ app: [{ name: 's3' }], api: 's2', cert: 'a', extra: true, broken: true });
    expect(broken.code).toBe(1);
    expect(broken.output).toMatch(new RegExp(`${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: .*no-such-backend`));
    await gw.waitFor(/reload (refused|failed).*no-such-backend/);
    expect(await seen(ports.web, 4, '/api/x')).toEqual(new Set(['s1']));
    expect(await seen(ports.web, 4)).toEqual(new Set(['s3']));
    expect((await freshTls(ports.secure)).cn).toBe('cert-b');
    expect(await refused(ports.extra)).toBe(true);

    // 7. a new frontend
    await ok({ app: [{ name: 's2', weight: 0 }, { name: 's3' }], api: 's1', cert: 'b', extra: true }, 8);
    expect(await seen(ports.extra, 2)).toEqual(new Set(['s3']));
    // 8. the ACL route moves to another server
    await ok({ app: [{ name: 's2', weight: 0 }, { name: 's3' }], api: 's2', cert: 'b', extra: true }, 9);
    expect(await seen(ports.web, 4, '/api/y')).toEqual(new Set(['s2']));
    // 9. the frontend removed: its port closes, the others stay
    await ok({ app: [{ name: 's2', weight: 0 }, { name: 's3' }], api: 's2', cert: 'b', extra: false }, 10);
    expect(await refused(ports.extra)).toBe(true);
    // 10. the weight back and the first certificate back
    await ok({ app: [{ name: 's2', weight: 1 }, { name: 's3' }], api: 's2', cert: 'a', extra: false }, 11);
    expect(await reaches(ports.web, ['s2', 's3'])).toEqual(new Set(['s2', 's3']));
    expect((await freshTls(ports.secure)).cn).toBe('cert-a');
  }
});
