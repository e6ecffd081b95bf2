import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { RUNTIME_COMMAND_SLOT, type RuntimeCommand } from '@switchyard/sdk';
import { STICK_TABLE_DATA, type StickStore } from '@switchyard/plugin-stickiness';

const FIXTURE = './fixtures/test-plugin';

interface Answer {
  status: number;
  upstream: string;
  /** Cookie header the server received. */
  sawCookie: string | null;
  setCookie: string[];
  cacheControl: string | undefined;
}

async function get(url: string, cookie?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, { headers: cookie === undefined ? headers : { ...headers, cookie } });
  const body = (await res.body.json()) as { upstream: string; cookie: string | null };
  const sc = res.headers['set-cookie'];
  const cc = res.headers['cache-control'];
  return {
    status: res.statusCode,
    upstream: body.upstream,
    sawCookie: body.cookie,
    setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc],
    cacheControl: Array.isArray(cc) ? cc.join(', ') : cc,
  };
}

/** `name=value` of a Set-Cookie line. */
const pair = (line: string | undefined): string => (line ?? '').split(';')[0]!;

describe('stickiness', () => {
  let ups: Upstream[];
  let gw: TestGateway;

  beforeAll(async () => {
    ups = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        startUpstream({
          name,
          handler: (req, res) => {
            req.resume();
            const headers: Record<string, string | string[]> = { 'content-type': 'application/json', 'x-upstream': name };
            if (req.url?.startsWith('/set')) headers['set-cookie'] = ['SERVERID=app-chosen; Path=/', 'JSESSIONID=sess42; Path=/; HttpOnly', 'other=1'];
            if (req.url?.startsWith('/public')) headers['cache-control'] = 'public, max-age=60';
            res.writeHead(200, headers);
            res.end(JSON.stringify({ upstream: name, cookie: req.headers.cookie ?? null }));
          },
        }),
      ),
    );
    const servers = [
      { name: 'a', address: ups[0]!.address, cookie: 'A' },
      { name: 'b', address: ups[1]!.address, cookie: 'B' },
      { name: 'c', address: ups[2]!.address },
    ];
    const backends: Record<string, unknown> = {
      ins: { balance: 'roundrobin', cookie: { name: 'SERVERID', indirect: true, nocache: true, httponly: true, secure: true, attributes: ['SameSite=Lax'] }, servers },
      direct: { balance: 'roundrobin', cookie: { name: 'SERVERID' }, servers },
      dated: { balance: 'roundrobin', cookie: { name: 'SRV', maxidle: '30m', maxlife: '8h' }, servers },
      rw: { balance: 'roundrobin', cookie: { name: 'SERVERID', mode: 'rewrite' }, servers },
      pfx: { balance: 'roundrobin', cookie: { name: 'JSESSIONID', mode: 'prefix' }, servers },
      src: { balance: 'roundrobin', stickTable: { key: 'src', expire: '1s' }, servers },
      user: { balance: 'roundrobin', stickTable: { key: 'test.header(x-user)', size: 3 }, servers },
      remote: { balance: 'roundrobin', stickTable: { key: 'test.header(x-user)', store: 'async-memory' }, servers },
    };
    const frontends: Record<string, unknown> = {};
    for (const name of Object.keys(backends)) frontends[name] = { bind: '127.0.0.1:0', defaultBackend: name };
    gw = await startTestGateway(
      { plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stickiness', FIXTURE], global: { logLevel: 'warn' }, frontends, backends },
      { baseDir: __dirname },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await Promise.all((ups ?? []).map((u) => u.close()));
  });

  describe('cookie insert', () => {
    it('inserts the server cookie with its attributes, then keeps the client on that server', async () => {
      const first = await get(gw.url('/', 'ins'));
      expect(first.setCookie).toHaveLength(1);
      const line = first.setCookie[0]!;
      const value = { a: 'A', b: 'B', c: 'c' }[first.upstream as 'a' | 'b' | 'c'];
      expect(line).toBe(`SERVERID=${value}; path=/; HttpOnly; Secure; SameSite=Lax`);
      expect(first.cacheControl).toBe('private');
      for (let i = 0; i < 10; i++) {
        const again = await get(gw.url('/', 'ins'), `x=1; ${pair(line)}; y=2`);
        expect(again.upstream).toBe(first.upstream);
        expect(again.setCookie).toEqual([]); // it already has a valid cookie for this server
        expect(again.sawCookie).toBe('x=1; y=2'); // indirect: the server never sees SERVERID
      }
    });

    it('without a cookie, clients are balanced as usual', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await get(gw.url('/', 'ins'))).upstream);
      expect(seen).toEqual(new Set(['a', 'b', 'c']));
    });

    it('nocache turns public into private on responses that set the cookie', async () => {
      const r = await get(gw.url('/public', 'ins'));
      expect(r.cacheControl).toBe('private, max-age=60');
    });

    it('indirect drops a cookie of the same name set by the server', async () => {
      const r = await get(gw.url('/set', 'ins'), 'SERVERID=B');
      expect(r.upstream).toBe('b');
      expect(r.setCookie.map(pair)).toEqual(['JSESSIONID=sess42', 'other=1']);
    });

    it('without indirect the server sees the cookie; a cookie for an unknown server is replaced', async () => {
      const r = await get(gw.url('/', 'direct'), 'SERVERID=A');
      expect(r.upstream).toBe('a');
      expect(r.sawCookie).toBe('SERVERID=A');
      expect(r.setCookie).toEqual([]);
      const stale = await get(gw.url('/', 'direct'), 'SERVERID=gone');
      expect(stale.setCookie.map(pair)).toEqual([`SERVERID=${{ a: 'A', b: 'B', c: 'c' }[stale.upstream as 'a']}`]);
    });

    it('a server that goes down loses its clients to another server, which re-issues the cookie', async () => {
      const b = gw.gateway.backends.get('ins')!.server('b')!;
      b.setHealth('down', 'test');
      try {
        const r = await get(gw.url('/', 'ins'), 'SERVERID=B');
        expect(r.upstream).not.toBe('b');
        expect(pair(r.setCookie[0])).not.toBe('SERVERID=B');
      } finally {
        b.setHealth('up', 'test');
      }
      expect((await get(gw.url('/', 'ins'), 'SERVERID=B')).upstream).toBe('b');
    });

    // Persistent clients finish their sessions on a draining server (SDK AdminState, HAProxy).
    it('a draining server keeps its persistent clients and gets no new ones', async () => {
      const a = gw.gateway.backends.get('ins')!.server('a')!;
      a.setAdmin('drain', 'test');
      try {
        for (let i = 0; i < 6; i++) expect((await get(gw.url('/', 'ins'))).upstream).not.toBe('a');
        expect((await get(gw.url('/', 'ins'), 'SERVERID=A')).upstream).toBe('a');
      } finally {
        a.setAdmin('ready', 'test');
      }
    });

    it('maxidle/maxlife: the value carries dates; an idle or too old cookie is ignored', async () => {
      const first = await get(gw.url('/', 'dated'));
      const [srv, last, born] = pair(first.setCookie[0]).slice('SRV='.length).split('|');
      const now = Math.floor(Date.now() / 1000);
      expect(Math.abs(parseInt(last!, 36) - now)).toBeLessThanOrEqual(5);
      expect(born).toBe(last);
      // Fresh cookie: same server, nothing re-sent (refreshed only after a quarter of maxidle).
      const fresh = await get(gw.url('/', 'dated'), pair(first.setCookie[0]));
      expect(fresh.upstream).toBe(first.upstream);
      expect(fresh.setCookie).toEqual([]);
      // Last seen 25 minutes ago: still valid (maxidle 30m) and re-issued with a new date, same birth.
      const b36 = (s: number): string => s.toString(36);
      const old = await get(gw.url('/', 'dated'), `SRV=${srv}|${b36(now - 1500)}|${b36(now - 3600)}`);
      expect(old.upstream).toBe(first.upstream);
      const [, newLast, sameBorn] = pair(old.setCookie[0]).slice('SRV='.length).split('|');
      expect(parseInt(newLast!, 36)).toBeGreaterThanOrEqual(now - 5);
      expect(sameBorn).toBe(b36(now - 3600));
      // Idle 31 minutes, or born 9 hours ago: ignored, so the balancer picks and a new cookie starts.
      for (const cookie of [`SRV=${srv}|${b36(now - 1860)}|${b36(now - 3600)}`, `SRV=${srv}|${b36(now)}|${b36(now - 9 * 3600)}`]) {
        const r = await get(gw.url('/', 'dated'), cookie);
        const [, l, f] = pair(r.setCookie[0]).slice('SRV='.length).split('|');
        expect(f).toBe(l);
      }
    });
  });

  describe('cookie rewrite and prefix', () => {
    it('rewrite: the server sets the cookie, the gateway rewrites its value to the server cookie', async () => {
      const r = await get(gw.url('/set', 'rw'));
      const want = { a: 'A', b: 'B', c: 'c' }[r.upstream as 'a'];
      expect(r.setCookie).toContain(`SERVERID=${want}; Path=/`);
      for (let i = 0; i < 5; i++) expect((await get(gw.url('/', 'rw'), `SERVERID=${want}`)).upstream).toBe(r.upstream);
    });

    it('prefix: the application cookie gets "<server>~" on the way out and loses it on the way in', async () => {
      const r = await get(gw.url('/set', 'pfx'));
      const want = { a: 'A', b: 'B', c: 'c' }[r.upstream as 'a'];
      expect(r.setCookie).toContain(`JSESSIONID=${want}~sess42; Path=/; HttpOnly`);
      for (let i = 0; i < 5; i++) {
        const again = await get(gw.url('/', 'pfx'), `k=v; JSESSIONID=${want}~sess42`);
        expect(again.upstream).toBe(r.upstream);
        expect(again.sawCookie).toBe('k=v; JSESSIONID=sess42');
      }
    });
  });

  describe('stick tables', () => {
    it('key src: one client address sticks to one server until the entry expires', async () => {
      const first = (await get(gw.url('/', 'src'))).upstream;
      for (let i = 0; i < 8; i++) expect((await get(gw.url('/', 'src'))).upstream).toBe(first);
      // expire: 1s. Wait for the entry to expire (a read does not refresh it), with a deadline.
      const { name, store } = gw.gateway.backends.get('src')!.data.get(STICK_TABLE_DATA) as { name: string; store: StickStore };
      expect(await store.get(name, '127.0.0.1')).toBeDefined();
      const deadline = Date.now() + 10_000;
      while ((await store.get(name, '127.0.0.1')) !== undefined) {
        if (Date.now() > deadline) throw new Error('the stick entry did not expire within 10 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      // Round-robin resumes where it stopped, so the next pick is another server.
      expect((await get(gw.url('/', 'src'))).upstream).not.toBe(first);
    });

    it('any fetch as key: each user sticks to the server of its first request', async () => {
      const home = new Map<string, string>();
      for (let u = 0; u < 3; u++) home.set(`u${u}`, (await get(gw.url('/', 'user'), undefined, { 'x-user': `u${u}` })).upstream);
      expect(new Set(home.values()).size).toBe(3); // first requests were balanced
      for (let round = 0; round < 3; round++) {
        for (const [user, server] of home) expect((await get(gw.url('/', 'user'), undefined, { 'x-user': user })).upstream).toBe(server);
      }
    });

    it('size bounds the table: the least recently stored keys are dropped first', async () => {
      // size: 3. u0..u2 are stored (previous test); a fourth user pushes out the oldest (u0).
      const u0 = (await get(gw.url('/', 'user'), undefined, { 'x-user': 'u0' })).upstream; // refresh u0: now newest
      await get(gw.url('/', 'user'), undefined, { 'x-user': 'u3' }); // drops u1
      const { name, store } = gw.gateway.backends.get('user')!.data.get(STICK_TABLE_DATA) as { name: string; store: StickStore };
      expect(name).toBe('user');
      expect(await store.size('user')).toBe(3);
      expect(await store.get('user', 'u1')).toBeUndefined();
      expect(await store.get('user', 'u0')).toBe(u0);
      expect(await store.get('user', 'u3')).toBeDefined();
      expect((await get(gw.url('/', 'user'), undefined, { 'x-user': 'u0' })).upstream).toBe(u0);
    });

    it('runtime commands show and clear entries', async () => {
      const cmd = (name: string): RuntimeCommand => gw.gateway.slots.get<RuntimeCommand>(RUNTIME_COMMAND_SLOT, name)!;
      const home = (await get(gw.url('/', 'user'), undefined, { 'x-user': 'ops' })).upstream;
      expect(await cmd('stick show').run(gw.gateway, { backend: 'user', key: 'ops' })).toEqual({ backend: 'user', table: 'user', key: 'ops', server: home });
      expect(await cmd('stick show').run(gw.gateway, { backend: 'user' })).toMatchObject({ entries: 3 });
      expect(await cmd('stick clear').run(gw.gateway, { backend: 'user', key: 'ops' })).toMatchObject({ cleared: true });
      expect(await cmd('stick show').run(gw.gateway, { backend: 'user', key: 'ops' })).toMatchObject({ server: null });
      await expect(Promise.resolve().then(() => cmd('stick show').run(gw.gateway, { backend: 'ins' }))).rejects.toMatchObject({ code: 'SWY_ERR_STICK_NO_TABLE' });
      await expect(Promise.resolve().then(() => cmd('stick clear').run(gw.gateway, { backend: 'user' }))).rejects.toMatchObject({ code: 'SWY_ERR_STICK_COMMAND_ARGS' });
    });

    it('an asynchronous store is read before selection and written after it', async () => {
      const { asyncCalls } = await import('./fixtures/test-plugin');
      const before = { ...asyncCalls };
      const first = (await get(gw.url('/', 'remote'), undefined, { 'x-user': 'zoe' })).upstream;
      for (let i = 0; i < 5; i++) expect((await get(gw.url('/', 'remote'), undefined, { 'x-user': 'zoe' })).upstream).toBe(first);
      expect(asyncCalls.get - before.get).toBeGreaterThanOrEqual(6);
      expect(asyncCalls.set - before.set).toBeGreaterThanOrEqual(6);
    });
  });
});
