/**
 * The same haproxy.cfg under HAProxy 2.6 (/usr/sbin/haproxy) and under Switchyard: for
 * `balance uri`, `url_param`, `hdr` and `source` with map-based hashing and each hash function,
 * every key must land on the same server (HAProxy's hash functions and lb_map.c's table);
 * the same for consistent hashing (lb_chash.c's ring, the closest point), bare `hash-type
 * consistent` (sdbm + avalanche) included, and for the `avalanche` modifier.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const HAPROXY = '/usr/sbin/haproxy';
const maybe = fs.existsSync(HAPROXY) ? describe : describe.skip;

async function listening(port: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

maybe('map-based and consistent hashing place keys as HAProxy does', () => {
  const ups: Upstream[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-hash-'));
    for (const name of ['a', 'b', 'c', 'd']) ups.push(await startUpstream({ name }));
  });
  afterAll(async () => {
    for (const u of ups) await u.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const WEIGHTS = [1, 3, 2, 5];
  const cases: Array<{ title: string; balance: string; hashType: string; key: (i: number) => { path: string; headers?: Record<string, string> } }> = [
    { title: 'uri, sdbm (the default)', balance: 'uri', hashType: 'map-based', key: (i) => ({ path: `/item/${i * 7919}/view?x=${i}` }) },
    { title: 'uri whole, djb2', balance: 'uri whole', hashType: 'map-based djb2', key: (i) => ({ path: `/p${i}?q=${i * 31}` }) },
    { title: 'url_param, wt6', balance: 'url_param user', hashType: 'map-based wt6', key: (i) => ({ path: `/x?user=u${i * 104729}` }) },
    { title: 'hdr, crc32', balance: 'hdr(x-tenant)', hashType: 'map-based crc32', key: (i) => ({ path: '/', headers: { 'x-tenant': `tenant-${i}` } }) },
    { title: 'uri depth 2, sdbm', balance: 'uri depth 2', hashType: 'map-based sdbm', key: (i) => ({ path: `/a${i % 13}/b${i}/c${i * 3}` }) },
    { title: 'uri, map-based sdbm avalanche', balance: 'uri', hashType: 'map-based sdbm avalanche', key: (i) => ({ path: `/obj/${i}` }) },
    { title: 'uri, consistent (sdbm + avalanche by default)', balance: 'uri', hashType: 'consistent', key: (i) => ({ path: `/item/${i * 7919}/view?x=${i}` }) },
    { title: 'url_param, consistent djb2 (no avalanche)', balance: 'url_param user', hashType: 'consistent djb2', key: (i) => ({ path: `/x?user=u${i * 104729}` }) },
    { title: 'hdr, consistent crc32 avalanche', balance: 'hdr(x-tenant)', hashType: 'consistent crc32 avalanche', key: (i) => ({ path: '/', headers: { 'x-tenant': `tenant-${i}` } }) },
    { title: 'uri whole, consistent wt6 avalanche', balance: 'uri whole', hashType: 'consistent wt6 avalanche', key: (i) => ({ path: `/p${i}?q=${i * 31}` }) },
  ];

  for (const c of cases) {
    it(c.title, async () => {
      const [hp, sp] = [await freePort(), await freePort()];
      const cfg = (port: number): string =>
        `defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n` +
        `listen px\n  bind 127.0.0.1:${port}\n  balance ${c.balance}\n  hash-type ${c.hashType}\n` +
        ups.map((u, i) => `  server ${u.name} ${u.address} weight ${WEIGHTS[i]}\n`).join('');
      const hfile = path.join(dir, `h-${hp}.cfg`);
      fs.writeFileSync(hfile, cfg(hp));
      const child: ChildProcess = spawn(HAPROXY, ['-f', hfile, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      let gw: TestGateway | undefined;
      try {
        if (!(await listening(hp, 10_000))) throw new Error(`haproxy did not start: ${err}`);
        const sfile = path.join(dir, `s-${sp}.cfg`);
        fs.writeFileSync(sfile, cfg(sp));
        gw = await startTestGateway(fs.readFileSync(sfile, 'utf8'), { file: sfile });
        const who = async (port: number, i: number): Promise<string> => {
          const k = c.key(i);
          const r = await request(`http://127.0.0.1:${port}${k.path}`, { headers: k.headers });
          await r.body.dump();
          return String(r.headers['x-upstream']);
        };
        const differ: string[] = [];
        const seen = new Set<string>();
        for (let i = 0; i < 120; i++) {
          const [h, s] = [await who(hp, i), await who(sp, i)];
          seen.add(h);
          if (h !== s) differ.push(`${JSON.stringify(c.key(i))}: haproxy ${h}, switchyard ${s}`);
        }
        expect(differ).toEqual([]);
        // The keys did spread (a constant answer would prove nothing).
        expect(seen.size).toBe(4);
      } finally {
        await gw?.stop();
        if (child.exitCode === null && child.pid !== undefined) {
          const exited = new Promise((r) => child.once('exit', r));
          process.kill(child.pid, 'SIGTERM');
          await exited;
        }
      }
    }, 60_000);
  }
});
