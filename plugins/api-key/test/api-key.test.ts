import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { explain } from '@switchyard/plugin-acl';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules', '@switchyard/plugin-api-key'];
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('API keys in a header or query parameter, stored hashed', () => {
  let up: Upstream;
  let gw: TestGateway;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-apikey-'));

  beforeAll(async () => {
    up = await startUpstream({ name: 'app' });
    fs.writeFileSync(path.join(dir, 'keys.txt'), `# partners\nglobex ${sha256('globex-key-2')}\n\n`);
    gw = await startTestGateway({
      plugins: PLUGINS,
      apiKeys: {
        partners: { keys: [{ name: 'acme', sha256: sha256('acme-key-1') }], file: path.join(dir, 'keys.txt') },
      },
      frontends: {
        api: {
          bind: '127.0.0.1:0',
          apiKey: { keySet: 'partners', queryParam: 'api_key', unless: '{ path /health }' },
          httpRequest: [{ action: 'set-header', name: 'X-Partner', value: '%[api_key_name]', if: '{ api_key_name -m found }' }],
          defaultBackend: 'app',
        },
        fwd: {
          bind: '127.0.0.1:0',
          apiKey: { keySet: 'partners', header: 'x-token', forwardKey: true },
          defaultBackend: 'app',
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function get(p: string, headers: Record<string, string> = {}, frontend?: string) {
    const res = await request(gw.url(p, frontend), { headers });
    return { status: res.statusCode, body: await res.body.text() };
  }

  it('401 without a key, 403 with an unknown key; the server never sees them', async () => {
    const hits = up.hits;
    expect((await get('/v1/x')).status).toBe(401);
    expect((await get('/v1/x', { 'x-api-key': 'guess' })).status).toBe(403);
    expect((await get('/v1/x?api_key=guess')).status).toBe(403);
    expect(up.hits).toBe(hits);
    expect((await get('/health')).status).toBe(200);
  });

  it('a key in the header (inline hash) or the query parameter (file hash) gets in; the key is removed upstream, its name is usable', async () => {
    expect((await get('/v1/a', { 'x-api-key': 'acme-key-1' })).status).toBe(200);
    let seen = up.requests[up.requests.length - 1]!;
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers['x-partner']).toBe('acme');
    expect((await get('/v1/b?x=1&api_key=globex-key-2&y=%20z')).status).toBe(200);
    seen = up.requests[up.requests.length - 1]!;
    expect(seen.url).toBe('/v1/b?x=1&y=%20z');
    expect(seen.headers['x-partner']).toBe('globex');
  });

  it('forwardKey keeps the key; a custom header name is used', async () => {
    expect((await get('/', { 'x-token': 'globex-key-2' }, 'fwd')).status).toBe(200);
    expect(up.requests[up.requests.length - 1]!.headers['x-token']).toBe('globex-key-2');
    expect((await get('/', { 'x-api-key': 'globex-key-2' }, 'fwd')).status).toBe(401);
  });

  it('switchyard explain shows the apiKey step', () => {
    const run = (headers: Array<[string, string]>): string => {
      let text = '';
      explain(gw.gateway, 'api', { method: 'GET', target: 'http://x.example/v1', headers, src: '127.0.0.1' }, (s) => (text += s), () => undefined);
      return text;
    };
    expect(run([])).toMatch(/apiKey: no key → 401[\s\S]*answered by the gateway: apiKey 401/);
    expect(run([['X-Api-Key', 'nope']])).toContain('apiKey: unknown key → 403');
    expect(run([['X-Api-Key', 'acme-key-1']])).toMatch(/apiKey: key "acme"[\s\S]*backend   app/);
  });

  it('logs refusals with a code and reason, never the key', async () => {
    await get('/v1/x', { 'x-api-key': 'secret-guess-123' });
    expect(gw.logs.some((l) => l.code === 'SWY_ERR_APIKEY_DENIED' && l.reason === 'unknown key')).toBe(true);
    expect(JSON.stringify(gw.logs)).not.toContain('secret-guess-123');
  });

  it('refuses a key that is not a SHA-256 hex at load', async () => {
    await expect(startTestGateway({
      plugins: PLUGINS,
      apiKeys: { s: { keys: [{ name: 'n', sha256: 'plain-key' }] } },
      frontends: { f: { bind: '127.0.0.1:0', apiKey: { keySet: 's' }, defaultBackend: 'b' } },
      backends: { b: { servers: [{ name: 's', address: '127.0.0.1:9' }] } },
    })).rejects.toMatchObject({ code: 'SWY_ERR_APIKEY_BAD_KEY' });
  });
});

describe('defaults.apiKey', () => {
  it('applies to frontends without their own; a frontend can opt out with unless: TRUE', async () => {
    const up = await startUpstream({ name: 'app' });
    const g = await startTestGateway({
      plugins: PLUGINS,
      apiKeys: { s: { keys: [{ name: 'n', sha256: sha256('k') }] } },
      defaults: { apiKey: { keySet: 's' } },
      frontends: {
        a: { bind: '127.0.0.1:0', defaultBackend: 'app' },
        open: { bind: '127.0.0.1:0', apiKey: { keySet: 's', unless: 'TRUE' }, defaultBackend: 'app' },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
    try {
      const status = async (frontend: string, headers: Record<string, string> = {}): Promise<number> => {
        const r = await request(g.url('/', frontend), { headers });
        await r.body.text();
        return r.statusCode;
      };
      expect(await status('a')).toBe(401);
      expect(await status('a', { 'x-api-key': 'k' })).toBe(200);
      expect(await status('open')).toBe(200);
    } finally {
      await g.stop();
      await up.close();
    }
  });
});

describe('the key name in the access log (with plugin-access-log)', () => {
  it('%[var(auth.user)] logs who came in; the key never appears', async () => {
    const up = await startUpstream({ name: 'app' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-apikey-log-'));
    const file = path.join(dir, 'access.log');
    const g = await startTestGateway({
      plugins: [...PLUGINS, '@switchyard/plugin-access-log'],
      accessLog: { format: 'custom', template: '%ST %[var(auth.method)] %[var(auth.user)]', output: 'file', file },
      apiKeys: { s: { keys: [{ name: 'acme', sha256: sha256('acme-secret-key') }] } },
      frontends: { a: { bind: '127.0.0.1:0', apiKey: { keySet: 's' }, defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
    try {
      for (const headers of [{ 'x-api-key': 'acme-secret-key' }, { 'x-api-key': 'wrong-key' }]) {
        const r = await request(g.url('/'), { headers });
        await r.body.text();
      }
      let text = '';
      for (let i = 0; i < 100 && text.split('\n').filter(Boolean).length < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      }
      const lines = text.split('\n').filter(Boolean);
      expect(lines[0]).toBe('200 apikey acme');
      expect(lines[1]).toMatch(/^403\b/);
      expect(text).not.toContain('secret');
    } finally {
      await g.stop();
      await up.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
