import { execFileSync } from 'node:child_process';
import bcrypt from 'bcryptjs';
import { request } from 'undici';
import { explain } from '@switchyard/plugin-acl';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules', '@switchyard/plugin-basic-auth'];

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

describe('basic auth with userlists', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream({ name: 'app' });
    // Hashes made by other tools: bcrypt (bcryptjs), SHA-256/SHA-512 crypt (openssl passwd).
    const sha512 = execFileSync('openssl', ['passwd', '-6', '-salt', 'Qz7pN1', 'carol-pw'], { encoding: 'utf8' }).trim();
    const sha256 = execFileSync('openssl', ['passwd', '-5', 'dave-pw'], { encoding: 'utf8' }).trim();
    gw = await startTestGateway({
      plugins: PLUGINS,
      userlists: {
        staff: {
          groups: { admin: ['alice'], dev: ['bob', 'carol'] },
          users: {
            alice: { password: bcrypt.hashSync('alice-pw', 4) },
            bob: { insecurePassword: 'bob:pw with colon' },
            carol: { password: sha512, groups: ['admin'] },
            dave: { password: sha256 },
          },
        },
      },
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          acls: { public: 'path_beg /public', admin_area: 'path_beg /admin' },
          basicAuth: { userlist: 'staff', realm: 'Staff only', unless: 'public' },
          httpRequest: [
            { action: 'deny', status: 403, if: 'admin_area !{ http_auth_group(staff) admin }' },
            { action: 'set-header', name: 'X-User', value: '%[http_auth_user]', if: '{ http_auth(staff) }' },
          ],
          defaultBackend: 'app',
        },
        strict: {
          bind: '127.0.0.1:0',
          basicAuth: { userlist: 'staff', groups: ['admin'], forwardCredentials: true },
          defaultBackend: 'app',
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  async function get(path: string, auth?: string, frontend?: string) {
    const res = await request(gw.url(path, frontend), { headers: auth ? { authorization: auth } : {} });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body };
  }

  it('answers 401 with a WWW-Authenticate challenge and the realm without credentials', async () => {
    const hits = up.hits;
    const r = await get('/x');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="Staff only", charset="UTF-8"');
    expect(up.hits).toBe(hits);
  });

  it('accepts bcrypt, SHA-512-crypt, SHA-256-crypt and plain passwords; refuses wrong ones', async () => {
    expect((await get('/x', basic('alice', 'alice-pw'))).status).toBe(200);
    expect((await get('/x', basic('carol', 'carol-pw'))).status).toBe(200);
    expect((await get('/x', basic('dave', 'dave-pw'))).status).toBe(200);
    expect((await get('/x', basic('bob', 'bob:pw with colon'))).status).toBe(200);
    expect((await get('/x', basic('alice', 'wrong'))).status).toBe(401);
    expect((await get('/x', basic('carol', 'carol-pW'))).status).toBe(401);
    expect((await get('/x', basic('dave', ''))).status).toBe(401);
    expect((await get('/x', basic('nobody', 'alice-pw'))).status).toBe(401);
    expect((await get('/x', 'Bearer abc'))).toMatchObject({ status: 401 });
  });

  it('does not forward credentials by default; http_auth and http_auth_user work in rules', async () => {
    await get('/fwd', basic('dave', 'dave-pw'));
    const seen = up.requests[up.requests.length - 1]!;
    expect(seen.url).toBe('/fwd');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-user']).toBe('dave');
  });

  it('unless: a public path needs no credentials', async () => {
    expect((await get('/public/a')).status).toBe(200);
  });

  it('http_auth_group in an ACL: only the admin group reaches /admin', async () => {
    expect((await get('/admin/', basic('alice', 'alice-pw'))).status).toBe(200);
    expect((await get('/admin/', basic('carol', 'carol-pw'))).status).toBe(200); // admin via users.carol.groups
    expect((await get('/admin/', basic('bob', 'bob:pw with colon'))).status).toBe(403);
  });

  it('groups on basicAuth: 403 for a valid user outside them; credentials forwarded when configured', async () => {
    expect((await get('/', basic('dave', 'dave-pw'), 'strict')).status).toBe(403);
    expect((await get('/', basic('alice', 'alice-pw'), 'strict')).status).toBe(200);
    expect(up.requests[up.requests.length - 1]!.headers.authorization).toBe(basic('alice', 'alice-pw'));
  });

  it('switchyard explain shows the basicAuth step and its answer', () => {
    const run = (headers: Array<[string, string]>): string => {
      let text = '';
      explain(gw.gateway, 'strict', { method: 'GET', target: 'http://x.example/', headers, src: '127.0.0.1' }, (s) => (text += s), () => undefined);
      return text;
    };
    expect(run([])).toMatch(/basicAuth \(userlist staff\): no credentials → 401[\s\S]*answered by the gateway: basicAuth 401/);
    expect(run([['Authorization', basic('dave', 'dave-pw')]])).toContain('not in an allowed group → 403');
    expect(run([['Authorization', basic('alice', 'alice-pw')]])).toMatch(/user alice authenticated \(groups admin\)[\s\S]*backend   app/);
  });

  it('logs refusals with the user name and reason, never the password', async () => {
    await get('/x', basic('alice', 'S3cret-Guess'));
    const refusals = gw.logs.filter((l) => l.code === 'SWY_ERR_BASICAUTH_DENIED');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.some((l) => l.user === 'alice' && l.reason === 'wrong user or password')).toBe(true);
    const all = JSON.stringify(gw.logs);
    expect(all).not.toContain('S3cret-Guess');
    expect(all).not.toContain(Buffer.from('alice:S3cret-Guess').toString('base64'));
  });
});

describe('basic auth config errors', () => {
  it('refuses an unsupported hash ($1$ MD5-crypt) at load', async () => {
    await expect(startTestGateway({
      plugins: PLUGINS,
      userlists: { l: { users: { u: { password: '$1$abc$0123456789012345678901' } } } },
      frontends: { web: { bind: '127.0.0.1:0', basicAuth: { userlist: 'l' }, defaultBackend: 'b' } },
      backends: { b: { servers: [{ name: 's', address: '127.0.0.1:9' }] } },
    })).rejects.toMatchObject({ code: 'SWY_ERR_BASICAUTH_BAD_HASH' });
  });

  it('refuses an http_auth() naming an unknown userlist at load', async () => {
    await expect(startTestGateway({
      plugins: PLUGINS,
      userlists: { l: { users: { u: { insecurePassword: 'x' } } } },
      frontends: { web: { bind: '127.0.0.1:0', httpRequest: [{ action: 'deny', unless: '{ http_auth(nope) -m bool }' }], defaultBackend: 'b' } },
      backends: { b: { servers: [{ name: 's', address: '127.0.0.1:9' }] } },
    })).rejects.toThrow(/nope/);
  });

  it('refuses a realm with a quote (schema)', async () => {
    await expect(startTestGateway({
      plugins: PLUGINS,
      userlists: { l: { users: { u: { insecurePassword: 'x' } } } },
      frontends: { web: { bind: '127.0.0.1:0', basicAuth: { userlist: 'l', realm: 'a"b' }, defaultBackend: 'b' } },
      backends: { b: { servers: [{ name: 's', address: '127.0.0.1:9' }] } },
    })).rejects.toThrow(/realm.*must match pattern|must match pattern/);
  });
});
