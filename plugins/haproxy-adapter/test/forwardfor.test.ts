/**
 * `option forwardfor` and its arguments, differentially: the same file and requests to
 * HAProxy and Switchyard; the server must see the same forwarding headers (appended, never
 * replaced; only X-Forwarded-For; explicit rules left alone).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { tmpDir, waitFor } from './helpers';

const HAPROXY = '/usr/sbin/haproxy';
const dir = tmpDir('forwardfor');

const FRONTENDS: Array<[string, string]> = [
  ['plain', 'option forwardfor'],
  ['except', 'option forwardfor except 127.0.0.0/8'],
  ['header', 'option forwardfor header X-Client'],
  ['ifnone', 'option forwardfor if-none'],
  ['explicit', 'option forwardfor\n    http-request set-header X-Forwarded-Proto https'],
];

function cfg(ports: number[], up: number): string {
  const fes = FRONTENDS.map(([name, lines], i) => `frontend ${name}\n    bind 127.0.0.1:${ports[i]}\n    ${lines}\n    default_backend be\n`);
  return `defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n${fes.join('')}backend be\n    server s1 127.0.0.1:${up}\n`;
}

(fs.existsSync(HAPROXY) ? describe : describe.skip)('option forwardfor as HAProxy does it', () => {
  let up: Upstream;
  let hp: ChildProcess | undefined;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    up = await startUpstream({ name: 'up' });
  });
  afterAll(async () => {
    await gw?.stop();
    if (hp?.pid !== undefined && hp.exitCode === null) {
      const exited = new Promise((r) => hp!.once('exit', r));
      process.kill(hp.pid, 'SIGTERM');
      await exited;
    }
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function seen(port: number, withXff: boolean): Promise<Record<string, unknown>> {
    const before = up.requests.length;
    const r = await request(`http://127.0.0.1:${port}/`, { headers: withXff ? { 'x-forwarded-for': '203.0.113.7', 'x-client': '198.51.100.1' } : {} });
    await r.body.text();
    const h = up.requests[before]!.headers;
    return { xff: h['x-forwarded-for'], client: h['x-client'], proto: h['x-forwarded-proto'], host: h['x-forwarded-host'] };
  }

  it('sends the server the same forwarding headers', async () => {
    const hports = await Promise.all(FRONTENDS.map(() => freePort()));
    const hfile = path.join(dir, 'h.cfg');
    fs.writeFileSync(hfile, cfg(hports, up.port));
    hp = spawn(HAPROXY, ['-f', hfile, '-db'], { stdio: ['ignore', 'ignore', 'ignore'] });
    const open = (p: number) => new Promise<boolean>((resolve) => net.connect(p, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    expect(await waitFor(async () => (await Promise.all(hports.map(open))).every(Boolean), 10000)).toBe(true);
    const sfile = path.join(dir, 's.cfg');
    fs.writeFileSync(sfile, cfg(FRONTENDS.map(() => 0), up.port));
    gw = await startTestGateway(fs.readFileSync(sfile, 'utf8'), { file: sfile });
    for (const [i, [name]] of FRONTENDS.entries()) {
      for (const withXff of [false, true]) {
        const fromHaproxy = await seen(hports[i]!, withXff);
        const fromSwitchyard = await seen(gw.port(name), withXff);
        expect({ name, withXff, ...fromSwitchyard }).toEqual({ name, withXff, ...fromHaproxy });
      }
    }
  }, 40000);
});
