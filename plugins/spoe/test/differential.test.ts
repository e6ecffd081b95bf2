/**
 * SPOE against HAProxy 2.6: the same haproxy.cfg, the same SPOE file, the same agent
 * (test/agent.js, written from doc/SPOE.txt) and the same requests. The agent records what
 * arrives (messages, argument names, types, values); the upstream records the variables the
 * rules turned into headers; both, and every status, must be equal.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Pool, request } from 'undici';
import { Gateway, loadConfig } from '@switchyard/core';
import { freePort, haveHaproxy, startAgent, startHaproxy, startRecorder, writeConfigs, type Agent, type Recorder } from './helpers';

const withHaproxy = haveHaproxy() ? describe : describe.skip;

const PATHS = ['/a?score=5', '/b?score=50', '/c?score=1&untag', '/slow?score=2', '/d?score=21', '/drop?score=3', '/e?score=7'];

async function run(front: number, method = 'GET'): Promise<Array<{ path: string; status: number }>> {
  const out: Array<{ path: string; status: number }> = [];
  for (const p of PATHS) {
    // a fresh connection each time: sess variables then live for one request on both sides
    const res = await request(`http://127.0.0.1:${front}${p}`, { method, reset: true });
    await res.body.text();
    out.push({ path: p, status: res.statusCode });
  }
  return out;
}

async function startSwitchyard(cfg: string): Promise<{ stop(): Promise<void>; warnings: string[] }> {
  const logger = pino({ level: 'warn' }, { write: () => undefined } as unknown as NodeJS.WritableStream);
  const loaded = loadConfig({ file: cfg }, { logger });
  const gw = await Gateway.start(loaded, { logger });
  return { stop: () => gw.stop(0), warnings: loaded.warnings };
}

withHaproxy('SPOE: the same agent, config and requests through HAProxy 2.6 and Switchyard', () => {
  let dir: string;
  let agent: Agent;
  let up: Recorder;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-spoe-'));
    agent = await startAgent();
    up = await startRecorder();
  });
  afterAll(async () => {
    await agent?.stop();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const side = async (which: 'haproxy' | 'switchyard'): Promise<{ statuses: unknown; seen: unknown; notifies: unknown }> => {
    const front = await freePort();
    const { cfg } = writeConfigs(dir, { front, upstream: up.port, agent: agent.port });
    up.seen.length = 0;
    agent.events.length = 0;
    const proxy = which === 'haproxy' ? await startHaproxy(cfg, front) : await startSwitchyard(cfg);
    try {
      const statuses = [...(await run(front)), ...(await run(front, 'POST'))];
      return { statuses, seen: [...up.seen], notifies: agent.notifies() };
    } finally {
      await proxy.stop();
    }
  };

  it('the same messages and typed arguments reach the agent, the same variables reach the rules, the same requests are denied', async () => {
    const h = await side('haproxy');
    const s = await side('switchyard');
    // one NOTIFY for the event, one for the group, typed as HAProxy types them (src is an IPV4)
    expect((h.notifies as unknown[]).slice(0, 2)).toEqual([
      [{ name: 'check-client', args: [{ name: 'ip', type: 'ipv4', value: '127.0.0.1' }, { name: 'path', type: 'string', value: '/a?score=5' }] }],
      [{ name: 'tag-request', args: [{ name: 'method', type: 'string', value: 'GET' }, { name: 'path', type: 'string', value: '/a?score=5' }] }],
    ]);
    // What HAProxy did (the reference), spelled out once so a change on either side shows.
    expect(h.statuses).toEqual([...PATHS, ...PATHS].map((p) => ({ path: p, status: /score=(50|21)\b/.test(p) ? 403 : 200 })));
    expect(s.statuses).toEqual(h.statuses);
    expect(s.notifies).toEqual(h.notifies);
    expect(s.seen).toEqual(h.seen);
    const first = (h.seen as Array<Record<string, string>>)[0]!;
    expect(first).toEqual({ path: '/a?score=5', ipScore: '5', seenIp: '127.0.0.1', tag: 'm-GET', err: '' });
    // the processing timeout (500 ms; the agent waits 1.5 s): no variables, error 1, the request goes on
    expect((h.seen as Array<Record<string, string>>).find((x) => x.path === '/slow?score=2')).toMatchObject({ ipScore: '', tag: '', err: '1' });
    // the agent closes the connection instead of an ACK: I/O error, 256 + 1
    expect((h.seen as Array<Record<string, string>>).find((x) => x.path === '/drop?score=3')).toMatchObject({ ipScore: '', tag: '', err: '257' });
    // unset-var from the agent removes the group's variable; an unregistered name never arrives
    expect((h.seen as Array<Record<string, string>>).find((x) => x.path === '/c?score=1&untag')).toMatchObject({ ipScore: '1', tag: '' });
  }, 60_000);

  it('option continue-on-error: after the event times out, the group is still sent (HAProxy too)', async () => {
    const results: Record<string, unknown> = {};
    for (const which of ['haproxy', 'switchyard'] as const) {
      const front = await freePort();
      const { cfg } = writeConfigs(dir, { front, upstream: up.port, agent: agent.port, extraAgent: 'option continue-on-error' });
      up.seen.length = 0;
      const proxy = which === 'haproxy' ? await startHaproxy(cfg, front) : await startSwitchyard(cfg);
      try {
        const res = await request(`http://127.0.0.1:${front}/slow?score=2`, { reset: true });
        await res.body.text();
        results[which] = { status: res.statusCode, seen: [...up.seen] };
      } finally {
        await proxy.stop();
      }
    }
    expect(results.haproxy).toEqual({ status: 200, seen: [{ path: '/slow?score=2', ipScore: '', seenIp: '', tag: 'm-GET', err: '1' }] });
    expect(results.switchyard).toEqual(results.haproxy);
  }, 60_000);

  it('on-client-session: HAProxy 2.6 fires it for each HTTP request of a keep-alive connection, txn variables included', async () => {
    const results: Record<string, unknown> = {};
    for (const which of ['haproxy', 'switchyard'] as const) {
      const front = await freePort();
      const { cfg } = writeConfigs(dir, { front, upstream: up.port, agent: agent.port, session: true });
      up.seen.length = 0;
      agent.events.length = 0;
      const proxy = which === 'haproxy' ? await startHaproxy(cfg, front) : await startSwitchyard(cfg);
      const pool = new Pool(`http://127.0.0.1:${front}`, { connections: 1 });
      try {
        for (const p of ['/one', '/two', '/three']) {
          const res = await pool.request({ path: p, method: 'GET' });
          await res.body.text();
        }
        results[which] = { seen: [...up.seen], notifies: agent.notifies().filter((n) => n[0]?.name === 'check-client') };
      } finally {
        await pool.close();
        await proxy.stop();
      }
    }
    const one = [{ name: 'check-client', args: [{ name: 'ip', type: 'ipv4', value: '127.0.0.1' }] }];
    expect((results.haproxy as { notifies: unknown[] }).notifies).toEqual([one, one, one]);
    expect((results.haproxy as { seen: Array<{ ipScore: string }> }).seen.map((x) => x.ipScore)).toEqual(['0', '0', '0']);
    expect(results.switchyard).toEqual(results.haproxy);
  }, 60_000);

  it('with the agent down, requests go on without the variables, as in HAProxy', async () => {
    const dead = await freePort();
    const results: Record<string, unknown> = {};
    for (const which of ['haproxy', 'switchyard'] as const) {
      const front = await freePort();
      const { cfg } = writeConfigs(dir, { front, upstream: up.port, agent: dead });
      up.seen.length = 0;
      const proxy = which === 'haproxy' ? await startHaproxy(cfg, front) : await startSwitchyard(cfg);
      try {
        const res = await request(`http://127.0.0.1:${front}/x?score=99`, { reset: true });
        await res.body.text();
        results[which] = { status: res.statusCode, seen: [...up.seen] };
      } finally {
        await proxy.stop();
      }
    }
    expect(results.switchyard).toEqual(results.haproxy);
    expect((results.haproxy as { status: number }).status).toBe(200);
  }, 60_000);
});
