/**
 * Fixed-port plugins across a single-process reload (issue 19): the stats page, the Prometheus
 * endpoint, the runtime API over HTTP and its HAProxy CLI sockets (TCP and unix) listen on their
 * own addresses through the core (`gateway.openListener`), which hands each listening socket to
 * the next generation as it does the frontends' binds. So during a series of reloads every port
 * keeps answering — no connect is ever refused — each answer after a reload comes from the new
 * generation (its config is what changed), and once the old generations are gone the ports are
 * still open.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { Logger } from '@switchyard/sdk';
import { freePort, startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { startReloadable, type Reloader } from '@switchyard/core';
import { until } from './helpers';

const logger = pino({ level: process.env.SWY_TEST_LOG ?? 'silent' }) as unknown as Logger;
const TOKEN = 'reload-plugin-ports-token-0123456789';
let dir: string;
let up: Upstream;
let reloader: Reloader | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-reload-ports-'));
  up = await startUpstream({ name: 'a' });
});
afterAll(async () => {
  await reloader?.stop(0);
  await up.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Ports {
  stats: number;
  prom: number;
  api: number;
  cli: number;
  sock: string;
}

/** Generation n: each plugin's answer shows n (a path, a weight), so an answer says which generation gave it. */
function writeConfig(file: string, p: Ports, n: number): void {
  fs.writeFileSync(
    file,
    [
      'global: { gracePeriod: 2s, logLevel: warn }',
      'plugins: ["@switchyard/plugin-http-forwarder", "@switchyard/plugin-roundrobin", "@switchyard/plugin-stats", "@switchyard/plugin-prometheus", "@switchyard/plugin-runtime-api"]',
      `stats: { listen: "127.0.0.1:${p.stats}", path: /stats${n} }`,
      `prometheus: { listen: "127.0.0.1:${p.prom}", path: /metrics${n} }`,
      'runtimeApi:',
      '  enabled: true',
      `  listen: "127.0.0.1:${p.api}"`,
      `  token: ${TOKEN}`,
      '  sockets:',
      `    - { address: "127.0.0.1:${p.cli}", level: admin }`,
      `    - { path: ${JSON.stringify(p.sock)}, level: admin }`,
      'frontends:',
      '  web: { bind: "127.0.0.1:0", defaultBackend: app }',
      'backends:',
      `  app: { servers: [{ name: s, address: "${up.address}", weight: ${n} }] }`,
    ].join('\n') + '\n',
  );
}

/** One HTTP GET on a new connection: status and body, or the connect/response error. */
function get(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', (err: Error & { code?: string }) => resolve({ error: err.code ?? err.message }));
  });
}

/** One HAProxy CLI command on a new connection (TCP port or unix path): the answer, or the error. */
function cliCommand(where: number | string, command: string): Promise<{ answer: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = typeof where === 'number' ? net.connect(where, '127.0.0.1') : net.connect(where);
    let answer = '';
    s.setEncoding('utf8');
    s.setTimeout(5000, () => s.destroy(new Error('timed out')));
    s.on('connect', () => s.write(`${command}\n`));
    s.on('data', (c: string) => (answer += c));
    s.on('error', (err: Error & { code?: string }) => resolve({ error: err.code ?? err.message }));
    s.on('close', () => resolve({ answer }));
  });
}

/** What each plugin's address answers now, as the generation number it shows (or the failure). */
async function probe(p: Ports): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const [stats, prom, api, cliTcp, cliUnix] = await Promise.all([
    get(p.stats, '/'),
    get(p.prom, '/'),
    get(p.api, '/v1/servers', { authorization: `Bearer ${TOKEN}` }),
    cliCommand(p.cli, 'get weight app/s'),
    cliCommand(p.sock, 'get weight app/s'),
  ]);
  // The stats page and the metrics endpoint name their path in a 404 (which says which config answers).
  out.stats = 'error' in stats ? stats.error : Number(/\/stats(\d+)/.exec(stats.body)?.[1] ?? NaN);
  out.prom = 'error' in prom ? prom.error : Number(/\/metrics(\d+)/.exec(prom.body)?.[1] ?? NaN);
  out.api = 'error' in api ? api.error : api.status !== 200 ? `status ${api.status}` : Number(/"weight":\s*(\d+)/.exec(api.body)?.[1] ?? NaN);
  out.cli = 'error' in cliTcp ? cliTcp.error : Number(/^(\d+)/.exec(cliTcp.answer)?.[1] ?? NaN);
  out.sock = 'error' in cliUnix ? cliUnix.error : Number(/^(\d+)/.exec(cliUnix.answer)?.[1] ?? NaN);
  return out;
}

test('stats, prometheus, the runtime API and its CLI sockets answer through a series of reloads, never refused, from the new generation', async () => {
  const ports: Ports = { stats: await freePort(), prom: await freePort(), api: await freePort(), cli: await freePort(), sock: path.join(dir, 'admin.sock') };
  const file = path.join(dir, 'ports.yaml');
  writeConfig(file, ports, 1);
  reloader = await startReloadable({ file, logger });
  const expect1 = { stats: 1, prom: 1, api: 1, cli: 1, sock: 1 };
  await until('every plugin port answers generation 1', async () => JSON.stringify(await probe(ports)) === JSON.stringify(expect1));

  // Probes on new connections back to back, through every reload and drain: none may fail.
  const seen: Array<Record<string, number | string>> = [];
  let probing = true;
  const prober = (async () => {
    while (probing) seen.push(await probe(ports));
  })();

  const RELOADS = 4;
  try {
    for (let n = 2; n <= RELOADS + 1; n++) {
      writeConfig(file, ports, n);
      const r = await reloader.reload();
      expect(r).toMatchObject({ ok: true });
      const want = { stats: n, prom: n, api: n, cli: n, sock: n };
      // Taken over within the reload: the first probe after it already answers from generation n.
      expect(await probe(ports)).toEqual(want);
    }
    // The old generations finish (gracePeriod 2 s) and close what they still own: nothing of ours.
    await until('the old generations have stopped', () => reloader!.draining === 0, 15_000);
    const n = RELOADS + 1;
    await until('a probe after the drain', () => seen.length > 0 && JSON.stringify(seen[seen.length - 1]) === JSON.stringify({ stats: n, prom: n, api: n, cli: n, sock: n }));
  } finally {
    probing = false;
    await prober;
  }
  const failed = seen.filter((s) => Object.values(s).some((v) => typeof v !== 'number' || Number.isNaN(v)));
  expect(failed).toEqual([]);
  // Each address only ever moves forward: no answer from a generation older than one seen before.
  for (const key of Object.keys(expect1)) {
    const gens = seen.map((s) => s[key] as number);
    expect(gens).toEqual([...gens].sort((x, y) => x - y));
  }
  expect(seen.length).toBeGreaterThan(RELOADS);
  expect(fs.lstatSync(ports.sock).isSocket()).toBe(true);

  // A reload whose config drops the runtime API closes its ports (not left to a stopped generation), and the rest stay.
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/runtimeApi:[\s\S]*?(?=frontends:)/, ''));
  expect(await reloader.reload()).toMatchObject({ ok: true });
  await until('the old generation has stopped', () => reloader!.draining === 0, 15_000);
  const after = await probe(ports);
  expect(after).toMatchObject({ stats: RELOADS + 1, prom: RELOADS + 1, api: 'ECONNREFUSED', cli: 'ECONNREFUSED' });
  expect(['ENOENT', 'ECONNREFUSED']).toContain(after.sock);
}, 90_000);
