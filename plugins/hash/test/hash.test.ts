import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const FIXTURE = './fixtures/header-fetch';

async function upstreamOf(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(url, { headers });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode} for ${url}`);
  return String(res.headers['x-upstream']);
}

describe('hash balancing over HTTP', () => {
  let ups: Upstream[];
  let gw: TestGateway;

  beforeAll(async () => {
    ups = await Promise.all(['s1', 's2', 's3', 's4', 's5'].map((name) => startUpstream({ name })));
    const servers = ups.map((u) => ({ name: u.name, address: u.address }));
    const frontends: Record<string, unknown> = {};
    const backends: Record<string, unknown> = {
      source: { balance: 'source', servers },
      uri: { balance: 'uri', servers },
      whole: { balance: 'uri', uriWhole: true, servers },
      depth: { balance: 'uri', uriDepth: 2, servers },
      len: { balance: 'uri', uriLen: 6, servers },
      param: { balance: 'url_param', urlParam: 'user', servers },
      hdr: { balance: 'hdr', hashHeader: 'X-User', servers },
      domain: { balance: 'hdr', hashHeader: 'host', hashUseDomainOnly: true, servers },
      fetch: { balance: 'hash', hashKey: 'test.header(x-user)', hashType: 'consistent', servers },
      cuser: { balance: 'hdr', hashHeader: 'x-user', hashType: 'consistent', servers },
    };
    for (const name of Object.keys(backends)) frontends[name] = { bind: '127.0.0.1:0', defaultBackend: name };
    gw = await startTestGateway(
      { plugins: ['@switchyard/preset-standard', '@switchyard/plugin-hash', FIXTURE], global: { logLevel: 'warn' }, frontends, backends },
      { baseDir: __dirname },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await Promise.all((ups ?? []).map((u) => u.close()));
  });

  it('source: every request from one client address goes to one server', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await upstreamOf(gw.url(`/p/${i}`, 'source')));
    expect(seen.size).toBe(1);
  });

  it('uri: a path keeps its server, and paths spread over the servers', async () => {
    const first = new Map<string, string>();
    for (let i = 0; i < 24; i++) first.set(`/obj/${i}`, await upstreamOf(gw.url(`/obj/${i}`, 'uri')));
    for (const [path, server] of first) expect(await upstreamOf(gw.url(`${path}?v=${Math.random()}`, 'uri'))).toBe(server);
    expect(new Set(first.values()).size).toBeGreaterThanOrEqual(3);
  });

  it('uri: the query is ignored unless uriWhole', async () => {
    const plain = new Set<string>();
    const whole = new Set<string>();
    for (let i = 0; i < 20; i++) {
      plain.add(await upstreamOf(gw.url(`/same?q=${i}`, 'uri')));
      whole.add(await upstreamOf(gw.url(`/same?q=${i}`, 'whole')));
    }
    expect(plain.size).toBe(1);
    expect(whole.size).toBeGreaterThanOrEqual(3);
  });

  it('uri: uriDepth and uriLen limit what is hashed', async () => {
    const deep = new Set<string>();
    const short = new Set<string>();
    const beyond = new Set<string>();
    for (let i = 0; i < 20; i++) {
      deep.add(await upstreamOf(gw.url(`/a/b/${i}/x`, 'depth')));
      short.add(await upstreamOf(gw.url(`/abcde${i}`, 'len')));
      beyond.add(await upstreamOf(gw.url(`/a/${i}/c`, 'depth')));
    }
    expect(deep.size).toBe(1); // only "/a/b" is hashed
    expect(short.size).toBe(1); // only "/abcde" is hashed
    expect(beyond.size).toBeGreaterThanOrEqual(3);
  });

  it('url_param: a parameter value keeps its server; requests without it are spread', async () => {
    const alice = new Set<string>();
    const none = new Set<string>();
    for (let i = 0; i < 12; i++) {
      alice.add(await upstreamOf(gw.url(`/x?a=${i}&user=alice&b=1`, 'param')));
      none.add(await upstreamOf(gw.url(`/x?a=${i}&username=alice`, 'param')));
    }
    expect(alice.size).toBe(1);
    expect(none.size).toBeGreaterThanOrEqual(3);
  });

  it('hdr: a header value keeps its server; use-domain-only ignores subdomain, TLD and port', async () => {
    const byUser = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < 10; u++) {
        const s = await upstreamOf(gw.url('/', 'hdr'), { 'x-user': `user-${u}` });
        (byUser.get(`user-${u}`) ?? byUser.set(`user-${u}`, new Set()).get(`user-${u}`)!).add(s);
      }
    }
    for (const servers of byUser.values()) expect(servers.size).toBe(1);
    expect(new Set([...byUser.values()].map((s) => [...s][0])).size).toBeGreaterThanOrEqual(3);
    const domain = new Set<string>();
    for (const host of ['www.example.com', 'api.example.org', 'example.net:8080', 'a.b.example.io']) {
      domain.add(await upstreamOf(gw.url('/', 'domain'), { host }));
    }
    expect(domain.size).toBe(1);
  });

  it('hash: any registered fetch is a key (here test.header(x-user))', async () => {
    for (let u = 0; u < 10; u++) {
      const a = await upstreamOf(gw.url('/', 'fetch'), { 'x-user': `u${u}` });
      expect(await upstreamOf(gw.url('/again', 'fetch'), { 'x-user': `u${u}` })).toBe(a);
    }
  });

  it('consistent: when a server goes to maint only its own keys move, and they come back', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    const before = new Map<string, string>();
    for (const k of keys) before.set(k, await upstreamOf(gw.url('/', 'cuser'), { 'x-user': k }));
    const victim = before.get('user-0')!;
    const s = gw.gateway.backends.get('cuser')!.server(victim)!;
    s.setAdmin('maint', 'test');
    try {
      for (const k of keys) {
        const now = await upstreamOf(gw.url('/', 'cuser'), { 'x-user': k });
        if (before.get(k) === victim) expect(now).not.toBe(victim);
        else expect(now).toBe(before.get(k));
      }
    } finally {
      s.setAdmin('ready', 'test');
    }
    for (const k of keys) expect(await upstreamOf(gw.url('/', 'cuser'), { 'x-user': k })).toBe(before.get(k));
  });
});

describe('hash balancing: errors at load', () => {
  const base = (backend: Record<string, unknown>, mode: 'http' | 'tcp' = 'http'): Record<string, unknown> => ({
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-hash', FIXTURE],
    global: { logLevel: 'silent' },
    frontends: { fe: { mode, bind: '127.0.0.1:0', defaultBackend: 'be' } },
    backends: { be: { mode, servers: [{ address: '127.0.0.1:9' }], ...backend } },
  });
  const codeOf = async (config: Record<string, unknown>): Promise<string> => {
    try {
      const gw = await startTestGateway(config, { baseDir: __dirname });
      await gw.stop();
      return 'started';
    } catch (err) {
      const e = err as { code?: string; errors?: Array<{ code: string }> };
      return e.code ?? e.errors?.map((x) => x.code).join(',') ?? String(err);
    }
  };

  it('an unknown fetch in hashKey fails with SWY_ERR_HASH_FETCH_UNKNOWN', async () => {
    expect(await codeOf(base({ balance: 'hash', hashKey: 'nosuch(x)' }))).toBe('SWY_ERR_HASH_FETCH_UNKNOWN');
  });

  it('a missing or malformed key fails with SWY_ERR_HASH_KEY_INVALID', async () => {
    expect(await codeOf(base({ balance: 'hash' }))).toBe('SWY_ERR_HASH_KEY_INVALID');
    expect(await codeOf(base({ balance: 'hash', hashKey: 'test.header' }))).toBe('SWY_ERR_HASH_KEY_INVALID'); // arg required
    expect(await codeOf(base({ balance: 'hash', hashKey: 'test.none(x)' }))).toBe('SWY_ERR_HASH_KEY_INVALID'); // takes none
    expect(await codeOf(base({ balance: 'hash', hashKey: '1bad' }))).toBe('SWY_ERR_HASH_KEY_INVALID');
    expect(await codeOf(base({ balance: 'url_param' }))).toBe('SWY_ERR_HASH_KEY_INVALID');
    expect(await codeOf(base({ balance: 'hdr' }))).toBe('SWY_ERR_HASH_KEY_INVALID');
  });

  it('an HTTP-only key on a tcp backend fails with SWY_ERR_HASH_MODE or SWY_ERR_HASH_KEY_INVALID', async () => {
    expect(await codeOf(base({ balance: 'uri' }, 'tcp'))).toBe('SWY_ERR_HASH_MODE');
    expect(await codeOf(base({ balance: 'hash', hashKey: 'test.header(x)' }, 'tcp'))).toBe('SWY_ERR_HASH_KEY_INVALID');
    expect(await codeOf(base({ balance: 'source' }, 'tcp'))).toBe('started');
  });

  it('hashType is checked by the schema', async () => {
    expect(await codeOf(base({ balance: 'source', hashType: 'ring' }))).toBe('SWY_ERR_CONFIG_INVALID');
  });
});
