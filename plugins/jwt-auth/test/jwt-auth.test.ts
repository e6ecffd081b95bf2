import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { CryptoKey, JWK } from 'jose';
import { jose } from '../src/jose';

const { SignJWT, exportJWK, exportSPKI, generateKeyPair } = jose;
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules', '@switchyard/plugin-jwt-auth'];

interface Kp { kid: string; privateKey: CryptoKey; jwk: JWK }

async function keyPair(kid: string, alg: string): Promise<Kp> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function sign(k: { privateKey: CryptoKey | Uint8Array; kid?: string }, alg: string, claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: number | string; nbf?: number } = {}): Promise<string> {
  const j = new SignJWT(claims).setProtectedHeader({ alg, ...(k.kid ? { kid: k.kid } : {}) }).setIssuedAt();
  j.setIssuer(opts.iss ?? 'https://idp.test').setAudience(opts.aud ?? 'api');
  j.setExpirationTime(opts.exp ?? '5m');
  if (opts.nbf !== undefined) j.setNotBefore(opts.nbf);
  return j.sign(k.privateKey);
}

describe('JWT auth with a JWKS server that rotates keys', () => {
  let up: Upstream;
  let gold: Upstream;
  let gw: TestGateway;
  let jwks: http.Server;
  let jwksHits = 0;
  let served: JWK[] = [];
  let k1: Kp, k2: Kp, ed: Kp, rogue: Kp;
  let hsGw: TestGateway;
  let rsa: { privateKey: CryptoKey };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-jwt-'));

  beforeAll(async () => {
    k1 = await keyPair('k1', 'RS256');
    k2 = await keyPair('k2', 'ES256');
    ed = await keyPair('ed', 'EdDSA');
    rogue = await keyPair('k1', 'RS256'); // same kid, another key
    served = [k1.jwk];
    jwks = http.createServer((req, res) => {
      jwksHits++;
      const body = JSON.stringify({ keys: served });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    up = await startUpstream({ name: 'app' });
    gold = await startUpstream({ name: 'gold' });
    const { publicKey } = { publicKey: ed.jwk };
    fs.writeFileSync(path.join(dir, 'ed.jwk.json'), JSON.stringify(publicKey));
    gw = await startTestGateway({
      plugins: PLUGINS,
      frontends: {
        api: {
          bind: '127.0.0.1:0',
          jwtAuth: {
            algorithms: ['RS256', 'ES256'],
            jwksUrl,
            jwksCooldown: '2s',
            issuer: 'https://idp.test',
            audience: 'api',
            clockSkew: '5s',
            requiredClaims: ['sub'],
            claimHeaders: { 'X-User': 'sub', 'X-Tenant': 'org.id' },
            unless: '{ path /health }',
          },
          httpRequest: [{ action: 'deny', status: 403, if: '{ path_beg /admin } !{ jwt_claim(roles) admin }' }],
          useBackend: [{ backend: 'gold', if: '{ jwt_claim(plan) gold }' }],
          defaultBackend: 'app',
        },
        ed: {
          bind: '127.0.0.1:0',
          jwtAuth: { algorithms: ['EdDSA'], keyFile: path.join(dir, 'ed.jwk.json'), optional: true },
          defaultBackend: 'app',
        },
      },
      backends: {
        app: { servers: [{ name: 'a', address: up.address }] },
        gold: { servers: [{ name: 'g', address: gold.address }] },
      },
    });
    rsa = await generateKeyPair('RS256', { extractable: true });
    fs.writeFileSync(path.join(dir, 'rsa.pem'), await exportSPKI(rsa.publicKey));
    hsGw = await startTestGateway({
      plugins: PLUGINS,
      frontends: {
        hs: { bind: '127.0.0.1:0', jwtAuth: { algorithms: ['HS256'], secret: 'a-shared-secret-of-32-bytes-long!' }, defaultBackend: 'app' },
        pem: { bind: '127.0.0.1:0', jwtAuth: { algorithms: ['RS256', 'PS256'], keyFile: path.join(dir, 'rsa.pem'), header: 'x-jwt', scheme: '' }, defaultBackend: 'app' },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await hsGw?.stop();
    await up?.close();
    await gold?.close();
    if (jwks.listening) await new Promise<void>((r) => jwks.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function get(g: TestGateway, p: string, token?: string, frontend?: string, extra: Record<string, string> = {}) {
    const res = await request(g.url(p, frontend), { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  it('401 with WWW-Authenticate: Bearer without a token; unless lets /health through', async () => {
    const r = await get(gw, '/x');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer');
    expect((await get(gw, '/health')).status).toBe(200);
  });

  it('accepts a token signed by a JWKS key; claims become headers; the token is not forwarded; spoofed claim headers are dropped', async () => {
    const t = await sign(k1, 'RS256', { sub: 'alice', org: { id: 'acme' } });
    const r = await get(gw, '/data', t, undefined, { 'x-user': 'mallory' });
    expect(r.status).toBe(200);
    const seen = up.requests[up.requests.length - 1]!;
    expect(seen.headers['x-user']).toBe('alice');
    expect(seen.headers['x-tenant']).toBe('acme');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('refuses bad signature, wrong issuer/audience, expired beyond skew, not yet valid, missing sub, disallowed alg', async () => {
    const bad = [
      await sign(rogue, 'RS256', { sub: 'a' }),
      await sign(k1, 'RS256', { sub: 'a' }, { iss: 'https://evil.test' }),
      await sign(k1, 'RS256', { sub: 'a' }, { aud: 'other' }),
      await sign(k1, 'RS256', { sub: 'a' }, { exp: Math.floor(Date.now() / 1000) - 60 }),
      await sign(k1, 'RS256', { sub: 'a' }, { nbf: Math.floor(Date.now() / 1000) + 120 }),
      await sign(k1, 'RS256', {}),
      await sign({ privateKey: new TextEncoder().encode('x'.repeat(32)), kid: 'k1' }, 'HS256', { sub: 'a' }),
      'not.a.jwt',
    ];
    for (const t of bad) {
      const r = await get(gw, '/x', t);
      expect([t.slice(0, 20), r.status]).toEqual([t.slice(0, 20), 401]);
      expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
    // Within the clock skew (5 s): expired 2 s ago still passes.
    const justExpired = await sign(k1, 'RS256', { sub: 'a' }, { exp: Math.floor(Date.now() / 1000) - 2 });
    expect((await get(gw, '/x', justExpired)).status).toBe(200);
  });

  it('claims in ACLs: jwt_claim in httpRequest rules and useBackend', async () => {
    const user = await sign(k1, 'RS256', { sub: 'u', roles: ['reader'] });
    const admin = await sign(k1, 'RS256', { sub: 'a', roles: ['reader', 'admin'], plan: 'gold' });
    expect((await get(gw, '/admin/x', user)).status).toBe(403);
    const r = await get(gw, '/admin/x', admin);
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe('gold');
    expect((await get(gw, '/x', user)).headers['x-upstream']).toBe('app');
  });

  it('key rotation: a token with a new kid refreshes the JWKS once; unknown kids refresh at most once per cooldown', async () => {
    // Let the cooldown since the first fetch pass, as it would between two rotations.
    await new Promise((r) => setTimeout(r, 2100));
    const before = jwksHits;
    served = [k1.jwk, k2.jwk];
    const t2 = await sign(k2, 'ES256', { sub: 'bob' });
    expect((await get(gw, '/x', t2)).status).toBe(200);
    expect(jwksHits).toBe(before + 1);
    // Old key retired at the IdP: a cached key set still has it until the next fetch.
    served = [k2.jwk];
    const stranger = await keyPair('k9', 'ES256');
    const unknown = await sign(stranger, 'ES256', { sub: 'x' });
    const hitsBeforeStorm = jwksHits;
    for (let i = 0; i < 10; i++) expect((await get(gw, '/x', unknown)).status).toBe(401);
    // Within the 2 s cooldown after the rotation fetch, at most one more fetch for the storm.
    expect(jwksHits - hitsBeforeStorm).toBeLessThanOrEqual(1);
    expect(JSON.stringify(gw.logs)).not.toContain(unknown);
  });

  it('EdDSA key from a JWK file; optional: no token passes, a bad token does not', async () => {
    const t = await sign(ed, 'EdDSA', { sub: 'e' });
    expect((await get(gw, '/', t, 'ed')).status).toBe(200);
    expect((await get(gw, '/', undefined, 'ed')).status).toBe(200);
    expect((await get(gw, '/', await sign(k1, 'RS256', { sub: 'e' }), 'ed')).status).toBe(401);
  });

  it('HS256 with a shared secret; an RS256 token is refused by the allow-list', async () => {
    const secret = new TextEncoder().encode('a-shared-secret-of-32-bytes-long!');
    expect((await get(hsGw, '/', await sign({ privateKey: secret }, 'HS256', { sub: 'h' }))).status).toBe(200);
    expect((await get(hsGw, '/', await sign({ privateKey: secret }, 'HS512', { sub: 'h' }))).status).toBe(401);
    expect((await get(hsGw, '/', await sign(k1, 'RS256', { sub: 'h' }))).status).toBe(401);
  });

  it('PEM public key file, token in a custom header without scheme; a token from another key is refused', async () => {
    const t = await sign(rsa, 'RS256', { sub: 'p' });
    const ok = await request(hsGw.url('/', 'pem'), { headers: { 'x-jwt': t } });
    await ok.body.text();
    expect(ok.statusCode).toBe(200);
    expect(up.requests[up.requests.length - 1]!.headers['x-jwt']).toBeUndefined();
    const other = await request(hsGw.url('/', 'pem'), { headers: { 'x-jwt': await sign(k1, 'RS256', { sub: 'p' }) } });
    await other.body.text();
    expect(other.statusCode).toBe(401);
  });

  it('JWKS server gone: keys already fetched keep verifying (within jwksCacheMaxAge)', async () => {
    const t = await sign(k2, 'ES256', { sub: 'still' });
    expect((await get(gw, '/x', t)).status).toBe(200);
    const closed = new Promise<void>((r) => jwks.close(() => r()));
    jwks.closeAllConnections();
    await closed;
    expect((await get(gw, '/x', t)).status).toBe(200);
    expect((await get(gw, '/x', await sign(k2, 'ES256', { sub: 'other' }))).status).toBe(200);
  });

  it('JWKS unreachable and nothing cached: fails closed with 503 and a coded log', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const g = await startTestGateway({
      plugins: PLUGINS,
      frontends: { f: { bind: '127.0.0.1:0', jwtAuth: { algorithms: ['RS256'], jwksUrl: `http://127.0.0.1:${port}/jwks`, jwksTimeout: '2s' }, defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
    try {
      const r = await get(g, '/', await sign(k1, 'RS256', { sub: 'x' }));
      expect(r.status).toBe(503);
      expect(g.logs.some((l) => l.code === 'SWY_ERR_JWT_JWKS_UNAVAILABLE')).toBe(true);
    } finally {
      await g.stop();
    }
  });
});

describe('JWT config errors', () => {
  const base = (jwtAuth: Record<string, unknown>) => ({
    plugins: PLUGINS,
    frontends: { f: { bind: '127.0.0.1:0', jwtAuth, defaultBackend: 'b' } },
    backends: { b: { servers: [{ name: 's', address: '127.0.0.1:9' }] } },
  });

  it('refuses HS* with a public-key source, and mixed algorithm families', async () => {
    await expect(startTestGateway(base({ algorithms: ['HS256'], jwksUrl: 'http://127.0.0.1:9/jwks' }))).rejects.toMatchObject({ code: 'SWY_ERR_JWT_ALGORITHMS' });
    await expect(startTestGateway(base({ algorithms: ['HS256', 'RS256'], secret: 'x'.repeat(32) }))).rejects.toMatchObject({ code: 'SWY_ERR_JWT_ALGORITHMS' });
  });

  it('refuses an HS secret shorter than the hash (RFC 7518 §3.2)', async () => {
    await expect(startTestGateway(base({ algorithms: ['HS256'], secret: 'short' }))).rejects.toMatchObject({ code: 'SWY_ERR_JWT_KEY_LOAD' });
    await expect(startTestGateway(base({ algorithms: ['HS256', 'HS512'], secret: 'x'.repeat(32) }))).rejects.toThrow(/at least 64/);
  });

  it('refuses two key sources, and an unreadable key file', async () => {
    await expect(startTestGateway(base({ algorithms: ['RS256'], jwksUrl: 'http://127.0.0.1:9/jwks', keyFile: '/nonexistent.pem' }))).rejects.toMatchObject({ code: 'SWY_ERR_JWT_NO_KEYS' });
    await expect(startTestGateway(base({ algorithms: ['RS256'], keyFile: '/nonexistent.pem' }))).rejects.toMatchObject({ code: 'SWY_ERR_JWT_KEY_LOAD' });
  });
});

describe('JWT claims as rate-limit keys (with plugin-rate-limit)', () => {
  it('counts per jwt_claim(sub), not per client address', async () => {
    const up = await startUpstream({ name: 'app' });
    const secret = 'another-shared-secret-32-bytes!!';
    const g = await startTestGateway({
      plugins: [...PLUGINS, '@switchyard/plugin-rate-limit'],
      frontends: {
        f: {
          bind: '127.0.0.1:0',
          jwtAuth: { algorithms: ['HS256'], secret },
          rateLimits: [{ name: 'per-user', key: 'jwt_claim(sub)', points: 2, duration: '1m' }],
          defaultBackend: 'app',
        },
      },
      backends: { app: { servers: [{ name: 'a', address: up.address }] } },
    });
    try {
      const key = new TextEncoder().encode(secret);
      const alice = await sign({ privateKey: key }, 'HS256', { sub: 'alice' });
      const bob = await sign({ privateKey: key }, 'HS256', { sub: 'bob' });
      const status = async (t: string): Promise<number> => {
        const r = await request(g.url('/'), { headers: { authorization: `Bearer ${t}` } });
        await r.body.text();
        return r.statusCode;
      };
      expect([await status(alice), await status(alice), await status(alice)]).toEqual([200, 200, 429]);
      expect(await status(bob)).toBe(200);
    } finally {
      await g.stop();
      await up.close();
    }
  });
});
