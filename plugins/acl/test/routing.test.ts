/**
 * Backend choice through real sockets: useBackend in order, map files and inline maps,
 * plain routes (host, wildcard host, path prefix, stripPrefix, most specific first),
 * defaultBackend (config errors: errors.test.ts; `switchyard explain`: explain.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { send } from './client';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-routing-'));
const names = ['api', 'web', 'static', 'cart', 'org', 'docs', 'special', 'shopmap'];
const ups = new Map<string, Upstream>();
let gw: TestGateway;
let configFile = '';

function yaml(): string {
  const backends = names.map((n) => `  ${n}:\n    servers: [{ name: s1, address: "${ups.get(n)!.address}" }]`).join('\n');
  return `plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules']
global: { logLevel: warn }
frontends:
  web:
    bind: 127.0.0.1:0
    acls:
      is_api: path_beg /api
      is_internal: src 10.0.0.0/8
    httpRequest:
      - { action: deny, if: '{ path_beg /admin } !is_internal' }
      - { action: replace-path, match: '^/legacy-docs(.*)$', replace: '/docs$1' }
    useBackend:
      - { backend: api, if: is_api }
      - { map: { file: hosts.map, key: host } }
      - { map: { entries: { /static: static }, key: path, match: beg } }
    routes:
      - { host: shop.example, path: /cart, backend: cart, stripPrefix: true }
      - { host: '*.example.org', backend: org }
      - { path: /docs, backend: docs }
      - { host: shop.example, path: /cart/special, backend: special }
    defaultBackend: web
backends:
${backends}
`;
}

beforeAll(async () => {
  for (const n of names) ups.set(n, await startUpstream({ name: n }));
  fs.writeFileSync(path.join(dir, 'hosts.map'), '# host → backend\nshop.map.example shopmap\nSTATIC.example static\n');
  configFile = path.join(dir, 'gw.yaml');
  fs.writeFileSync(configFile, yaml());
  gw = await startTestGateway(yaml(), { file: configFile });
});

afterAll(async () => {
  await gw?.stop();
  for (const u of ups.values()) await u.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const via = async (p: string, host = 'www.example'): Promise<{ upstream: string | undefined; url: string }> => {
  const res = await send(gw.port(), p, { headers: { host } });
  expect(res.status).toBe(200);
  const name = res.headers['x-upstream'] as string | undefined;
  const u = name ? ups.get(name)! : undefined;
  return { upstream: name, url: u ? u.requests[u.requests.length - 1]!.url : '' };
};

test('useBackend rules come first, in order', async () => {
  expect((await via('/api/users', 'shop.map.example')).upstream).toBe('api');
});

test('map file: host → backend, case-insensitive', async () => {
  expect((await via('/x', 'shop.map.example:8080')).upstream).toBe('shopmap');
  expect((await via('/x', 'static.example')).upstream).toBe('static');
});

test('inline map with prefix match', async () => {
  expect((await via('/static/app.css')).upstream).toBe('static');
});

test('routes: host + path prefix with stripPrefix; the most specific route wins', async () => {
  expect(await via('/cart/items?id=1', 'shop.example')).toEqual({ upstream: 'cart', url: '/items?id=1' });
  expect(await via('/cart', 'shop.example')).toEqual({ upstream: 'cart', url: '/' });
  expect((await via('/cart/special/x', 'shop.example')).upstream).toBe('special');
  expect((await via('/cartoon', 'shop.example')).upstream).toBe('web');
});

test('routes: wildcard host and any-host path', async () => {
  expect((await via('/', 'a.example.org')).upstream).toBe('org');
  expect((await via('/', 'example.org')).upstream).toBe('web');
  expect((await via('/docs/intro')).upstream).toBe('docs');
});

test('routes see the path as http-request rules rewrote it', async () => {
  expect(await via('/legacy-docs/intro')).toEqual({ upstream: 'docs', url: '/docs/intro' });
});

test('defaultBackend when nothing matches', async () => {
  expect((await via('/elsewhere')).upstream).toBe('web');
});

