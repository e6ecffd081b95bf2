import * as net from 'node:net';
import type { TestGateway } from '@switchyard/sdk/testing';
import { startAgent, startGateway, waitForHealth, sleep, flippableUpstream } from './helpers';
import { parseAgentReply } from '../src';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-health-check'];

describe('agent replies', () => {
  it('parse like HAProxy agent-check', () => {
    expect(parseAgentReply('75%')).toEqual({ weightPercent: 75 });
    expect(parseAgentReply('up, ready 100%')).toEqual({ health: 'up', admin: 'ready', weightPercent: 100 });
    expect(parseAgentReply('DRAIN')).toEqual({ admin: 'drain' });
    expect(parseAgentReply('down #disk full')).toEqual({ health: 'down', message: 'disk full' });
    expect(parseAgentReply('maint\tstopped')).toEqual({ admin: 'maint', health: 'down' });
  });
});

describe('agent check beside an http check', () => {
  let agentReply = '100%';
  let agent: Awaited<ReturnType<typeof startAgent>>;
  let s1: Awaited<ReturnType<typeof flippableUpstream>>;
  let s2: Awaited<ReturnType<typeof flippableUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    agent = await startAgent(() => agentReply + '\n');
    s1 = await flippableUpstream('s1');
    s2 = await flippableUpstream('s2');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          healthCheck: { type: 'http', inter: '150ms', timeout: '3s', rise: 1, fall: 1, http: { path: '/health' } },
          servers: [
            { name: 's1', address: s1.address, weight: 100 },
            { name: 's2', address: s2.address, weight: 100, agentCheck: { port: agent.port, inter: '100ms', timeout: '3s' } },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([agent.close(), s1.close(), s2.close()]);
  });

  const s2State = (): { weight: number; admin: string; health: string } => {
    const s = gw.gateway.backends.get('api')!.server('s2')!;
    return { weight: s.weight, admin: s.admin, health: s.health };
  };

  async function until(pred: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`condition not met within ${ms} ms: ${JSON.stringify(s2State())}`);
      await sleep(20);
    }
  }

  it('sets the weight to a percentage of the configured weight', async () => {
    agentReply = '50%';
    await until(() => s2State().weight === 50);
    agentReply = '100%';
    await until(() => s2State().weight === 100);
  });

  it('drains, puts in maintenance and hands back ready', async () => {
    agentReply = 'drain';
    await until(() => s2State().admin === 'drain');
    const traffic = (): number => s2.requests.filter((r) => r.url === '/').length;
    const before = traffic();
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(await fetch(gw.url('/')).then((r) => r.text()));
    expect(answers).toEqual(new Set(['s1']));
    expect(traffic()).toBe(before);
    agentReply = 'maint';
    await until(() => s2State().admin === 'maint');
    agentReply = 'ready';
    await until(() => s2State().admin === 'ready');
  });

  it('marks the server down and up', async () => {
    const down = waitForHealth(gw.gateway, 'api/s2', 'down', 3000);
    agentReply = 'down #maintenance window';
    await down;
    expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('api/s2 health up -> down (agent: down (maintenance window))'))).toBe(true);
    const up = waitForHealth(gw.gateway, 'api/s2', 'up', 3000);
    agentReply = 'up';
    await up;
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await fetch(gw.url('/')).then((r) => r.text()));
    expect(seen).toEqual(new Set(['s1', 's2']));
  });

  it('keeps a server whose health check fails DOWN even while its agent says up', async () => {
    const down = waitForHealth(gw.gateway, 'api/s2', 'down', 3000);
    s2.state.health = 500;
    await down;
    agentReply = 'up';
    await sleep(500);
    expect(s2State().health).toBe('down');
    const up = waitForHealth(gw.gateway, 'api/s2', 'up', 3000);
    s2.state.health = 200;
    await up;
  });
});

describe('tcp check, per-server port, spread', () => {
  let tcpCheck: Awaited<ReturnType<typeof startAgent>>;
  let gw: TestGateway;
  let deadPort: number;
  const N = 20;
  const INTER = 400;

  beforeAll(async () => {
    tcpCheck = await startAgent(() => '');
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const servers = Array.from({ length: N }, (_, i) => ({ name: `n${i}`, address: `127.0.0.1:${deadPort}`, check: { port: tcpCheck.port } }));
    servers.push({ name: 'dead', address: `127.0.0.1:${deadPort}`, check: { port: deadPort } } as (typeof servers)[number]);
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'pool' } },
      backends: { pool: { healthCheck: { inter: `${INTER}ms`, timeout: '3s', fall: 1 }, servers } },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await tcpCheck.close();
  });

  it('probes the check port, marks a refused server DOWN with the Layer4 reason, and spreads the first round over the interval', async () => {
    await waitForHealth(gw.gateway, 'pool/dead', 'down', 3000).catch(() => undefined);
    const dead = gw.gateway.backends.get('pool')!.server('dead')!;
    expect(dead.health).toBe('down');
    expect(gw.logs.some((l) => typeof l.msg === 'string' && /^Server pool\/dead is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 20 active and 0 backup servers left\.$/.test(l.msg))).toBe(true);
    await sleep(INTER);
    const firstRound = tcpCheck.connections.slice(0, N);
    expect(firstRound.length).toBe(N);
    const span = Math.max(...firstRound) - Math.min(...firstRound);
    // eslint-disable-next-line no-console
    console.log(`[measure] first round of ${N} tcp checks spread over ${span} ms (inter ${INTER} ms)`);
    expect(span).toBeGreaterThan(INTER / 3);
    // Servers on the check port stay UP.
    expect(gw.gateway.backends.get('pool')!.servers.filter((s) => s.health === 'up').length).toBe(N);
  });
});

describe('agent as the main check kind', () => {
  let reply = 'up 100%';
  let agent: Awaited<ReturnType<typeof startAgent>>;
  let s1: Awaited<ReturnType<typeof flippableUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    agent = await startAgent(() => reply + '\n');
    s1 = await flippableUpstream('s1');
    gw = await startGateway({
      plugins: PLUGINS,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          healthCheck: { type: 'agent', port: agent.port, inter: '100ms', timeout: '3s', rise: 2, fall: 1 },
          servers: [{ name: 's1', address: s1.address, weight: 10 }],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([agent.close(), s1.close()]);
  });

  it('goes DOWN when the agent says down, UP after rise replies, and takes the weight it reports', async () => {
    const down = waitForHealth(gw.gateway, 'api/s1', 'down', 3000);
    reply = 'down #deploying';
    await down;
    expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('Server api/s1 is DOWN, reason: Layer7 agent reports down, info: "down #deploying"'))).toBe(true);
    const res = await fetch(gw.url('/'));
    await res.text();
    expect(res.status).toBe(503);
    const up = waitForHealth(gw.gateway, 'api/s1', 'up', 3000);
    reply = 'up 50%';
    await up;
    expect(gw.gateway.backends.get('api')!.server('s1')!.weight).toBe(5);
  });
});
