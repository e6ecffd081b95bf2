import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { adminCommand, RUNTIME_API_SERVICE, splitCommands, RequestReader, type RuntimeApiService } from '@switchyard/plugin-runtime-api';

const exec = promisify(execFile);
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const OPERATOR_TOKEN = 'operator-token-0123456789ab';
const USER_TOKEN = 'user-token-0123456789abcdef';
const TCP_TOKEN = 'tcp-cli-token-0123456789ab';

/** Sends one request (one line, or several in prompt mode) and reads until the server closes. */
function talk(where: { path: string } | { port: number }, text: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = 'path' in where ? net.connect(where.path) : net.connect(where.port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close after ${ms} ms; got ${JSON.stringify(out)}`));
    }, ms);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.write(text);
  });
}

describe('HAProxy CLI on the runtime API (stats socket)', () => {
  let one: Upstream;
  let two: Upstream;
  let gw: TestGateway;
  let dir: string;
  let adminSock: string;
  let userSock: string;
  let operatorSock: string;
  let tcpPort: number;
  let api: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-cli-sock-'));
    adminSock = path.join(dir, 'admin.sock');
    userSock = path.join(dir, 'user.sock');
    operatorSock = path.join(dir, 'operator.sock');
    one = await startUpstream({ name: 'one' });
    two = await startUpstream({ name: 'two' });
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-runtime-api', '@switchyard/plugin-stats'],
      runtimeApi: {
        enabled: true,
        listen: '127.0.0.1:0',
        tokens: [
          { token: ADMIN_TOKEN, level: 'admin' },
          { token: OPERATOR_TOKEN, level: 'operator' },
          { token: USER_TOKEN, level: 'user' },
        ],
        sockets: [
          { path: adminSock, level: 'admin', mode: '600' },
          { path: userSock, level: 'user', mode: '660' },
          { path: operatorSock },
          { address: 0, level: 'admin', token: TCP_TOKEN },
        ],
      },
      stats: { listen: '127.0.0.1:0' },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: {
        api: { servers: [{ name: 's1', address: one.address, weight: 3 }, { name: 's2', address: two.address, backup: true }] },
        fixed: { balance: 'static-rr', servers: [{ name: 'f1', address: one.address, weight: 2 }] },
      },
    });
    const svc = gw.gateway.container.resolve<RuntimeApiService>(RUNTIME_API_SERVICE);
    const where = await svc.socketsReady;
    tcpPort = Number(/:(\d+)$/.exec(where[3]!)![1]);
    api = (await svc.ready).url;
  });

  afterAll(async () => {
    await gw?.stop();
    await one?.close();
    await two?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const s1 = () => gw.gateway.backends.get('api')!.server('s1')!;

  it('splits request lines like HAProxy: ";" between commands, backslash escapes, payloads after <<', () => {
    expect(splitCommands('show info;show stat')).toEqual([['show', 'info'], ['show', 'stat']]);
    expect(splitCommands('add acl f Mon\\ User\\ Agent\\;;show acl f')).toEqual([['add', 'acl', 'f', 'Mon User Agent;'], ['show', 'acl', 'f']]);
    const r = new RequestReader();
    expect(r.push('add map f <<\nk1 v1\n').requests).toEqual([]);
    expect(r.push('k2 v2\n\nshow info\n').requests).toEqual([
      { commands: [['add', 'map', 'f']], payload: 'k1 v1\nk2 v2' },
      { commands: [['show', 'info']] },
    ]);
  });

  it('unix socket with its file mode; answers end with an empty line and the connection closes', async () => {
    expect(fs.statSync(adminSock).mode & 0o777).toBe(0o600);
    expect(fs.statSync(userSock).mode & 0o777).toBe(0o660);
    expect(fs.statSync(adminSock).isSocket()).toBe(true);
    const info = await talk({ path: adminSock }, 'show info\n');
    expect(info).toMatch(/^Name: Switchyard\nVersion: \d+\.\d+\.\d+\n/);
    expect(info).toContain(`\nPid: ${process.pid}\n`);
    expect(info.endsWith('\n\n')).toBe(true);
  });

  it('a real client (socat) runs several commands on one line', async () => {
    const { stdout } = await exec('sh', ['-c', `echo 'show servers state api; get weight api/s1' | socat stdio unix-connect:${adminSock}`]);
    const [state, weight] = stdout.split('\n\n');
    expect(state).toMatch(/^1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight /);
    expect(state).toMatch(/\n\d+ api 1 s1 127\.0\.0\.1 2 0 3 3 \d+ /);
    expect(state).toMatch(/\n\d+ api 2 s2 127\.0\.0\.1 2 0 1 1 /);
    expect(weight).toBe('3 (initial 3)');
  });

  it('show stat is the stats plugin\'s CSV', async () => {
    const csv = await talk({ path: userSock }, 'show stat\n');
    expect(csv.startsWith('# pxname,svname,')).toBe(true);
    expect(csv).toMatch(/\napi,s1,/);
    expect(csv).toMatch(/\napi,BACKEND,/);
    expect(csv.endsWith('\n\n')).toBe(true);
  });

  it('prompt mode keeps the session open, with "> " after each answer, until quit', async () => {
    const out = await talk({ path: adminSock }, 'prompt\nget weight api/s1\nquit\n');
    expect(out).toBe('\n> 3 (initial 3)\n\n> ');
  });

  it('operator may drain and weigh; disable/enable server is maintenance', async () => {
    expect(await talk({ path: operatorSock }, 'set server api/s1 state drain\n')).toBe('\n');
    expect(s1().admin).toBe('drain');
    expect(await talk({ path: operatorSock }, 'disable server api/s1\n')).toBe('\n');
    expect(s1().admin).toBe('maint');
    expect(await talk({ path: operatorSock }, 'enable server api/s1\n')).toBe('\n');
    expect(s1().admin).toBe('ready');
    expect(await talk({ path: operatorSock }, 'set server api/s1 state sleep\n')).toBe("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
    expect(await talk({ path: operatorSock }, 'set server api/nope state ready\n')).toBe('No such server.\n\n');
    expect(await talk({ path: operatorSock }, 'set server nope/s1 state ready\n')).toBe('No such backend.\n\n');
  });

  it('refuses a lower-level client: user may not drain, operator may not add servers (and the server is unchanged)', async () => {
    expect(await talk({ path: userSock }, 'disable server api/s1\n')).toBe('Permission denied\n\n');
    expect(await talk({ path: userSock }, 'set weight api/s1 1\n')).toBe('Permission denied\n\n');
    expect(await talk({ path: userSock }, 'set server state api/s1 maint\n')).toBe('Permission denied\n\n');
    expect(s1().admin).toBe('ready');
    expect(s1().weight).toBe(3);
    expect(await talk({ path: operatorSock }, `add server api/s9 ${one.address}\n`)).toBe('Permission denied\n\n');
    expect(await talk({ path: operatorSock }, 'del server api/s2\n')).toBe('Permission denied\n\n');
    expect(gw.gateway.backends.get('api')!.servers.map((s) => s.name)).toEqual(['s1', 's2']);
    // A session may lower its level, never raise it.
    expect(await talk({ path: operatorSock }, 'admin\n')).toBe('Permission denied\n\n');
    expect(await talk({ path: adminSock }, 'user; disable server api/s1\n')).toBe('\nPermission denied\n\n');
    // help lists only what the level allows.
    const help = await talk({ path: userSock }, 'help\n');
    expect(help).toContain('show servers state');
    expect(help).not.toContain('disable server');
  });

  it('admin adds a server (in maintenance, as HAProxy does), enables it, and deletes it only in maintenance', async () => {
    expect(await talk({ path: adminSock }, `add server api/s9 ${one.address} weight 2\n`)).toBe('New server registered.\n\n');
    const s9 = gw.gateway.backends.get('api')!.server('s9')!;
    expect(s9.admin).toBe('maint');
    expect(await talk({ path: adminSock }, 'enable server api/s9\n')).toBe('\n');
    expect(s9.admin).toBe('ready');
    expect(await talk({ path: adminSock }, 'del server api/s9\n')).toBe('Only servers in maintenance mode can be deleted.\n\n');
    expect(await talk({ path: adminSock }, 'disable server api/s9; del server api/s9\n')).toBe('\nServer deleted.\n\n');
    expect(gw.gateway.backends.get('api')!.server('s9')).toBeUndefined();
  });

  it('TCP socket: loopback, and nothing runs before `auth <token>`; a wrong token closes the session', async () => {
    expect(await talk({ port: tcpPort }, 'show info\n')).toBe('Permission denied: this socket needs `auth <token>` first.\n\n');
    expect(await talk({ port: tcpPort }, 'auth wrong-token-0000000000000; disable server api/s1\n')).toBe('Permission denied: wrong token.\n');
    expect(s1().admin).toBe('ready');
    expect(await talk({ port: tcpPort }, `auth ${TCP_TOKEN}; get weight api/s1\n`)).toBe('\n3 (initial 3)\n\n');
    // A bare port listens on loopback only.
    const svc = gw.gateway.container.resolve<RuntimeApiService>(RUNTIME_API_SERVICE);
    expect((await svc.socketsReady)[3]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('unknown commands say so and list the valid ones', async () => {
    const out = await talk({ path: adminSock }, 'launch rockets\n');
    expect(out).toMatch(/^Unknown command: 'launch rockets'\nThe following commands are valid at this level:\n/);
  });

  describe('set weight <b>/<s> <w>[%] with HAProxy\'s semantics', () => {
    const weigh = async (server: string, value: string): Promise<string> => talk({ path: adminSock }, `set weight ${server} ${value}\n`);
    afterEach(() => s1().setWeight(3, 'test'));

    it('a percentage is of the initial weight, truncated (150% of 3 is 4, 50% of 3 is 1, 10% of 3 is 0)', async () => {
      expect(await weigh('api/s1', '150%')).toBe('\n');
      expect(s1().weight).toBe(4);
      expect(await weigh('api/s1', '50%')).toBe('\n');
      expect(s1().weight).toBe(1);
      expect(await weigh('api/s1', '10%')).toBe('\n');
      expect(s1().weight).toBe(0);
      expect(await weigh('api/s1', '100%')).toBe('\n');
      expect(s1().weight).toBe(3);
    });

    it('50% of a weight-1 server is 0 (it takes no new traffic), 0% is 0, and caps at 256', async () => {
      const s2 = gw.gateway.backends.get('api')!.server('s2')!;
      expect(await weigh('api/s2', '50%')).toBe('\n');
      expect(s2.weight).toBe(0);
      expect(await weigh('api/s2', '199%')).toBe('\n');
      expect(s2.weight).toBe(1);
      expect(await weigh('api/s1', '99999%')).toBe('\n');
      expect(s1().weight).toBe(256);
      expect(await weigh('api/s1', '0%')).toBe('\n');
      expect(s1().weight).toBe(0);
      s2.setWeight(1, 'test');
    });

    it('refuses what HAProxy refuses, with its messages', async () => {
      expect(await weigh('api/s1', '-5%')).toBe('Relative weight must be positive.\n\n');
      expect(await weigh('api/s1', '257')).toBe('Absolute weight can only be between 0 and 256 inclusive.\n\n');
      expect(await weigh('api/s1', '-1')).toBe('Absolute weight can only be between 0 and 256 inclusive.\n\n');
      expect(await weigh('api/s1', '12abc')).toBe('Trailing garbage in weight string\n\n');
      expect(await weigh('api/s1', '50.5%')).toBe('Trailing garbage in weight string\n\n');
      expect(await weigh('api/s1', 'x')).toBe('Empty weight string empty or preceded by garbage\n\n');
      expect(await talk({ path: adminSock }, 'set weight api/s1\n')).toBe('Require <weight> or <weight%>.\n\n');
      expect(s1().weight).toBe(3);
    });

    it('a static algorithm (static-rr) takes only 0 and the initial weight', async () => {
      const f1 = gw.gateway.backends.get('fixed')!.server('f1')!;
      expect(await weigh('fixed/f1', '50%')).toBe("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n");
      expect(await weigh('fixed/f1', '3')).toBe("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n");
      expect(f1.weight).toBe(2);
      expect(await weigh('fixed/f1', '0%')).toBe('\n');
      expect(f1.weight).toBe(0);
      expect(await weigh('fixed/f1', '100%')).toBe('\n');
      expect(f1.weight).toBe(2);
    });

    it('the HTTP API applies the same rules', async () => {
      const res = await request(`${api}/v1/commands/${encodeURIComponent('set server weight')}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ server: 'api/s2', weight: '50%' }),
      });
      expect(await res.body.json()).toMatchObject({ ok: true, result: { from: 1, to: 0 } });
      gw.gateway.backends.get('api')!.server('s2')!.setWeight(1, 'test');
    });
  });

  it('switchyard admin reads the config the CLI already loaded (no second load) and marks backup servers', async () => {
    let out = '';
    let err = '';
    const code = await adminCommand.run({
      argv: ['show', 'servers', 'api'],
      configFile: '/etc/switchyard/gw.yaml',
      config: { runtimeApi: { enabled: true, listen: api.replace('http://', ''), tokens: [{ token: USER_TOKEN, level: 'user' }, { token: ADMIN_TOKEN, level: 'admin' }] } } as never,
      out: (t) => (out += t),
      err: (t) => (err += t),
      prepare: () => Promise.reject(new Error('a second config load')),
    });
    // adminCommand reads --config from the process's argv when its own has none.
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(/^server\s+role\s+address\s+status\s+weight/);
    expect(out).toMatch(/\napi\/s1\s+active\s+127\.0\.0\.1:\d+\s+UP\s+3\s/);
    expect(out).toMatch(/\napi\/s2\s+backup\s+127\.0\.0\.1:\d+\s+UP\s+1\s/);
  });

  describe('HTTP runtime API levels', () => {
    const run = async (command: string, args: Record<string, unknown>, token?: string) => {
      const res = await request(`${api}/v1/commands/${encodeURIComponent(command)}`, {
        method: 'POST',
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
        body: JSON.stringify(args),
      });
      return { status: res.statusCode, body: (await res.body.json()) as { ok: boolean; error?: { code: string; message: string } } };
    };

    it('no token: 401 for every command', async () => {
      expect(await run('show servers', {})).toMatchObject({ status: 401, body: { error: { code: 'SWY_ERR_RUNTIME_UNAUTHORIZED' } } });
      expect(await run('set server state', { server: 'api/s1', state: 'maint' })).toMatchObject({ status: 401 });
      expect(s1().admin).toBe('ready');
    });

    it('user may show, not drain: 403 naming the level needed', async () => {
      expect((await run('show servers', {}, USER_TOKEN)).status).toBe(200);
      const r = await run('set server state', { server: 'api/s1', state: 'drain' }, USER_TOKEN);
      expect(r).toMatchObject({ status: 403, body: { error: { code: 'SWY_ERR_RUNTIME_FORBIDDEN', message: 'command "set server state" needs level operator; this token has level user' } } });
      expect(s1().admin).toBe('ready');
    });

    it('operator may drain and set weights, not add or delete servers, nor reload', async () => {
      expect((await run('set server state', { server: 'api/s1', state: 'drain' }, OPERATOR_TOKEN)).status).toBe(200);
      expect(s1().admin).toBe('drain');
      expect((await run('set server state', { server: 'api/s1', state: 'ready' }, OPERATOR_TOKEN)).status).toBe(200);
      const add = await run('add server', { backend: 'api', name: 's7', address: one.address }, OPERATOR_TOKEN);
      expect(add).toMatchObject({ status: 403, body: { error: { code: 'SWY_ERR_RUNTIME_FORBIDDEN' } } });
      expect((await run('del server', { server: 'api/s2' }, OPERATOR_TOKEN)).status).toBe(403);
      expect((await run('reload', {}, OPERATOR_TOKEN)).status).toBe(403);
      expect(gw.gateway.backends.get('api')!.servers.map((s) => s.name)).toEqual(['s1', 's2']);
    });

    it('admin may add and delete servers', async () => {
      expect((await run('add server', { backend: 'api', name: 's7', address: one.address }, ADMIN_TOKEN)).status).toBe(200);
      expect((await run('del server', { server: 'api/s7' }, ADMIN_TOKEN)).status).toBe(200);
    });

    it('GET /v1/commands says which commands this token may run', async () => {
      const res = await request(`${api}/v1/commands`, { headers: { authorization: `Bearer ${USER_TOKEN}` } });
      const list = ((await res.body.json()) as { result: Array<{ name: string; level: string; allowed: boolean }> }).result;
      expect(list.find((c) => c.name === 'show servers')).toMatchObject({ level: 'user', allowed: true });
      expect(list.find((c) => c.name === 'set server weight')).toMatchObject({ level: 'operator', allowed: false });
      expect(list.find((c) => c.name === 'add server')).toMatchObject({ level: 'admin', allowed: false });
    });
  });
});
