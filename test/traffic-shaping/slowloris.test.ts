import * as http from 'node:http';
import * as net from 'node:net';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { startChildGateway, type ChildGateway } from './fixtures/gateway';

/**
 * Slowloris, functionally: connections that trickle one header byte a second are cut by
 * `timeouts.httpRequest` (with a 408), and ordinary clients are answered meanwhile. Rates and
 * latency under a 1 000-connection attack are load figures: `npm run bench` measures them
 * (its slowloris section), so a busy machine cannot make this test flaky.
 */
const ATTACKERS = 100;
const ORDINARY = 20;

/** Resolves when `cond()` holds, polling every 20 ms; rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ordinary', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('slowloris', () => {
  let up: Upstream;
  let gw: ChildGateway;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startChildGateway({
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', timeouts: { httpRequest: '2s', keepAlive: '1s' } } },
      backends: { app: { servers: [{ name: 'u', address: up.address }] } },
    });
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('cuts connections that trickle headers (408) and keeps answering ordinary clients', async () => {
    const sockets: net.Socket[] = [];
    const state = { open: 0, closed: 0, got408: 0 };
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < ATTACKERS; i++) {
      const s = net.connect(gw.port, '127.0.0.1');
      sockets.push(s);
      let answer = '';
      s.on('connect', () => {
        state.open++;
        s.write('GET / HTTP/1.1\r\nHost: victim\r\nX-Slow: ');
        timers.push(setInterval(() => s.writable && s.write('a'), 1000));
      });
      s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => {
        state.closed++;
        if (answer.startsWith('HTTP/1.1 408')) state.got408++;
      });
    }
    try {
      await until(() => state.open === ATTACKERS, 10_000, 'every trickling connection to open');
      // While they trickle: every ordinary request is answered.
      const statuses: number[] = [];
      for (let i = 0; i < ORDINARY; i += 4) statuses.push(...(await Promise.all([0, 1, 2, 3].map(() => get(gw.port)))));
      expect(statuses).toEqual(Array(ORDINARY).fill(200));
      // The http-request timeout (2 s) cuts every trickler, with a 408 before closing.
      await until(() => state.closed === ATTACKERS, 15_000, 'the gateway to cut every trickling connection');
      expect(state.got408).toBe(ATTACKERS);
      // And the gateway still serves afterwards.
      expect(await get(gw.port)).toBe(200);
    } finally {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
    }
  }, 40_000);
});
