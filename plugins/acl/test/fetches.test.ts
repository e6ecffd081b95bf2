/**
 * Every fetch, match method, flag and combinator, through real sockets: each case is a
 * useBackend rule guarded by its own x-case header, so a request reaches backend `hit`
 * only when the case's condition holds, and `miss` (the defaultBackend) otherwise.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { send } from './client';

interface Case {
  name: string;
  cond: string;
  path?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  v6?: boolean;
  tls?: string;
  expect: boolean;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-acl-'));
fs.writeFileSync(path.join(dir, 'paths.lst'), '# paths from a file\n/from-file\n\n/also-from-file\n');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=acl.test', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });

const cases: Case[] = [
  // src (ip), v4 and v6
  { name: 'src exact v4', cond: 'src 127.0.0.1', expect: true },
  { name: 'src CIDR v4', cond: 'src 127.0.0.0/8', expect: true },
  { name: 'src other CIDR', cond: 'src 10.0.0.0/8 192.168.0.0/16', expect: false },
  { name: 'src v6 exact', cond: 'src ::1', v6: true, expect: true },
  { name: 'src v6 CIDR', cond: 'src ::/1', v6: true, expect: true },
  { name: 'src v6 other CIDR', cond: 'src 2001:db8::/32', v6: true, expect: false },
  { name: 'v4 block does not match v6 client', cond: 'src 127.0.0.0/8', v6: true, expect: false },
  { name: 'LOCALHOST over v6', cond: 'LOCALHOST', v6: true, expect: true },
  // dst, src_port
  { name: 'dst', cond: 'dst 127.0.0.1', expect: true },
  { name: 'dst v6', cond: 'dst ::1', v6: true, expect: true },
  { name: 'src_port', cond: 'src_port 1024:65535', expect: true },
  // dst_port (int ranges)
  { name: 'dst_port range', cond: 'dst_port 1024:65535', expect: true },
  { name: 'dst_port out of range', cond: 'dst_port 1:80', expect: false },
  { name: 'dst_port open-ended', cond: 'dst_port 1024:', expect: true },
  // method
  { name: 'method POST', cond: 'method POST PUT', method: 'POST', expect: true },
  { name: 'method GET is not POST', cond: 'method POST', expect: false },
  { name: 'METH_GET', cond: 'METH_GET', expect: true },
  // path with each match method
  { name: 'path exact', cond: 'path /a/b', path: '/a/b', expect: true },
  { name: 'path exact ignores query', cond: 'path /a/b', path: '/a/b?x=1', expect: true },
  { name: 'path exact no', cond: 'path /a', path: '/a/b', expect: false },
  { name: 'path_beg', cond: 'path_beg /api /v2', path: '/v2/users', expect: true },
  { name: 'path -m beg', cond: 'path -m beg /api', path: '/apx', expect: false },
  { name: 'path_end', cond: 'path_end .css .js', path: '/s/app.js', expect: true },
  { name: 'path_sub', cond: 'path_sub admin', path: '/x/administrator', expect: true },
  { name: 'path_dir', cond: 'path_dir b', path: '/a/b/c', expect: true },
  { name: 'path_dir not part', cond: 'path_dir b', path: '/a/bc', expect: false },
  { name: 'path_reg', cond: 'path_reg ^/item/[0-9]+$', path: '/item/42', expect: true },
  { name: 'path_reg no', cond: 'path_reg ^/item/[0-9]+$', path: '/item/4x', expect: false },
  { name: 'path_len', cond: 'path_len 5:10', path: '/abcdef', expect: true },
  { name: 'path_len no', cond: 'path_len 0:3', path: '/abcdef', expect: false },
  { name: '-i', cond: 'path_beg -i /ADMIN', path: '/admin/x', expect: true },
  { name: 'case matters without -i', cond: 'path_beg /ADMIN', path: '/admin/x', expect: false },
  { name: '-f file', cond: `path -f ${path.join(dir, 'paths.lst')}`, path: '/also-from-file', expect: true },
  { name: '-f file no', cond: `path -f ${path.join(dir, 'paths.lst')}`, path: '/other', expect: false },
  // url, query, url_param
  { name: 'url_sub', cond: 'url_sub q=1', path: '/x?q=1', expect: true },
  { name: 'url exact has query', cond: 'url /x?q=1', path: '/x?q=1', expect: true },
  { name: 'query beg', cond: 'query -m beg a=1', path: '/x?a=1&b=2', expect: true },
  { name: 'query found', cond: 'query -m found', path: '/x', expect: false },
  { name: 'url_param', cond: 'url_param(id) 42', path: '/x?a=1&id=42', expect: true },
  { name: 'urlp int', cond: 'urlp(id) -m int gt 40', path: '/x?id=41', expect: true },
  { name: 'url_param missing', cond: 'url_param(id) -m found', path: '/x?idx=1', expect: false },
  // headers
  { name: 'hdr -i', cond: 'hdr(x-test) -i HELLO', headers: { 'x-test': 'hello' }, expect: true },
  { name: 'hdr found', cond: 'hdr(x-test) -m found', headers: { 'x-test': '' }, expect: true },
  { name: 'hdr missing', cond: 'hdr(x-test) -m found', expect: false },
  { name: 'req.hdr splits at commas', cond: 'req.hdr(x-list) b', headers: { 'x-list': 'a, b' }, expect: true },
  { name: 'req.fhdr keeps the value', cond: 'req.fhdr(x-list) "a, b"', headers: { 'x-list': 'a, b' }, expect: true },
  { name: 'hdr_dom', cond: 'hdr_dom(host) example.com', headers: { host: 'www.example.com:8080' }, expect: true },
  { name: 'hdr_dom not a label', cond: 'hdr_dom(host) example.com', headers: { host: 'notexample.com' }, expect: false },
  { name: 'hdr_val', cond: 'hdr_val(x-n) ge 10', headers: { 'x-n': '12' }, expect: true },
  { name: 'hdr_len', cond: 'hdr_len(x-n) 2', headers: { 'x-n': '12' }, expect: true },
  { name: 'upper converter', cond: 'hdr(x-test),upper HELLO', headers: { 'x-test': 'hello' }, expect: true },
  { name: 'url_dec converter and a quoted pattern', cond: 'url_param(q),url_dec "a b"', path: '/x?q=a%20b', expect: true },
  { name: 'quoted pattern with -m sub', cond: 'hdr(user-agent) -m sub "Mozilla 5"', headers: { 'user-agent': 'x Mozilla 5 y' }, expect: true },
  { name: 'hdr converter', cond: 'hdr(x-test),lower hello', headers: { 'x-test': 'HeLLo' }, expect: true },
  // host
  { name: 'host without port, lower-case', cond: 'host shop.example', headers: { host: 'Shop.Example:8080' }, expect: true },
  { name: 'host absolute-form target', cond: 'host abs.example', path: 'http://abs.example/p', headers: { host: 'other.example' }, expect: true },
  { name: 'base', cond: 'base shop.example/p/q', path: '/p/q?x=1', headers: { host: 'shop.example' }, expect: true },
  { name: 'a header sent twice: any value matches', cond: 'hdr(x-dup) b', headers: { 'x-dup': ['a', 'b'] }, expect: true },
  { name: 'first converter', cond: 'hdr(x-dup),first b', headers: { 'x-dup': ['a', 'b'] }, expect: false },
  { name: 'last converter', cond: 'hdr(x-dup),last b', headers: { 'x-dup': ['a', 'b'] }, expect: true },
  // cookies
  { name: 'cookie', cond: 'cookie(sid) abc', headers: { cookie: 'a=1; sid=abc' }, expect: true },
  { name: 'cook -m len', cond: 'cook(sid) -m len 3', headers: { cookie: 'sid=abc' }, expect: true },
  { name: 'cookie missing', cond: 'cookie(sid) -m found', headers: { cookie: 'sidx=1' }, expect: false },
  // TLS
  { name: 'ssl_fc_sni', cond: 'ssl_fc_sni -i API.example', tls: 'api.example', expect: true },
  { name: 'ssl_fc', cond: 'ssl_fc', tls: 'api.example', expect: true },
  { name: 'no SNI on plain', cond: 'ssl_fc_sni -m found', expect: false },
  // combinators and named ACLs
  { name: 'named ACL', cond: 'is_api', path: '/api/x', expect: true },
  { name: 'ACL from defaults.acls', cond: 'is_js', path: '/a.js', expect: true },
  { name: 'frontend ACL replaces a defaults ACL of the same name', cond: 'is_post', path: '/', expect: false },
  { name: 'named ACL lines are ORed', cond: 'one_or_two', path: '/two', expect: true },
  { name: 'negation', cond: '!is_api', path: '/api/x', expect: false },
  { name: 'juxtaposition is and', cond: 'is_api is_post', path: '/api/x', method: 'POST', expect: true },
  { name: 'and keyword', cond: 'is_api and is_post', path: '/api/x', expect: false },
  { name: '&&', cond: 'is_api && !is_post', path: '/api/x', expect: true },
  { name: 'or', cond: 'is_post or is_api', path: '/api/x', expect: true },
  { name: '||', cond: 'is_post || { path /nope }', path: '/x', expect: false },
  { name: 'and binds tighter than or', cond: 'FALSE and FALSE or TRUE', expect: true },
  { name: 'parentheses', cond: 'FALSE and ( FALSE or TRUE )', expect: false },
  { name: 'braced inline ACL with or inside', cond: '{ path or and }', path: '/x', expect: false },
  { name: 'bare inline ACL then and', cond: 'path_beg /api and method GET', path: '/api/q', expect: true },
];

let hit: Upstream;
let miss: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  hit = await startUpstream({ name: 'hit' });
  miss = await startUpstream({ name: 'miss' });
  gw = await startTestGateway({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl'],
    global: { logLevel: 'warn' },
    defaults: { acls: { is_js: 'path_end .js', is_post: 'path_beg /' } },
    frontends: {
      web: {
        bind: ['127.0.0.1:0', '[::1]:0', { host: '127.0.0.1', port: 0, tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') } }],
        acls: { is_api: 'path_beg /api', is_post: 'method POST', one_or_two: ['path /one', 'path /two'] },
        useBackend: cases.map((c, i) => ({ backend: 'hit', if: `{ hdr(x-case) ${i} } ( ${c.cond} )` })),
        defaultBackend: 'miss',
      },
    },
    backends: {
      hit: { servers: [{ address: hit.address }] },
      miss: { servers: [{ address: miss.address }] },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await hit?.close();
  await miss?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test.each(cases.map((c, i) => [c.name, i, c] as const))('%s', async (_name, i, c) => {
  const bindIndex = c.tls ? 2 : c.v6 ? 1 : 0;
  const port = gw.gateway.address('web', bindIndex).port;
  const res = await send(port, c.path ?? '/', {
    method: c.method,
    host: c.v6 ? '::1' : '127.0.0.1',
    headers: { 'x-case': String(i), ...(c.headers ?? {}) },
    tls: c.tls ? { servername: c.tls } : undefined,
  });
  expect(res.status).toBe(200);
  expect(res.headers['x-upstream']).toBe(c.expect ? 'hit' : 'miss');
});
