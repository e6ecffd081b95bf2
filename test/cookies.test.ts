/**
 * One Cookie header, three plugins: an ACL (`req.cook`), a rate-limit key (`cookie(user)`)
 * and cookie stickiness must read it the same way — quoted values, empty values and a
 * Cookie header sent twice — because they share the SDK's parser.
 */
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

describe('cookies: acl, rate-limit and stickiness read the Cookie header alike', () => {
  let ups: Upstream[] = [];
  let gw: TestGateway;

  beforeAll(async () => {
    ups = await Promise.all(['a', 'b'].map((name) => startUpstream({ name })));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard'],
      global: { logLevel: 'warn' },
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          httpRequest: [
            { action: 'deny', status: 403, if: '{ req.cook(user) blocked }' },
            { action: 'deny', status: 418, if: '{ req.cook(user) -m found } { req.cook(user) -m len 0 }' },
          ],
          rateLimits: [{ name: 'per-user', key: 'cookie(user)', points: 2, duration: '60s', onMissingKey: 'skip' }],
        },
      },
      backends: {
        app: {
          balance: 'roundrobin',
          cookie: { name: 'SRV' },
          servers: [
            { name: 'a', address: ups[0]!.address, cookie: 'A' },
            { name: 'b', address: ups[1]!.address, cookie: 'B' },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  /** Raw header list, so a Cookie header can be sent twice. */
  const send = async (...cookies: string[]): Promise<{ status: number; server: string }> => {
    const headers: string[] = [];
    for (const c of cookies) headers.push('cookie', c);
    const res = await request(gw.url('/'), { headers });
    await res.body.text();
    return { status: res.statusCode, server: String(res.headers['x-upstream'] ?? '') };
  };

  it('a quoted value is the same value for all three', async () => {
    // Stickiness: SRV="B" names server b, every time.
    for (let i = 0; i < 2; i++) expect(await send('SRV="B"; user="q1"')).toEqual({ status: 200, server: 'b' });
    // Rate limit: user="q1" and user=q1 are one key (2 points: the third is refused).
    expect((await send('user=q1')).status).toBe(429);
    // ACL: the quoted value matches the unquoted pattern.
    expect((await send('user="blocked"')).status).toBe(403);
  });

  it('an empty value is present but empty for the ACL', async () => {
    expect((await send('user=; SRV=A')).status).toBe(418);
    // Absent is not empty.
    expect((await send('SRV=A')).status).toBe(200);
  });
});

describe('cookies: an empty value and a repeated Cookie header', () => {
  let ups: Upstream[] = [];
  let gw: TestGateway;

  beforeAll(async () => {
    ups = await Promise.all(['a', 'b'].map((name) => startUpstream({ name })));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard'],
      global: { logLevel: 'warn' },
      frontends: {
        web: {
          bind: '127.0.0.1:0',
          defaultBackend: 'app',
          httpRequest: [{ action: 'deny', status: 403, if: '{ req.cook(user) blocked }' }],
          rateLimits: [{ name: 'per-user', key: 'cookie(user)', points: 2, duration: '60s', onMissingKey: 'skip' }],
        },
      },
      backends: {
        app: {
          balance: 'roundrobin',
          cookie: { name: 'SRV' },
          servers: [
            { name: 'a', address: ups[0]!.address, cookie: 'A' },
            { name: 'b', address: ups[1]!.address, cookie: 'B' },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  const send = async (...cookies: string[]): Promise<{ status: number; server: string }> => {
    const headers: string[] = [];
    for (const c of cookies) headers.push('cookie', c);
    const res = await request(gw.url('/'), { headers });
    await res.body.text();
    return { status: res.statusCode, server: String(res.headers['x-upstream'] ?? '') };
  };

  it('an empty user cookie is no rate-limit key (skipped, never limited)', async () => {
    for (let i = 0; i < 4; i++) expect((await send('user=')).status).toBe(200);
  });

  it('two Cookie headers read as one: the first occurrence of a name wins, for all three', async () => {
    // Stickiness finds SRV in the second header line.
    for (let i = 0; i < 2; i++) expect(await send('user=r1', 'SRV=B')).toEqual({ status: 200, server: 'b' });
    // Rate limit: the key is user=r1 from the first line (its third request is refused),
    // not user=other from the second.
    expect((await send('user=r1', 'user=other')).status).toBe(429);
    // ACL: user=blocked in the second line is shadowed by the first line's user.
    expect((await send('user=ok', 'user=blocked')).status).toBe(200);
    expect((await send('SRV=A', 'user=blocked')).status).toBe(403);
  });
});
