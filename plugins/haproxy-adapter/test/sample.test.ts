/**
 * HAProxy's sample language, differentially: one haproxy.cfg sets one request header per
 * expression (`http-request set-header X-E<n> "%[<expr>]"`) and one per ACL
 * (`... if <acl>`); HAProxy and Switchyard get the same file and the same request, and the
 * server must receive the same headers from both.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { tmpDir, waitFor } from './helpers';

const HAPROXY = '/usr/sbin/haproxy';
const dir = tmpDir('sample');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const EXPRESSIONS = [
  'req.hdr(host),lower',
  'path,word(2,/)',
  'path,word(-1,/)',
  'path,field(3,/)',
  'str(a.b..c),field(3,.)',
  'str(a.b..c),word(3,.)',
  'path,regsub(^/api,/v2)',
  'path,regsub(o,0,g)',
  'req.hdr(x-name),base64',
  'req.hdr(x-b64),b64dec',
  'req.hdr(x-name),hex',
  'req.hdr(x-name),sha1,hex',
  'req.hdr(x-name),sha2,hex',
  'req.hdr(x-name),crc32',
  'req.hdr(x-name),crc32(1)',
  'req.hdr(x-name),djb2',
  'req.hdr(x-name),djb2(1)',
  'req.hdr(x-name),bytes(1,3)',
  'req.hdr(x-name),length',
  'req.hdr(x-quote),json',
  'src,ipmask(24)',
  'req.hdr(host),map(MAP)',
  'req.hdr(x-none),map(MAP,fallback)',
  'path,map_beg(MAPBEG)',
  'src,map_ip(MAPIP)',
  'req.hdr(x-name),lower,upper',
  'capture.req.uri',
  'capture.req.method',
  'pathq',
  'req.ver',
  'req.hdr_cnt(x-multi)',
  'hdr_cnt(x-multi)',
  'req.fhdr_cnt(x-multi)',
  'url_param(q)',
  'query',
  'path,ltrim(/)',
  'path,rtrim(/)',
];

const ACLS = [
  'HTTP_1.1',
  'HTTP_1.0',
  'HTTP_URL_SLASH',
  'METH_GET',
  '{ req.hdr_cnt(x-multi) gt 1 }',
  '{ path,word(1,/) -m str api }',
  '{ req.hdr(x-name),map(MAP) -m found }',
  '{ req.hdr(host),map(MAP) -m found }',
  '{ always_true }',
];

function config(port: number, upPort: number, maps: Record<string, string>): string {
  const sub = (e: string) => e.replace(/\b(MAPBEG|MAPIP|MAP)\b/g, (m) => maps[m]!);
  const lines = EXPRESSIONS.map((e, i) => `    http-request set-header X-E${i} "%[${sub(e)}]"`);
  const acls = ACLS.map((a, i) => `    http-request set-header X-A${i} yes if ${sub(a)}`);
  return `defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind 127.0.0.1:${port}
${lines.join('\n')}
${acls.join('\n')}
    default_backend be
backend be
    server s1 127.0.0.1:${upPort}
`;
}

(fs.existsSync(HAPROXY) ? describe : describe.skip)('sample fetches, converters and predefined ACLs agree with HAProxy', () => {
  let up: Upstream;
  let haproxy: ChildProcess | undefined;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    up = await startUpstream({ name: 'up' });
  });
  afterAll(async () => {
    await gw?.stop();
    if (haproxy?.pid !== undefined && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy!.once('exit', r));
      process.kill(haproxy.pid, 'SIGTERM');
      await exited;
    }
    await up.close();
  });

  async function seen(port: number): Promise<Record<string, unknown>> {
    const before = up.requests.length;
    const r = await request(`http://127.0.0.1:${port}/api/Foo/bar/?q=1&r=2`, {
      headers: { host: 'WWW.Example.com', 'x-name': 'Hello World', 'x-b64': 'aGVsbG8=', 'x-quote': 'a"b\\c/d\te', 'x-multi': ['one, two', 'three'] },
    });
    await r.body.text();
    expect(r.statusCode).toBe(200);
    const h = up.requests[before]!.headers;
    return Object.fromEntries(Object.entries(h).filter(([k]) => /^x-[ea]\d+$/.test(k)));
  }

  it('sends the server the same headers', async () => {
    const maps = { MAP: path.join(dir, 'hosts.map'), MAPBEG: path.join(dir, 'paths.map'), MAPIP: path.join(dir, 'nets.map') };
    fs.writeFileSync(maps.MAP, '# hosts\nwww.example.com  site-www\napi.example.com site-api\n\n');
    fs.writeFileSync(maps.MAPBEG, '/api be_api\n/api/Foo be_foo\n/ be_root\n');
    fs.writeFileSync(maps.MAPIP, '10.0.0.0/8 ten\n127.0.0.0/8 loop\n127.0.0.1 me\n');
    const hport = await freePort();
    const file = path.join(dir, 'sample.cfg');
    fs.writeFileSync(file, config(hport, up.port, maps));
    haproxy = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    haproxy.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const open = (p: number) => new Promise<boolean>((resolve) => net.connect(p, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    const ok = await waitFor(async () => (await open(hport)) || haproxy!.exitCode !== null, 10000);
    expect({ ok, exit: haproxy.exitCode, err: haproxy.exitCode === null ? '' : err }).toEqual({ ok: true, exit: null, err: '' });
    const fromHaproxy = await seen(hport);
    const swFile = path.join(dir, 'sample-sw.cfg');
    fs.writeFileSync(swFile, config(0, up.port, maps));
    gw = await startTestGateway(fs.readFileSync(swFile, 'utf8'), { file: swFile });
    const fromSwitchyard = await seen(gw.port());
    const named = (o: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k.startsWith('x-e') ? EXPRESSIONS[Number(k.slice(3))] : ACLS[Number(k.slice(3))], v]));
    expect(named(fromSwitchyard)).toEqual(named(fromHaproxy));
  }, 30000);
});
