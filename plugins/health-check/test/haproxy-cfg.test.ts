/**
 * The haproxy.cfg words of this plugin (contributed to the adapter through the
 * `haproxy.directive` slot), run side by side with HAProxy 2.6 itself on the same real
 * redis-server primary and replica: both must say the same thing about each server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { findBinary, RedisInstance, until } from './databases';

function config(frontPort: number, a: number, b: number, dead: number): string {
  return `global
  log stdout format raw local0

defaults
  mode tcp
  log global
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  timeout check 1s
  default-server inter 200 fall 1 rise 1

frontend redis_in
  bind 127.0.0.1:${frontPort}
  default_backend redis

backend redis
  option tcp-check
  tcp-check comment checking\\ the\\ role
  tcp-check connect
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
  tcp-check send info\\ replication\\r\\n
  tcp-check expect string role:master
  tcp-check send QUIT\\r\\n
  tcp-check expect string +OK
  server a 127.0.0.1:${a} check on-marked-down shutdown-sessions
  server b 127.0.0.1:${b} check on-marked-down shutdown-sessions
  server dead 127.0.0.1:${dead} check

backend ping
  option redis-check
  server a 127.0.0.1:${a} check
  server dead 127.0.0.1:${dead} check

backend replica_by_min_recv
  option tcp-check
  tcp-check send info\\ replication\\r\\n
  tcp-check expect min-recv 20 ! string role:slave
  server b 127.0.0.1:${b} check
`;
}

/** "Server redis/b is DOWN, reason: …, info: "…"" → "redis/b DOWN Layer7 timeout | …". */
function verdicts(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = /^Server (\S+) is (UP|DOWN), reason: ([^,]+)(?:, code: \d+)?(?:, info: "((?:[^"\\]|\\.)*)")?/.exec(l);
    if (m && !out.has(m[1]!)) out.set(m[1]!, `${m[2]} ${m[3]} | ${m[4] ?? ''}`);
  }
  return out;
}

describe('haproxy.cfg: option tcp-check, tcp-check lines, option redis-check, on-marked-down (beside HAProxy 2.6)', () => {
  const a = new RedisInstance();
  const b = new RedisInstance();
  let dir: string;
  let gw: TestGateway;
  let haproxy: ChildProcess | null = null;
  const haproxyLines: string[] = [];

  beforeAll(async () => {
    await a.start();
    await b.start(a.port);
    await until('the replica to sync', async () => (await b.command('info replication')).includes('master_link_status:up'), 10_000);
    const dead = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-hc-cfg-'));
    const ours = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(ours, config(0, a.port, b.port, dead));
    gw = await startTestGateway(fs.readFileSync(ours, 'utf8'), { file: ours });
    const theirs = path.join(dir, 'real-haproxy.cfg');
    fs.writeFileSync(theirs, config(await freePort(), a.port, b.port, dead));
    haproxy = spawn(findBinary(['haproxy'], 'haproxy'), ['-f', theirs, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    haproxy.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        haproxyLines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }, 30_000);

  afterAll(async () => {
    if (haproxy?.pid !== undefined && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy!.once('exit', r));
      process.kill(haproxy.pid, 'SIGTERM');
      await exited;
    }
    await gw?.stop();
    await Promise.all([a.destroy(), b.destroy()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adapts to the tcp-check and redis-check kinds and on-marked-down', () => {
    const be = gw.gateway.config.backends;
    expect(be.redis!.healthCheck).toMatchObject({ type: 'tcp-check', timeout: 1000 });
    expect((be.redis!.healthCheck as { tcpCheck: unknown[] }).tcpCheck).toEqual([
      { comment: 'checking the role' },
      { connect: {} },
      { send: 'PING\r\n' },
      { expect: { string: '+PONG', negate: false } },
      { send: 'info replication\r\n' },
      { expect: { string: 'role:master', negate: false } },
      { send: 'QUIT\r\n' },
      { expect: { string: '+OK', negate: false } },
    ]);
    expect(be.redis!.servers[0]).toMatchObject({ name: 'a', onMarkedDown: 'shutdown-sessions' });
    expect(be.ping!.healthCheck).toMatchObject({ type: 'redis-check' });
    expect((be.replica_by_min_recv!.healthCheck as { tcpCheck: unknown[] }).tcpCheck).toEqual([
      { send: 'info replication\r\n' },
      { expect: { minRecv: 20, negate: true, string: 'role:slave' } },
    ]);
  });

  it('says what HAProxy says about every server', async () => {
    const ids = ['redis/b', 'redis/dead', 'ping/dead', 'replica_by_min_recv/b'];
    const ourLines = (): string[] => gw.logs.map((l) => String(l.msg));
    await until('both to report every DOWN server', () => ids.every((id) => verdicts(ourLines()).has(id) && verdicts(haproxyLines).has(id)), 10_000);
    const ours = verdicts(ourLines());
    const theirs = verdicts(haproxyLines);
    for (const id of ids) expect(`${id} ${ours.get(id)}`).toBe(`${id} ${theirs.get(id)}`);
    // Spelled out, so a change on both sides still shows here.
    // The comment line applies to the connect after it only (a connect drops it, as in HAProxy).
    expect(ours.get('redis/b')).toBe("DOWN Layer7 timeout |  at step 6 of tcp-check (expect string 'role:master')");
    expect(ours.get('redis/dead')).toBe("DOWN Layer4 connection problem | Connection refused at step 2 of tcp-check (connect) comment: 'checking the role'");
    expect(ours.get('ping/dead')).toBe('DOWN Layer4 connection problem | Connection refused');
    expect(ours.get('replica_by_min_recv/b')).toBe("DOWN Layer7 invalid response | TCPCHK matched unwanted content 'role:slave' at step 2");
    expect(gw.gateway.backends.get('redis')!.server('a')!.health).toBe('up');
  });
});
