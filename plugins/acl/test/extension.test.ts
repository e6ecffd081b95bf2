/**
 * A third-party plugin adds a fetch (slot `fetch`), a match method (slot `acl.match`) and a
 * converter (slot `acl.converter`) and uses them in ordinary conditions, and another plugin
 * compiles its own rules' conditions with the `acl.compiler` service.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { send } from './client';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-acl-ext-'));
fs.writeFileSync(
  path.join(dir, 'tenant-plugin.js'),
  `'use strict';
// A plugin as a user would write it, without importing anything: a fetch reading the
// first label of the host, an "even" match method, a "reverse" converter, and a rule list
// of its own whose conditions are compiled by the ACL plugin's compiler service.
module.exports = {
  kind: 'plugin',
  name: 'tenant-plugin',
  version: '1.0.0',
  core: '^0.1.0',
  schema: { frontend: { teapots: { type: 'array', items: { type: 'object', properties: { if: { type: 'string' }, unless: { type: 'string' } } } } } },
  register({ slots }) {
    slots.provide('fetch', 'tenant', {
      description: 'first label of the host', arg: 'none', modes: ['http'],
      compile: () => (ex) => (ex.kind === 'http' ? ex.host.split('.')[0] : undefined),
    });
    slots.provide('acl.match', 'even', {
      description: 'an even number', compile: () => (v) => Number(v) % 2 === 0, noPatterns: true,
    });
    slots.provide('acl.converter', 'reverse', {
      description: 'reverses a string', arg: 'none',
      compile: () => (v) => (typeof v === 'string' ? [...v].reverse().join('') : v),
    });
  },
  apply(gateway) {
    const compiler = gateway.slots.get('acl.compiler', 'default').forGateway(gateway);
    const byFrontend = new Map();
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      byFrontend.set(gateway.frontends.get(name), (fe.teapots || []).map((r, i) => compiler.compileRuleCondition(name, r, 'frontends.' + name + '.teapots[' + i + ']')));
    }
    gateway.hooks.route.tap({ name: 'tenant-plugin', stage: -250 }, (ex) => {
      const rules = byFrontend.get(ex.frontend) || [];
      for (const c of rules) {
        if (c === undefined || c.test(ex)) { ex.respond(418, 'teapot\\n'); return { handled: true }; }
      }
      return undefined;
    });
  },
};
`,
);

let a: Upstream;
let b: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  a = await startUpstream({ name: 'a' });
  b = await startUpstream({ name: 'b' });
  gw = await startTestGateway(
    {
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', './tenant-plugin.js'],
      global: { logLevel: 'warn' },
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          acls: { acme: 'tenant acme', even_id: 'url_param(id) -m even' },
          teapots: [{ if: 'tenant,reverse gnirps' }],
          useBackend: [{ backend: 'a', if: 'acme even_id' }],
          defaultBackend: 'b',
        },
      },
      backends: { a: { servers: [{ address: a.address }] }, b: { servers: [{ address: b.address }] } },
    },
    { baseDir: dir },
  );
});

afterAll(async () => {
  await gw?.stop();
  await a?.close();
  await b?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a third-party fetch and match method work in named ACLs', async () => {
  expect((await send(gw.port(), '/?id=4', { headers: { host: 'acme.example' } })).headers['x-upstream']).toBe('a');
  expect((await send(gw.port(), '/?id=5', { headers: { host: 'acme.example' } })).headers['x-upstream']).toBe('b');
  expect((await send(gw.port(), '/?id=4', { headers: { host: 'other.example' } })).headers['x-upstream']).toBe('b');
});

test('another plugin compiles its own rule conditions with the ACL compiler (and a third-party converter)', async () => {
  const res = await send(gw.port(), '/', { headers: { host: 'spring.example' } });
  expect(res.status).toBe(418);
  expect(res.body).toBe('teapot\n');
});
