import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { Gateway, loadConfig } from '@switchyard/core';
import { startTestGateway } from '@switchyard/sdk/testing';
import { parseSpoeConf } from '../src/conf';
import { Reader, Writer } from '../src/spop';
import { freePort, startAgent, startRecorder, writeConfigs, type Agent, type Recorder } from './helpers';

describe('SPOP encoding (doc/SPOE.txt 3.1)', () => {
  it('varints use the peers encoding at every boundary of the spec\'s table', () => {
    const cases: Array<[number, number]> = [[0, 1], [239, 1], [240, 2], [2287, 2], [2288, 3], [264431, 3], [264432, 4], [33818863, 4], [33818864, 5], [4328786159, 5]];
    for (const [v, len] of cases) {
      const b = new Writer().varint(v).done();
      expect([v, b.length]).toEqual([v, len]);
      expect(Number(new Reader(b).varint())).toBe(v);
    }
    expect([...new Writer().varint(240).done()]).toEqual([0xf0, 0x00]);
    expect([...new Writer().varint(1000).done()]).toEqual([0xf8, 0x2f]);
  });

  it('typed data round-trips: null, bool flag bit, ints, IPv4/IPv6, string, binary', () => {
    const w = new Writer()
      .typed({ type: 'null' }).typed({ type: 'bool', value: true }).typed({ type: 'int64', value: -5n }).typed({ type: 'uint32', value: 70000n })
      .typed({ type: 'ipv4', value: '10.1.2.3' }).typed({ type: 'ipv6', value: '2001:db8::1' }).typed({ type: 'string', value: 'héllo' }).typed({ type: 'binary', value: Buffer.from([0, 255]) });
    const b = w.done();
    expect(b[1]).toBe(0x11); // BOOL with the true flag
    const r = new Reader(b);
    const out = [];
    while (!r.done) out.push(r.typed());
    expect(out).toEqual([
      { type: 'null' }, { type: 'bool', value: true }, { type: 'int64', value: -5n }, { type: 'uint32', value: 70000n },
      { type: 'ipv4', value: '10.1.2.3' }, { type: 'ipv6', value: '2001:db8::1' }, { type: 'string', value: 'héllo' }, { type: 'binary', value: Buffer.from([0, 255]) },
    ]);
  });

  it('the SPOE file is checked with its line: unknown directives, undefined messages, events', () => {
    expect(() => parseSpoeConf('spoe-agent a\n  use-backend b\n  messages m\n', undefined)).toThrow('spoe-agent a: message "m" is not defined');
    expect(() => parseSpoeConf('spoe-agent a\n  bogus 1\n', undefined)).toThrow('unknown spoe-agent directive "bogus"');
    expect(() => parseSpoeConf('[x]\nspoe-agent a\n use-backend b\n', undefined)).toThrow(/name the engine/);
    expect(() => parseSpoeConf('spoe-agent my-agent\n use-backend b\n', undefined)).toThrow('invalid variable prefix "my-agent" for SPOE agent my-agent: use option var-prefix');
    const ok = parseSpoeConf('[e]\nspoe-agent a\n use-backend b\n messages m\n timeout processing 10ms\nspoe-message m\n args ip=src dst\n event on-frontend-http-request if { src 127.0.0.1 }\n', 'e');
    expect(ok.agent).toMatchObject({ name: 'a', varPrefix: 'a', useBackend: 'b', timeouts: { processing: 10 } });
    expect(ok.messages.m).toEqual({ args: [{ name: 'ip', expr: 'src' }, { name: '', expr: 'dst' }], event: 'on-frontend-http-request', if: '{ src 127.0.0.1 }' });
  });
});

describe('SPOE from native YAML, and option spop-check', () => {
  let agent: Agent;
  let up: Recorder;
  let dir: string;
  beforeAll(async () => {
    agent = await startAgent();
    up = await startRecorder();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-spoe-yaml-'));
  });
  afterAll(async () => {
    await agent?.stop();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('variables the agent sets drive the rules; names the config never mentions are ignored unless registered', async () => {
    const { spoe } = writeConfigs(dir, { front: 1, upstream: up.port, agent: agent.port, extraAgent: 'register-var-names extra_never_sent' });
    const gw = await startTestGateway({
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          spoe: [{ engine: 'myspoe', config: spoe }],
          spoeGroups: [{ engine: 'myspoe', group: 'tagging', unless: '{ path_beg /notag }' }],
          httpRequest: [
            { action: 'deny', if: '{ var(sess.myspoe.ip_score) -m int gt 20 }' },
            { action: 'set-header', name: 'x-ip-score', value: '%[var(sess.myspoe.ip_score)]' },
            { action: 'set-header', name: 'x-seen-ip', value: '%[var(txn.myspoe.seen_ip)]' },
            { action: 'set-header', name: 'x-tag', value: '%[var(txn.myspoe.tag)]' },
            { action: 'set-header', name: 'x-spoe-error', value: '%[var(txn.myspoe.unregistered)]' },
          ],
        },
      },
      backends: {
        app: { servers: [{ address: `127.0.0.1:${up.port}` }] },
        agents: { mode: 'tcp', servers: [{ address: `127.0.0.1:${agent.port}` }] },
      },
    });
    try {
      up.seen.length = 0;
      const get = async (p: string): Promise<number> => {
        const res = await request(gw.url(p));
        await res.body.text();
        return res.statusCode;
      };
      expect(await get('/x?score=3')).toBe(200);
      expect(await get('/x?score=30')).toBe(403);
      expect(await get('/notag?score=4')).toBe(200);
      // txn.myspoe.unregistered is mentioned here (x-spoe-error), so it is registered and set
      expect(up.seen).toEqual([
        { path: '/x?score=3', ipScore: '3', seenIp: '127.0.0.1', tag: 'm-GET', err: 'x' },
        { path: '/notag?score=4', ipScore: '4', seenIp: '127.0.0.1', tag: '', err: 'x' },
      ]);
    } finally {
      await gw.stop();
    }
  });

  it('the engine written in YAML instead of a SPOE file works the same', async () => {
    const gw = await startTestGateway({
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          spoe: [{
            engine: 'myspoe',
            agent: { name: 'my-agent', messages: ['check-client'], groups: ['tagging'], varPrefix: 'myspoe', useBackend: 'agents', timeouts: { processing: '500ms' }, setOnError: 'err' },
            messages: {
              'check-client': { args: ['ip=src', 'path=url'], event: 'on-frontend-http-request' },
              'tag-request': { args: ['method=method', 'path=url'] },
            },
            groups: { tagging: ['tag-request'] },
          }],
          spoeGroups: [{ engine: 'myspoe', group: 'tagging' }],
          httpRequest: [
            { action: 'deny', if: '{ var(sess.myspoe.ip_score) -m int gt 20 }' },
            { action: 'set-header', name: 'x-ip-score', value: '%[var(sess.myspoe.ip_score)]' },
            { action: 'set-header', name: 'x-seen-ip', value: '%[var(txn.myspoe.seen_ip)]' },
            { action: 'set-header', name: 'x-tag', value: '%[var(txn.myspoe.tag)]' },
            { action: 'set-header', name: 'x-spoe-error', value: '%[var(txn.myspoe.err)]' },
          ],
        },
      },
      backends: { app: { servers: [{ address: `127.0.0.1:${up.port}` }] }, agents: { mode: 'tcp', servers: [{ address: `127.0.0.1:${agent.port}` }] } },
    });
    try {
      up.seen.length = 0;
      for (const [p, want] of [['/i?score=2', 200], ['/i?score=22', 403], ['/slow?score=1', 200]] as const) {
        const res = await request(gw.url(p), { reset: true });
        await res.body.text();
        expect([p, res.statusCode]).toEqual([p, want]);
      }
      expect(up.seen).toEqual([
        { path: '/i?score=2', ipScore: '2', seenIp: '127.0.0.1', tag: 'm-GET', err: '' },
        { path: '/slow?score=1', ipScore: '', seenIp: '', tag: '', err: '1' },
      ]);
    } finally {
      await gw.stop();
    }
    await expect(startTestGateway({
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', spoe: [{ agent: { name: 'a', useBackend: 'agents', messages: ['nope'] } }] } },
      backends: { app: { servers: [{ address: `127.0.0.1:${up.port}` }] }, agents: { mode: 'tcp', servers: [{ address: `127.0.0.1:${agent.port}` }] } },
    })).rejects.toThrow(/spoe-agent a: message "nope" is not defined.*SWY_ERR_SPOE_BAD_CONFIG/s);
  });

  it('an unmentioned variable name is dropped, as HAProxy drops it', async () => {
    const { spoe } = writeConfigs(dir, { front: 1, upstream: up.port, agent: agent.port });
    const gw = await startTestGateway({
      frontends: {
        web: {
          bind: '127.0.0.1:0', defaultBackend: 'app', spoe: [{ engine: 'myspoe', config: spoe }],
          httpRequest: [{ action: 'set-header', name: 'x-ip-score', value: '%[var(sess.myspoe.ip_score)]' }],
        },
      },
      backends: { app: { servers: [{ address: `127.0.0.1:${up.port}` }] }, agents: { mode: 'tcp', servers: [{ address: `127.0.0.1:${agent.port}` }] } },
    });
    try {
      let vars: Map<string, unknown> | undefined;
      gw.gateway.hooks.forward.tap({ name: 'spy', stage: -1000 }, (ex) => {
        vars = new Map(ex.vars);
        return undefined;
      });
      const res = await request(gw.url('/y?score=9'));
      await res.body.text();
      expect(vars?.get('sess.myspoe.ip_score')).toBe(9);
      expect(vars?.has('txn.myspoe.unregistered')).toBe(false);
      expect(vars?.has('txn.myspoe.seen_ip')).toBe(false); // not mentioned in this config either
    } finally {
      await gw.stop();
    }
  });

  it('a bad SPOE file or a missing group is refused with the file and line', async () => {
    const bad = path.join(dir, 'bad.conf');
    fs.writeFileSync(bad, '[e]\nspoe-agent a\n  use-backend agents\n  frobnicate\n');
    const base = { backends: { app: { servers: [{ address: `127.0.0.1:${up.port}` }] }, agents: { mode: 'tcp', servers: [{ address: `127.0.0.1:${agent.port}` }] } } };
    await expect(startTestGateway({ ...base, frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', spoe: [{ engine: 'e', config: bad }] } } }))
      .rejects.toThrow(/bad\.conf:4: unknown spoe-agent directive "frobnicate".*SWY_ERR_SPOE_BAD_CONFIG/s);
    const { spoe } = writeConfigs(dir, { front: 1, upstream: up.port, agent: agent.port });
    await expect(startTestGateway({ ...base, frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', spoe: [{ engine: 'myspoe', config: spoe }], spoeGroups: [{ engine: 'myspoe', group: 'nope' }] } } }))
      .rejects.toThrow(/send-spoe-group: group "nope" is not among agent my-agent's groups \(tagging\).*SWY_ERR_SPOE_UNKNOWN_GROUP/s);
  });

  it('haproxy.cfg http-response send-spoe-group is refused with its own reason and line', () => {
    const file = path.join(dir, 'resp.cfg');
    fs.writeFileSync(file, ['defaults', '  mode http', 'frontend f', '  bind 127.0.0.1:1', '  http-response send-spoe-group e g', '  default_backend b', 'backend b', '  server s 127.0.0.1:2', ''].join('\n'));
    const logger = pino({ level: 'warn' }, { write: () => undefined } as unknown as NodeJS.WritableStream);
    let err: (Error & { location?: { file?: string; line?: number } }) | undefined;
    try {
      loadConfig({ file }, { logger });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.message).toMatch(/^http-response send-spoe-group e g — http-response send-spoe-group is not supported: SPOE messages are sent on requests only/);
    expect(err?.location).toMatchObject({ file, line: 5 });
  });

  it('haproxy.cfg option spop-check: the agent server is UP while the agent answers HELLO, DOWN once it is gone', async () => {
    const own = await startAgent();
    const front = await freePort();
    const file = path.join(dir, 'check.cfg');
    fs.writeFileSync(file, [
      'defaults', '  mode tcp', '  timeout connect 1s', '  timeout client 5s', '  timeout server 5s',
      'frontend f', `  bind 127.0.0.1:${front}`, '  default_backend agents',
      'backend agents', '  option spop-check', `  server a1 127.0.0.1:${own.port} check inter 100ms rise 1 fall 1`, '',
    ].join('\n'));
    const logger = pino({ level: 'warn' }, { write: () => undefined } as unknown as NodeJS.WritableStream);
    const loaded = loadConfig({ file }, { logger });
    expect((loaded.config.backends.agents as unknown as { healthCheck: { type: string } }).healthCheck.type).toBe('spop-check');
    const gw = await Gateway.start(loaded, { logger });
    try {
      const s = gw.backends.get('agents')!.servers[0]!;
      const until = async (what: string, cond: () => boolean): Promise<void> => {
        const deadline = Date.now() + 5000;
        while (!cond()) {
          if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until('a HELLO with healthcheck=true', () => own.events.some((e) => (e.hello as Record<string, unknown> | undefined)?.healthcheck === true));
      await until('up', () => s.health === 'up');
      await own.stop();
      await until('down', () => s.health === 'down');
    } finally {
      await gw.stop(0);
      await own.stop();
    }
  });
});
