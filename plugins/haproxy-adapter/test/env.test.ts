/**
 * Environment variables as HAProxy 2.6 expands them (src/tools.c parse_line() for words,
 * env_expand() for addresses): the same file and environment given to HAProxy and to
 * Switchyard, the same request, the same headers out.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { formatError } from '@switchyard/sdk';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { splitWords, expandAddress } from '../src/parse';
import { adapt, tmpDir, waitFor } from './helpers';

const HAPROXY = '/usr/sbin/haproxy';
const dir = tmpDir('env');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('words (parse_line)', () => {
  const env = { A: 'alpha', EMPTY: '', TWO: 'X-Two  second', SP: 'a b' };
  const words = (line: string) => splitWords(line, '/h.cfg', 3, env, 'fe');
  it('expands inside double quotes only', () => {
    expect(words('x "$A" ${A} "${A}b" "${UNSET}" "${UNSET-5s}" "${EMPTY-d}" \'$A\'')).toEqual(['x', 'alpha', '${A}', 'alphab', '', '5s', '', '$A']);
    expect(words('x "${SP}" "${TWO[*]}"')).toEqual(['x', 'a b', 'X-Two', 'second']);
    expect(words('x "${.LINE}" "${.FILE}" "${.SECTION}"')).toEqual(['x', '3', '/h.cfg', 'fe']);
    expect(words('x "\\$A" \\$A')).toEqual(['x', '$A', '\\$A']);
  });
  it('keeps unknown backslash pairs (regexes) and decodes the escapes HAProxy knows', () => {
    expect(words('path_reg ^/api\\.v1 a\\ b "c\\"d" \\x41 "\\t"')).toEqual(['path_reg', '^/api\\.v1', 'a b', 'c"d', 'A', '\t']);
    expect(words('x "#" y # comment')).toEqual(['x', '#', 'y']);
    expect(words('x "" y')).toEqual(['x', '', 'y']);
  });
  it('refuses what HAProxy refuses, with its message and position', () => {
    expect(() => words('timeout client "$"')).toThrow(/forbidden first char in environment variable name at position 18/s);
    expect(() => words('timeout client "${T"')).toThrow(/unmatched brace in environment variable name at position 18/);
    expect(() => words('timeout client "${T[x]}"')).toThrow(/truncated or invalid word expansion sequence at position 20/);
    expect(() => words('x "abc')).toThrow(/unmatched double quote at position 3/);
  });
  it('expands $VAR and ${VAR} in addresses, quoted or not', () => {
    expect(expandAddress('$H:${P}', { H: '127.0.0.1', P: '80' })).toBe('127.0.0.1:80');
    expect(expandAddress('fd@${FD}', { FD: '3' })).toBe('fd@3');
    expect(expandAddress('${NOPE}:81', {})).toBe(':81');
  });
  it('a bare $ outside quotes and addresses is the directive\'s own error, with a hint', () => {
    let err: unknown;
    try {
      adapt('defaults\n  mode http\n  timeout client $T\nfrontend f\n  bind 127.0.0.1:0\n', '/t.cfg', { lenient: false, env: { T: '5s' } });
    } catch (e) {
      err = e;
    }
    expect(formatError(err)).toMatch(/^\/t\.cfg:3: timeout client \$T — "\$T" is not a time.*only inside double quotes/);
  });
});

const haveHaproxy = fs.existsSync(HAPROXY);
(haveHaproxy ? describe : describe.skip)('same file, same environment: HAProxy and Switchyard agree', () => {
  let up: Upstream;
  let haproxy: ChildProcess | undefined;
  let gw: TestGateway | undefined;
  const env: Record<string, string> = {};
  const cfg = (port: number, upPort: number) => `
global
    log stdout format raw local0
defaults
    mode http
    timeout client "\${SWY_ENV_TIMEOUT-5s}"
    timeout server "\${SWY_ENV_TIMEOUT-5s}"
    timeout connect "\${SWY_ENV_UNSET_TIMEOUT-5s}"
frontend fe
    bind \${SWY_ENV_HOST}:\${SWY_ENV_PORT}
    http-request set-header X-From-Env "\${SWY_ENV_NAME}"
    http-request set-header X-Joined "pre-\${SWY_ENV_NAME}-post"
    http-request set-header X-Default "\${SWY_ENV_UNSET-fallback value}"
    http-request set-header X-Literal '\${SWY_ENV_NAME}'
    http-request set-header X-Escaped "\\$SWY_ENV_NAME"
    http-request set-header "\${SWY_ENV_HDR[*]}"
    http-request set-header X-Line "\${.LINE}"
    default_backend be
backend be
    server s1 $SWY_ENV_HOST:\${SWY_ENV_UP_PORT}
`;
  beforeAll(async () => {
    up = await startUpstream({ name: 'up' });
    Object.assign(env, { SWY_ENV_TIMEOUT: '4s', SWY_ENV_HOST: '127.0.0.1', SWY_ENV_NAME: 'from env', SWY_ENV_HDR: 'X-Expanded two', SWY_ENV_UP_PORT: String(up.port) });
  });
  afterAll(async () => {
    await gw?.stop();
    if (haproxy?.pid !== undefined && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy!.once('exit', r));
      process.kill(haproxy.pid, 'SIGTERM');
      await exited;
    }
    await up.close();
    for (const k of Object.keys(env)) delete process.env[k];
  });

  async function seen(port: number): Promise<Record<string, string | string[] | undefined>> {
    const before = up.requests.length;
    const r = await request(`http://127.0.0.1:${port}/env`);
    await r.body.text();
    expect(r.statusCode).toBe(200);
    const h = up.requests[before]!.headers;
    return Object.fromEntries(['x-from-env', 'x-joined', 'x-default', 'x-literal', 'x-escaped', 'x-expanded', 'x-line'].map((k) => [k, h[k]]));
  }

  it('expands every form the same way', async () => {
    const hport = await freePort();
    const file = path.join(dir, 'env.cfg');
    fs.writeFileSync(file, cfg(hport, up.port));
    const check = spawnSync(HAPROXY, ['-c', '-f', file], { env: { ...process.env, ...env, SWY_ENV_PORT: String(hport) }, encoding: 'utf8' });
    expect(check.status).toBe(0);
    haproxy = spawn(HAPROXY, ['-f', file, '-db'], { env: { ...process.env, ...env, SWY_ENV_PORT: String(hport) }, stdio: ['ignore', 'ignore', 'pipe'] });
    const open = (p: number) => new Promise<boolean>((resolve) => net.connect(p, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    expect(await waitFor(() => open(hport), 10000)).toBe(true);
    const fromHaproxy = await seen(hport);

    Object.assign(process.env, env, { SWY_ENV_PORT: '0' });
    gw = await startTestGateway(fs.readFileSync(file, 'utf8'), { file });
    const fromSwitchyard = await seen(gw.port());
    expect(fromHaproxy).toEqual({ 'x-from-env': 'from env', 'x-joined': 'pre-from env-post', 'x-default': 'fallback value', 'x-literal': '${SWY_ENV_NAME}', 'x-escaped': '$SWY_ENV_NAME', 'x-expanded': 'two', 'x-line': '17' });
    expect(fromSwitchyard).toEqual(fromHaproxy);
    expect(gw.gateway.config.frontends.fe!.timeouts.client).toBe(4000);
  });
});
