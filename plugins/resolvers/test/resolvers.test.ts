import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import type { ServerState } from '@switchyard/sdk';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { haveDnsmasq, startDnsmasq, type Dnsmasq } from './dnsmasq';

// dnsmasq is installed by .ci/run (test/ci-tools.test.ts fails in CI without it).
const withDns = haveDnsmasq() ? describe : describe.skip;

/** HTTP servers on 127.0.0.2, .3, .4… sharing one port: a DNS answer picks which one a server reaches. */
interface Farm {
  port: number;
  hosts: string[];
  close(): Promise<void>;
}

async function startFarm(n: number): Promise<Farm> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await freePort();
    const servers: http.Server[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const host = `127.0.0.${i + 2}`;
        const s = http.createServer((req, res) => {
          req.resume();
          res.setHeader('x-upstream', host);
          res.end(host);
        });
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, host, () => resolve());
        });
        servers.push(s);
      }
      return {
        port,
        hosts: servers.map((_, i) => `127.0.0.${i + 2}`),
        close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
      };
    } catch {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    }
  }
  throw new Error('no common free port on 127.0.0.2-…');
}

async function hit(gw: TestGateway): Promise<{ status: number; upstream: string }> {
  const res = await request(gw.url('/'));
  await res.body.text();
  return { status: res.statusCode, upstream: String(res.headers['x-upstream'] ?? '') };
}

/** Waits (bounded) until the condition holds. */
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const servers = (gw: TestGateway, backend = 'app'): ReadonlyArray<ServerState> => gw.gateway.backends.get(backend)!.servers;
const where = (s: ServerState): string => `${s.admin}@${s.host}:${s.port}`;

withDns('resolvers: server names resolved at run time against a real DNS server (dnsmasq)', () => {
  let dns: Dnsmasq;
  let farm: Farm;
  beforeAll(async () => {
    farm = await startFarm(3);
    dns = await startDnsmasq(['127.0.0.2 app.test']);
  });
  afterAll(async () => {
    await dns?.close();
    await farm?.close();
  });

  const section = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    nameservers: [{ name: 'dnsmasq', address: dns.address }],
    timeouts: { resolve: '100ms', retry: '100ms' },
    ...extra,
  });

  it('an answer change moves traffic to the new address', async () => {
    await dns.hosts(['127.0.0.2 app.test']);
    const gw = await startTestGateway({
      resolvers: { mydns: section() },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'web1', address: `app.test:${farm.port}`, resolvers: 'mydns', initAddr: ['none'] }] } },
    });
    try {
      const s1 = servers(gw)[0]!;
      await until('web1 resolved', () => s1.host === '127.0.0.2' && s1.admin === 'ready');
      expect((await hit(gw)).upstream).toBe('127.0.0.2');
      await dns.hosts(['127.0.0.3 app.test']);
      await until('web1 moved', () => s1.host === '127.0.0.3');
      for (let i = 0; i < 3; i++) expect(await hit(gw)).toEqual({ status: 200, upstream: '127.0.0.3' });
      expect(gw.logs.some((l) => String(l.msg).includes(`app/web1 changed its IP from 127.0.0.2:${farm.port} to 127.0.0.3:${farm.port} by mydns/dnsmasq`))).toBe(true);
    } finally {
      await gw.stop();
    }
  });

  it('init-addr none: in maintenance (503) until DNS answers; NXDOMAIN past hold nx puts it back, a valid answer brings it up', async () => {
    await dns.hosts(['127.0.0.9 other.test']);
    const gw = await startTestGateway({
      resolvers: { mydns: section({ hold: { nx: '300ms' } }) },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'web1', address: `app.test:${farm.port}`, resolvers: 'mydns', initAddr: ['none'] }] } },
    });
    try {
      const s1 = servers(gw)[0]!;
      expect(s1.admin).toBe('maint');
      expect((await hit(gw)).status).toBe(503);
      await dns.hosts(['127.0.0.4 app.test']);
      await until('web1 up', () => s1.admin === 'ready');
      expect(await hit(gw)).toEqual({ status: 200, upstream: '127.0.0.4' });
      expect(gw.logs.some((l) => String(l.msg) === 'Server app/web1 administratively READY thanks to valid DNS answer.')).toBe(true);
      // The name goes away: NXDOMAIN. Within hold nx the server keeps serving…
      const nxAt = Date.now();
      await dns.hosts(['127.0.0.9 other.test']);
      expect((await hit(gw)).status).toBe(200);
      // …then it goes to maintenance, as HAProxy logs it.
      await until('web1 in maintenance for NX', () => s1.admin === 'maint');
      expect(Date.now() - nxAt).toBeGreaterThanOrEqual(250);
      expect(gw.logs.some((l) => String(l.msg) === 'Server app/web1 is going DOWN for maintenance (DNS NX status).')).toBe(true);
      expect((await hit(gw)).status).toBe(503);
      await dns.hosts(['127.0.0.2 app.test']);
      await until('web1 back', () => s1.admin === 'ready');
      expect(await hit(gw)).toEqual({ status: 200, upstream: '127.0.0.2' });
    } finally {
      await gw.stop();
    }
  });

  it('server-template slots take one address of the answer each; extra slots wait in maintenance; a removed record drains its slot', async () => {
    await dns.hosts(['127.0.0.2 app.test', '127.0.0.3 app.test']);
    const slot = (n: number): Record<string, unknown> => ({ name: `web${n}`, address: `app.test:${farm.port}`, resolvers: 'mydns', initAddr: ['none'] });
    const gw = await startTestGateway({
      resolvers: { mydns: section() },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [slot(1), slot(2), slot(3)] } },
    });
    try {
      const [w1, w2, w3] = servers(gw) as [ServerState, ServerState, ServerState];
      await until('two slots filled', () => w1.admin === 'ready' && w2.admin === 'ready');
      expect([where(w1), where(w2), where(w3)]).toEqual([`ready@127.0.0.2:${farm.port}`, `ready@127.0.0.3:${farm.port}`, `maint@app.test:${farm.port}`]);
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await hit(gw)).upstream);
      expect([...seen].sort()).toEqual(['127.0.0.2', '127.0.0.3']);
      // A third address fills the third slot; the others keep theirs.
      await dns.hosts(['127.0.0.2 app.test', '127.0.0.3 app.test', '127.0.0.4 app.test']);
      await until('third slot filled', () => w3.admin === 'ready');
      expect([where(w1), where(w2), where(w3)]).toEqual([`ready@127.0.0.2:${farm.port}`, `ready@127.0.0.3:${farm.port}`, `ready@127.0.0.4:${farm.port}`]);
      // 127.0.0.2 leaves the answer: its slot goes to maintenance ("No IP for server"), traffic goes to the others.
      await dns.hosts(['127.0.0.3 app.test', '127.0.0.4 app.test']);
      await until('first slot drained', () => w1.admin === 'maint');
      expect([where(w2), where(w3)]).toEqual([`ready@127.0.0.3:${farm.port}`, `ready@127.0.0.4:${farm.port}`]);
      expect(gw.logs.some((l) => String(l.msg) === 'Server app/web1 is going DOWN for maintenance (No IP for server).')).toBe(true);
      const after = new Set<string>();
      for (let i = 0; i < 6; i++) after.add((await hit(gw)).upstream);
      expect([...after].sort()).toEqual(['127.0.0.3', '127.0.0.4']);
    } finally {
      await gw.stop();
    }
  });

  it('resolve-prefer: ipv6 by default (as HAProxy), ipv4 when asked; allow-dup-ip lets slots share an address', async () => {
    await dns.hosts(['127.0.0.2 dual.test', '::1 dual.test']);
    const gw = await startTestGateway({
      resolvers: { mydns: section() },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: {
        app: {
          servers: [
            { name: 'v6', address: `dual.test:${farm.port}`, resolvers: 'mydns', initAddr: ['none'] },
            { name: 'v4', address: `dual.test:${farm.port}`, resolvers: 'mydns', initAddr: ['none'], resolvePrefer: 'ipv4' },
            { name: 'dup1', address: `dual.test:${farm.port}`, resolvers: 'mydns', initAddr: ['none'], resolvePrefer: 'ipv4', resolveOpts: ['allow-dup-ip'] },
          ],
        },
      },
    });
    try {
      const [v6, v4, dup] = servers(gw) as [ServerState, ServerState, ServerState];
      await until('all resolved', () => v6.admin === 'ready' && v4.admin === 'ready' && dup.admin === 'ready');
      expect(v6.host).toBe('::1');
      expect(v4.host).toBe('127.0.0.2');
      expect(dup.host).toBe('127.0.0.2');
    } finally {
      await gw.stop();
    }
  });

  it('init-addr libc|<ip> start with an address; a name nothing resolves at start is refused with the server named', async () => {
    await dns.hosts(['127.0.0.3 app.test']);
    const gw = await startTestGateway({
      resolvers: { mydns: section() },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'web1', address: `app.test:${farm.port}`, resolvers: 'mydns', initAddr: ['libc', '127.0.0.2'] }] } },
    });
    try {
      const s1 = servers(gw)[0]!;
      // libc (the system resolver) does not know app.test: the IP is next; then DNS moves it.
      expect(gw.logs.some((l) => l.what === 'addr' && l.to === `127.0.0.2:${farm.port}`)).toBe(true);
      await until('moved by DNS', () => s1.host === '127.0.0.3');
      expect((await hit(gw)).upstream).toBe('127.0.0.3');
    } finally {
      await gw.stop();
    }
    await expect(
      startTestGateway({
        resolvers: { mydns: section() },
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
        backends: { app: { servers: [{ name: 'web1', address: `nowhere.invalid:${farm.port}`, resolvers: 'mydns', initAddr: ['libc'] }] } },
      }),
    ).rejects.toThrow(/server app\/web1: could not resolve address "nowhere\.invalid" \(init-addr libc\).*SWY_ERR_RESOLVERS_INIT_ADDR/s);
  });

  it('init-addr left out: a name libc cannot resolve starts in maintenance with HAProxy\'s warning, then DNS brings it up', async () => {
    await dns.hosts(['127.0.0.4 late.test']);
    const gw = await startTestGateway({
      resolvers: { mydns: section() },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'web1', address: `late.test:${farm.port}`, resolvers: 'mydns' }] } },
    });
    try {
      const s1 = servers(gw)[0]!;
      expect(gw.logs.some((l) => l.msg === "'server app/web1' : could not resolve address 'late.test', disabling server.")).toBe(true);
      await until('up by DNS', () => s1.admin === 'ready' && s1.host === '127.0.0.4');
      expect((await hit(gw)).upstream).toBe('127.0.0.4');
    } finally {
      await gw.stop();
    }
  });

  it('refuses a server naming a missing section, and a nameserver that is not an IP address', async () => {
    const base = {
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'web1', address: `app.test:${farm.port}`, resolvers: 'other' }] } },
    };
    await expect(startTestGateway({ ...base, resolvers: { mydns: section() } })).rejects.toThrow(/server app\/web1 names resolvers "other", but no resolvers section has that name \(sections: mydns\).*SWY_ERR_RESOLVERS_UNKNOWN_SECTION/s);
    await expect(startTestGateway({ ...base, resolvers: { other: { nameservers: ['dns.example.com:53'] } } })).rejects.toThrow(/SWY_ERR_RESOLVERS_BAD_NAMESERVER/);
  });

  it('haproxy.cfg: a resolvers section and server-template run unchanged, with no approximation warning', async () => {
    await dns.hosts(['127.0.0.2 app.test', '127.0.0.3 app.test']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-resolvers-'));
    const front = await freePort();
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, [
      'resolvers mydns',
      `  nameserver dns1 ${dns.address}`,
      '  resolve_retries 3',
      '  timeout resolve 100ms',
      '  timeout retry 100ms',
      '  hold valid 10s',
      '  hold nx 30s',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend web',
      `  bind 127.0.0.1:${front}`,
      '  default_backend app',
      'backend app',
      '  balance roundrobin',
      `  server-template web 3 app.test:${farm.port} resolvers mydns init-addr none resolve-prefer ipv4`,
      '',
    ].join('\n'));
    const { loadConfig, Gateway } = await import('@switchyard/core');
    const pino = (await import('pino')).default;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) } as unknown as NodeJS.WritableStream);
    const loaded = loadConfig({ file }, { logger });
    expect(loaded.warnings.filter((w) => /approximat|resolv/i.test(w))).toEqual([]);
    expect(loaded.plugins.map((p) => p.definition.name)).toContain('@switchyard/plugin-resolvers');
    const gw = await Gateway.start(loaded, { logger });
    try {
      const list = gw.backends.get('app')!.servers;
      await until('two slots filled', () => list.filter((s) => s.admin === 'ready').length === 2);
      expect(list.map((s) => `${s.name} ${s.admin} ${s.host}`)).toEqual(['web1 ready 127.0.0.2', 'web2 ready 127.0.0.3', 'web3 maint app.test']);
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const res = await request(`http://127.0.0.1:${front}/`);
        await res.body.text();
        seen.add(String(res.headers['x-upstream']));
      }
      expect([...seen].sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    } finally {
      await gw.stop(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

withDns('resolvers: SRV labels fill servers with the records\' targets, ports and weights', () => {
  let dns: Dnsmasq;
  let a: Farm;
  let b: Farm;
  beforeAll(async () => {
    a = await startFarm(1);
    b = await startFarm(2);
    dns = await startDnsmasq(['127.0.0.2 one.test', '127.0.0.3 two.test'], [
      `_http._tcp.app.test,one.test,${a.port},0,512`,
      `_http._tcp.app.test,two.test,${b.port},0,100`,
    ]);
  });
  afterAll(async () => {
    await dns?.close();
    await a?.close();
    await b?.close();
  });

  it('each server takes one record; the spare one waits in maintenance', async () => {
    const slot = (n: number): Record<string, unknown> => ({ name: `web${n}`, address: '_http._tcp.app.test:80', resolvers: 'mydns', resolvePrefer: 'ipv4' });
    const gw = await startTestGateway({
      resolvers: { mydns: { nameservers: [dns.address], timeouts: { resolve: '100ms', retry: '100ms' } } },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
      backends: { app: { servers: [slot(1), slot(2), slot(3)] } },
    });
    try {
      const list = servers(gw);
      await until('two records taken', () => list.filter((s) => s.admin === 'ready').length === 2);
      const got = list.map((s) => `${s.name} ${s.admin} ${s.host}:${s.port} w${s.weight}`).sort();
      expect(got).toEqual([`web1 ready 127.0.0.2:${a.port} w2`, `web2 ready 127.0.0.3:${b.port} w1`, 'web3 maint _http._tcp.app.test:80 w1']);
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await hit(gw)).upstream);
      expect([...seen].sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    } finally {
      await gw.stop();
    }
  });

  it('haproxy.cfg: server-template on an SRV label (no port) fills from the records', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-resolvers-srv-'));
    const front = await freePort();
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, [
      'resolvers mydns', `  nameserver dns1 ${dns.address}`, '  timeout resolve 100ms', '  timeout retry 100ms',
      'defaults', '  mode http', '  timeout connect 1s', '  timeout client 5s', '  timeout server 5s',
      'frontend web', `  bind 127.0.0.1:${front}`, '  default_backend app',
      'backend app', '  server-template web 3 _http._tcp.app.test resolvers mydns init-addr none resolve-prefer ipv4', '',
    ].join('\n'));
    const { loadConfig, Gateway } = await import('@switchyard/core');
    const pino = (await import('pino')).default;
    const logger = pino({ level: 'warn' }, { write: () => undefined } as unknown as NodeJS.WritableStream);
    const gw = await Gateway.start(loadConfig({ file }, { logger }), { logger });
    try {
      const list = gw.backends.get('app')!.servers;
      await until('two records taken', () => list.filter((s) => s.admin === 'ready').length === 2);
      expect(list.map((s) => `${s.name} ${s.admin} ${s.host}:${s.port}`).sort()).toEqual([`web1 ready 127.0.0.2:${a.port}`, `web2 ready 127.0.0.3:${b.port}`, 'web3 maint _http._tcp.app.test:1']);
      const res = await request(`http://127.0.0.1:${front}/`);
      await res.body.text();
      expect(res.statusCode).toBe(200);
    } finally {
      await gw.stop(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
