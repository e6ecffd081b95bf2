import * as http from 'node:http';
import { request } from 'undici';
import type { ServerChange } from '@switchyard/sdk';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

function startGateway(config: Record<string, unknown>): Promise<TestGateway> {
  return startTestGateway(config);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function statusUpstream(name: string, status: { code: number }): Promise<Upstream> {
  return startUpstream({
    name,
    handler: (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(status.code, { 'content-type': 'text/plain' });
        res.end(name);
      });
    },
  });
}

async function get(gw: TestGateway): Promise<{ status: number; text: string }> {
  const res = await request(gw.url('/'));
  return { status: res.statusCode, text: await res.body.text() };
}

describe('layer7 errors without active checks: mark-down, then retried after recover', () => {
  const s2status = { code: 500 };
  let s1: Upstream;
  let s2: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    s1 = await statusUpstream('s1', { code: 200 });
    s2 = await statusUpstream('s2', s2status);
    gw = await startGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-passive-health'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          passiveHealth: { observe: 'layer7', errorLimit: 3, onError: 'mark-down', recover: '400ms' },
          servers: [{ name: 's1', address: s1.address }, { name: 's2', address: s2.address }],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([s1.close(), s2.close()]);
  });

  it('takes s2 out after 3 consecutive 500s and sends everything to s1', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push((await get(gw)).text);
    expect(answers.filter((a) => a === 's2').length).toBe(3);
    const s2 = gw.gateway.backends.get('api')!.server('s2')!;
    expect(s2.health).toBe('down');
    const before = s2.counters.sessions;
    for (let i = 0; i < 5; i++) expect((await get(gw)).text).toBe('s1');
    expect(s2.counters.sessions).toBe(before);
    expect(gw.logs.some((l) => typeof l.msg === 'string' && /^Server api\/s2 is DOWN, reason: passive health: 3 consecutive layer7 errors, last status 500\. 1 active and 0 backup servers left\.$/.test(l.msg))).toBe(true);
  });

  it('tries s2 again after recover, and a good answer keeps it', async () => {
    s2status.code = 200;
    const s2 = gw.gateway.backends.get('api')!.server('s2')!;
    for (let i = 0; i < 40 && s2.health !== 'up'; i++) await sleep(25);
    expect(s2.health).toBe('up');
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add((await get(gw)).text);
    expect(answers).toEqual(new Set(['s1', 's2']));
  });

  it('layer7 ignores 501 and a 4xx', async () => {
    s2status.code = 501;
    for (let i = 0; i < 10; i++) await get(gw);
    expect(gw.gateway.backends.get('api')!.server('s2')!.health).toBe('up');
    s2status.code = 404;
    for (let i = 0; i < 10; i++) await get(gw);
    expect(gw.gateway.backends.get('api')!.server('s2')!.health).toBe('up');
  });
});

describe('layer4 errors with a slow active check: on-error fastinter detects a dead server fast', () => {
  let s1: Upstream;
  let s2: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    s1 = await statusUpstream('s1', { code: 200 });
    s2 = await statusUpstream('s2', { code: 200 });
    gw = await startGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-health-check', '@switchyard/plugin-passive-health'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          healthCheck: { type: 'tcp', inter: '10s', fastinter: '100ms', fall: 2, rise: 1 },
          passiveHealth: { observe: 'layer4', errorLimit: 2, onError: 'fastinter' },
          servers: [{ name: 's1', address: s1.address, check: { inter: '100ms' } }, { name: 's2', address: s2.address }],
        },
      },
    });
    await sleep(300);
  });

  afterAll(async () => {
    await gw.stop();
    await s1.close();
  });

  it('marks s2 DOWN within a few fastinters of the first errors instead of inter (10 s)', async () => {
    let downAt = 0;
    gw.gateway.events.on('server-change', (c: ServerChange) => {
      if (c.server.name === 's2' && c.what === 'health' && c.to === 'down') downAt = Date.now();
    });
    await s2.close();
    const killedAt = Date.now();
    let failures = 0;
    for (let i = 0; i < 200 && downAt === 0; i++) {
      if ((await get(gw)).status !== 200) failures++;
      await sleep(10);
    }
    expect(downAt).toBeGreaterThan(0);
    const detection = downAt - killedAt;
    const limitAt = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('on-error fastinter'))?.time as number;
    // eslint-disable-next-line no-console
    console.log(`[measure] passive layer4 errorLimit=2 onError=fastinter (inter 10s, fastinter 100ms, fall 2): s2 DOWN ${detection} ms after the kill, ${downAt - limitAt} ms after the error limit was reached; ${failures} client errors meanwhile (no retries plugin)`);
    expect(detection).toBeLessThan(3000);
    expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('on-error fastinter'))).toBe(true);
    for (let i = 0; i < 5; i++) expect((await get(gw)).text).toBe('s1');
  });
});

describe('with retries: failed attempts count although no client saw an error', () => {
  let s1: Upstream;
  let s2: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    s1 = await statusUpstream('s1', { code: 200 });
    s2 = await statusUpstream('s2', { code: 200 });
    gw = await startGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-retries', '@switchyard/plugin-passive-health'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          retries: { count: 2, redispatch: 1 },
          passiveHealth: { observe: 'layer4', errorLimit: 3, onError: 'mark-down', recover: '1m' },
          servers: [{ name: 's1', address: s1.address }, { name: 's2', address: s2.address }],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await s1.close();
  });

  it('marks a dead server down from retried attempts while every client request succeeds', async () => {
    await s2.close();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await get(gw)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const dead = gw.gateway.backends.get('api')!.server('s2')!;
    expect(dead.health).toBe('down');
    expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('Server api/s2 is DOWN, reason: passive health: 3 consecutive layer4 errors, last SWY_ERR_FORWARD_REFUSED.'))).toBe(true);
  });
});

describe('mark-down with an active check', () => {
  const s2status = { code: 200 };
  let s1: Upstream;
  let s2: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    s1 = await statusUpstream('s1', { code: 200 });
    s2 = await startUpstream({
      name: 's2',
      handler: (req, res) => {
        req.resume();
        // The health endpoint stays fine; only live traffic fails.
        res.writeHead(req.url === '/health' ? 200 : s2status.code);
        res.end('s2');
      },
    });
    gw = await startGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-health-check', '@switchyard/plugin-passive-health'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: {
          healthCheck: { type: 'http', inter: '10s', rise: 2, fall: 3, http: { path: '/health' } },
          passiveHealth: { observe: 'layer7', errorLimit: 2, onError: 'mark-down' },
          servers: [{ name: 's1', address: s1.address }, { name: 's2', address: s2.address, check: { fastinter: '100ms' } }],
        },
      },
    });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([s1.close(), s2.close()]);
  });

  it('mark-down takes the server out at once; the active check brings it back after rise passing checks at fastinter', async () => {
    s2status.code = 503;
    const seen: string[] = [];
    let downAt = 0;
    let upAt = 0;
    gw.gateway.events.on('server-change', (c: ServerChange) => {
      if (c.server.name !== 's2' || c.what !== 'health') return;
      if (c.to === 'down') downAt = Date.now();
      else upAt = Date.now();
    });
    for (let i = 0; i < 8; i++) seen.push((await get(gw)).text);
    expect(seen.filter((t) => t === 's2').length).toBe(2);
    expect(downAt).toBeGreaterThan(0);
    s2status.code = 200;
    for (let i = 0; i < 60 && upAt === 0; i++) await sleep(50);
    // Back long before inter (10 s): mark-down forces fastinter, and rise (2) checks pass.
    expect(upAt).toBeGreaterThan(0);
    // eslint-disable-next-line no-console
    console.log(`[measure] passive mark-down then active recovery (fastinter 100 ms, rise 2): s2 UP ${upAt - downAt} ms after DOWN`);
  });
});
