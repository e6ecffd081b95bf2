/**
 * http-after-response (HAProxy): rules after httpResponse, the backend's before the frontend's;
 * and the haproxy.cfg lines that produce them.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

let up: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  up = await startUpstream({ name: 'app', handler: (req, res) => res.writeHead(req.url === '/missing' ? 404 : 200, { 'x-from-server': 'yes', 'content-type': 'text/plain' }).end('ok') });
  gw = await startTestGateway({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules'],
    global: { logLevel: 'warn' },
    frontends: {
      web: {
        bind: '127.0.0.1:0',
        defaultBackend: 'app',
        httpResponse: [{ action: 'set-header', name: 'x-order', value: 'response' }],
        httpAfterResponse: [
          { action: 'add-header', name: 'x-order', value: 'frontend-after' },
          { action: 'set-header', name: 'x-path', value: '%[path]' },
          { action: 'del-header', name: 'x-from-server' },
          { action: 'set-status', status: 299, reason: 'Fine', if: '{ path /status }' },
          { action: 'allow', if: '{ path /allow }' },
          { action: 'set-header', name: 'x-after-allow', value: 'ran' },
        ],
      },
    },
    backends: {
      app: {
        servers: [{ address: up.address }],
        httpAfterResponse: [{ action: 'add-header', name: 'x-order', value: 'backend-after' }],
      },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await up?.close();
});

it('runs after httpResponse, the backend\'s rules first, with conditions, and allow stops them', async () => {
  const r = await request(gw.url('/a'));
  await r.body.dump();
  expect(r.statusCode).toBe(200);
  expect(r.headers['x-order']).toEqual(['response', 'backend-after', 'frontend-after']);
  expect(r.headers['x-path']).toBe('/a');
  expect(r.headers['x-from-server']).toBeUndefined();
  expect(r.headers['x-after-allow']).toBe('ran');
  const s = await request(gw.url('/status'));
  await s.body.dump();
  expect(s.statusCode).toBe(299);
  const a = await request(gw.url('/allow'));
  await a.body.dump();
  expect(a.headers['x-after-allow']).toBeUndefined();
  expect(a.headers['x-path']).toBe('/allow');
});

it('haproxy.cfg http-after-response lines become httpAfterResponse rules', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-after-'));
  const file = path.join(dir, 'h.cfg');
  fs.writeFileSync(
    file,
    'defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n' +
      'frontend fe\n  bind 127.0.0.1:0\n  http-request set-var(txn.input) req.hdr(input),lower\n  http-after-response set-header x-a %[path] if { path /x }\n  http-after-response del-header server\n  default_backend be\n' +
      'backend be\n  http-after-response set-status 502\n  server s1 127.0.0.1:9\n',
  );
  const cli = path.resolve(__dirname, '..', '..', '..', 'core', 'bin', 'switchyard.js');
  const child = spawn(process.execPath, [cli, 'adapt', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  expect(await new Promise((r) => child.once('exit', r))).toBe(0);
  expect(out).toMatch(/httpAfterResponse:\n\s+- action: set-header\n\s+name: x-a\n\s+value: "%\[path\]"\n\s+if: "\{ path \/x \}"/);
  expect(out).toMatch(/- action: del-header\n\s+name: server/);
  // set-var takes a sample expression: it is evaluated, not stored as text.
  expect(out).toMatch(/- action: set-var\n\s+name: txn\.input\n\s+value: "%\[req\.hdr\(input\),lower\]"/);
  expect(out).toMatch(/backends:\n\s+be:[\s\S]*httpAfterResponse:\n\s+- action: set-status\n\s+status: 502/);
  fs.rmSync(dir, { recursive: true, force: true });
});
