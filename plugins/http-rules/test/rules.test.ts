/**
 * http-request / http-response rules through real sockets: what the client gets and what
 * the server sees (or never sees).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { isolatedGateway, send } from '../../acl/test/client';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-rules-'));
fs.writeFileSync(path.join(dir, 'maintenance.html'), '<h1>back soon</h1>\n');

let up: Upstream;
let gw: TestGateway;
const port = (): number => gw.port('web');
const lastSeen = () => up.requests[up.requests.length - 1]!;

beforeAll(async () => {
  up = await startUpstream({
    name: 'app',
    handler: (req, res) => {
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'text/plain', server: 'app/1.0', 'x-internal': 'secret' };
      if (req.url?.startsWith('/missing')) {
        res.writeHead(404, headers);
        res.end('nope');
        return;
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify({ url: req.url, method: req.method }));
    },
  });
  gw = await startTestGateway({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules'],
    global: { logLevel: 'warn' },
    frontends: {
      web: {
        bind: ['127.0.0.1:0', '[::1]:0'],
        acls: { is_admin: 'path_beg /admin', from_office: 'src 10.0.0.0/8 ::1' },
        httpRequest: [
          { action: 'deny', if: 'is_admin !from_office' },
          { action: 'deny', status: 429, body: 'slow down\n', contentType: 'text/plain', if: 'hdr(x-abuse) -m found' },
          { action: 'allow', if: 'path /allowed' },
          { action: 'redirect', location: 'https://www.example.com/new', code: 301, if: 'path /old' },
          { action: 'redirect', prefix: 'https://mirror.example', if: 'path_beg /mirror' },
          { action: 'redirect', scheme: 'https', code: 308, if: 'path_beg /secure' },
          { action: 'redirect', location: 'https://%[host]/login?from=%[url_param(next)]', if: 'path /go' },
          { action: 'return', status: 503, file: path.join(dir, 'maintenance.html'), contentType: 'text/html', if: 'path /maintenance' },
          { action: 'return', status: 200, contentType: 'application/json', body: '{"you":"%[src]"}', headers: { 'x-from': 'gateway' }, if: 'path /whoami' },
          { action: 'set-var', name: 'txn.user', value: '%[hdr(x-user),lower]' },
          { action: 'set-header', name: 'X-User', value: 'user=%[var(txn.user)]', if: 'var(txn.user) -m found' },
          { action: 'add-header', name: 'X-Added', value: 'two' },
          { action: 'set-header', name: 'X-Outside', value: 'yes', unless: 'from_office' },
          { action: 'set-method', value: 'POST', if: 'path /to-post' },
          { action: 'del-header', name: 'X-Remove-Me' },
          { action: 'replace-header', name: 'X-Token', match: '^Bearer (.*)$', replace: 'Token \\1' },
          { action: 'set-header', name: 'X-Decoded', value: '%[url_param(v),url_dec]', if: 'path /inject' },
          { action: 'redirect', location: 'https://x.example/?n=%[url_param(next),url_dec]', if: 'path /go-decoded' },
          { action: 'replace-path', match: '^/v1/(.*)$', replace: '/api/$1' },
          { action: 'set-path', value: '/rewritten', if: 'path /set-me' },
          { action: 'set-query', value: 'page=1', if: 'path /q' },
          { action: 'deny', status: 451, if: 'path /api/deny-after-rewrite' },
        ],
        httpResponse: [
          { action: 'del-header', name: 'x-internal' },
          { action: 'add-header', name: 'Vary', value: 'X-User' },
          { action: 'replace-header', name: 'Content-Type', match: '^text/(.*)$', replace: 'application/x-$1', if: 'res.hdr(content-type) -m beg text/' },
          { action: 'set-header', name: 'Server', value: 'switchyard' },
          { action: 'set-header', name: 'X-Status-Was', value: '%[status]' },
          { action: 'set-status', status: 410, reason: 'Gone Forever', if: 'status 404' },
          { action: 'set-header', name: 'X-Bad', value: '%[url_param(v),url_dec]', if: 'path /resp-inject' },
        ],
        defaultBackend: 'app',
      },
    },
    backends: { app: { servers: [{ address: up.address }] } },
  });
});

afterAll(async () => {
  await gw?.stop();
  await up?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('deny: the client gets 403 and the server never sees the request', async () => {
  const before = up.hits;
  const res = await send(port(), '/admin/panel');
  expect(res.status).toBe(403);
  expect(res.body).toContain('403');
  expect(up.hits).toBe(before);
});

test('deny does not apply when the condition is false (IPv6 office address)', async () => {
  const res = await send(gw.gateway.address('web', 1).port, '/admin/panel', { host: '::1' });
  expect(res.status).toBe(200);
  expect(lastSeen().url).toBe('/admin/panel');
});

test('deny with status, body and content type', async () => {
  const before = up.hits;
  const res = await send(port(), '/x', { headers: { 'x-abuse': '1' } });
  expect(res.status).toBe(429);
  expect(res.body).toBe('slow down\n');
  expect(res.headers['content-type']).toBe('text/plain');
  expect(up.hits).toBe(before);
});

test('allow stops the remaining http-request rules', async () => {
  const res = await send(port(), '/allowed', { headers: { 'x-remove-me': 'still here' } });
  expect(res.status).toBe(200);
  expect(lastSeen().headers['x-remove-me']).toBe('still here');
  expect(lastSeen().headers['x-added']).toBeUndefined();
});

test('redirect location with code', async () => {
  const res = await send(port(), '/old');
  expect(res.status).toBe(301);
  expect(res.headers.location).toBe('https://www.example.com/new');
});

test('redirect prefix keeps path and query', async () => {
  const res = await send(port(), '/mirror/a?b=1');
  expect(res.status).toBe(302);
  expect(res.headers.location).toBe('https://mirror.example/mirror/a?b=1');
});

test('redirect scheme keeps host, path and query', async () => {
  const res = await send(port(), '/secure/x?y=2', { headers: { host: 'shop.example' } });
  expect(res.status).toBe(308);
  expect(res.headers.location).toBe('https://shop.example/secure/x?y=2');
});

test('redirect location built from fetches', async () => {
  const res = await send(port(), '/go?next=cart', { headers: { host: 'shop.example' } });
  expect(res.status).toBe(302);
  expect(res.headers.location).toBe('https://shop.example/login?from=cart');
});

test('return a file with a content type', async () => {
  const before = up.hits;
  const res = await send(port(), '/maintenance');
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toBe('text/html');
  expect(res.body).toBe('<h1>back soon</h1>\n');
  expect(up.hits).toBe(before);
});

test('return an inline body with fetches and headers', async () => {
  const res = await send(port(), '/whoami');
  expect(res.status).toBe(200);
  expect(res.headers['x-from']).toBe('gateway');
  expect(JSON.parse(res.body)).toEqual({ you: '127.0.0.1' });
});

test('set-var, set-header, add-header, del-header, replace-header are what the server sees', async () => {
  const res = await send(port(), '/h', {
    headers: { 'x-user': 'ALICE', 'x-added': 'one', 'x-remove-me': 'gone', 'x-token': 'Bearer abc' },
  });
  expect(res.status).toBe(200);
  const seen = lastSeen().headers;
  expect(seen['x-user']).toBe('user=alice');
  expect(seen['x-added']).toBe('one, two');
  expect(seen['x-remove-me']).toBeUndefined();
  expect(seen['x-token']).toBe('Token abc');
  expect(seen['x-outside']).toBe('yes');
});

test('unless: the rule is skipped when the condition holds (IPv6 office client)', async () => {
  await send(gw.gateway.address('web', 1).port, '/h', { host: '::1' });
  expect(lastSeen().headers['x-outside']).toBeUndefined();
});

test('set-method changes the method the server sees', async () => {
  await send(port(), '/to-post');
  expect(lastSeen().method).toBe('POST');
});

test('replace-path, set-path and set-query rewrite what the server sees', async () => {
  await send(port(), '/v1/users?id=3');
  expect(lastSeen().url).toBe('/api/users?id=3');
  await send(port(), '/set-me?keep=1');
  expect(lastSeen().url).toBe('/rewritten?keep=1');
  await send(port(), '/q?old=1');
  expect(lastSeen().url).toBe('/q?page=1');
});

test('later rules see earlier rewrites (deny after replace-path)', async () => {
  const before = up.hits;
  const res = await send(port(), '/v1/deny-after-rewrite');
  expect(res.status).toBe(451);
  expect(up.hits).toBe(before);
});

test('http-response rules: headers and status the client sees', async () => {
  const ok = await send(port(), '/fine');
  expect(ok.status).toBe(200);
  expect(ok.headers.server).toBe('switchyard');
  expect(ok.headers['x-internal']).toBeUndefined();
  expect(ok.headers['x-status-was']).toBe('200');
  expect(ok.headers.vary).toBe('X-User');
  expect(ok.headers['content-type']).toBe('application/x-plain');
  const gone = await send(port(), '/missing');
  expect(gone.status).toBe(410);
  expect(gone.headers['x-status-was']).toBe('404');
});

test('a request header built with CR/LF at run time fails that request only (400); the server never sees it', async () => {
  const before = up.hits;
  const res = await send(port(), '/inject?v=a%0d%0aX-Injected:%201');
  expect(res.status).toBe(400);
  expect(up.hits).toBe(before);
  const after = await send(port(), '/inject?v=fine');
  expect(after.status).toBe(200);
  expect(lastSeen().headers['x-decoded']).toBe('fine');
});

test('a redirect Location with CR/LF from the request is refused with 400', async () => {
  const res = await send(port(), '/go-decoded?next=x%0d%0aSet-Cookie:%20a=1');
  expect(res.status).toBe(400);
  expect(res.headers['set-cookie']).toBeUndefined();
});

test('a response header that would carry CR/LF answers 500 for that request only', async () => {
  const res = await send(port(), '/resp-inject?v=a%0d%0aX-Evil:%201');
  expect(res.status).toBe(500);
  expect(res.headers['x-evil']).toBeUndefined();
  expect(res.body).toContain('500');
  const ok = await send(port(), '/resp-inject?v=good');
  expect(ok.status).toBe(200);
  expect(ok.headers['x-bad']).toBe('good');
});

test('CR/LF in a configured header value is refused at load', async () => {
  await expect(
    isolatedGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', httpRequest: [{ action: 'set-header', name: 'X-A', value: 'a\r\nX-B: b' }] } },
      backends: { app: { servers: [{ address: up.address }] } },
    }),
  ).rejects.toMatchObject({ code: 'SWY_ERR_RULES_BAD_HEADER' });
});
