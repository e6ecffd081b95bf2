/**
 * What database failover relies on in TCP mode, with long-lived sessions through the
 * gateway: on-marked-down shutdown-sessions, on-marked-up shutdown-backup-sessions,
 * backups and allbackups, stick on src, leastconn counted over sessions.
 */
import * as net from 'node:net';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { until } from './databases';

/** A TCP server that greets each connection with its name and keeps it open; it can stop and start listening. */
class Greeter {
  readonly sockets = new Set<net.Socket>();
  #server: net.Server | null = null;
  constructor(readonly name: string, readonly port: number) {}

  static async create(name: string, listening = true): Promise<Greeter> {
    const g = new Greeter(name, await freePort());
    if (listening) await g.listen();
    return g;
  }

  listen(): Promise<void> {
    const server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      s.write(`${this.name}\n`);
    });
    this.#server = server;
    return new Promise((r) => server.listen(this.port, '127.0.0.1', () => r()));
  }

  /** Stops accepting; sessions already open stay open (a stuck database, a half-dead host). */
  stopListening(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    // close() stops accepting at once; its callback would wait for the open sessions to end.
    s?.close();
    return new Promise((r) => setImmediate(r));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await this.stopListening();
  }
}

/** A session through the gateway: which server greeted it, and whether it closed. */
async function session(port: number): Promise<{ name: string; socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  const name = await new Promise<string>((resolve, reject) => {
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    socket.once('close', () => reject(new Error('closed before a greeting')));
  });
  return { name, socket, closed: () => closed };
}

const check = { type: 'tcp', inter: '100ms', timeout: '1s', rise: 1, fall: 1 };

describe('TCP sessions across server state changes', () => {
  const greeters: Greeter[] = [];
  const gateways: TestGateway[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const g of gateways.splice(0)) await g.stop();
    for (const g of greeters.splice(0)) await g.close();
  });
  async function start(backend: Record<string, unknown>): Promise<TestGateway> {
    const gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard'],
      frontends: { db: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'db' } },
      backends: { db: { mode: 'tcp', ...backend } },
    });
    gateways.push(gw);
    return gw;
  }
  async function greeter(name: string, listening = true): Promise<Greeter> {
    const g = await Greeter.create(name, listening);
    greeters.push(g);
    return g;
  }
  async function open(gw: TestGateway) {
    const s = await session(gw.port('db'));
    sockets.push(s.socket);
    return s;
  }

  it.each([[true], [false]])('on-marked-down shutdown-sessions=%s: a server that stops answering has its open sessions closed (or not)', async (shutdown) => {
    const s1 = await greeter('s1');
    const s2 = await greeter('s2');
    const gw = await start({
      balance: 'first',
      healthCheck: check,
      servers: [
        { name: 's1', address: `127.0.0.1:${s1.port}`, ...(shutdown ? { onMarkedDown: 'shutdown-sessions' } : {}) },
        { name: 's2', address: `127.0.0.1:${s2.port}` },
      ],
    });
    const a = await open(gw);
    const b = await open(gw);
    expect([a.name, b.name]).toEqual(['s1', 's1']);
    await s1.stopListening();
    const srv = gw.gateway.backends.get('db')!.server('s1')!;
    await until('s1 DOWN', () => srv.health === 'down', 5000);
    if (shutdown) {
      await until('the sessions on s1 closed', () => a.closed() && b.closed(), 2000);
      expect(gw.logs.some((l) => l.msg === 'Server db/s1: 2 session(s) closed (on-marked-down shutdown-sessions)' && l.termination === 'D')).toBe(true);
    } else {
      // Without the option they stay, as in HAProxy: the client keeps talking to the old server.
      await until('one more check of s1', () => gw.logs.filter((l) => String(l.msg).startsWith('Server db/s1 is DOWN')).length === 1, 2000);
      expect([a.closed(), b.closed(), s1.sockets.size]).toEqual([false, false, 2]);
    }
    expect((await open(gw)).name).toBe('s2');
  });

  it('on-marked-up shutdown-backup-sessions: the backups\' sessions close when the primary is back', async () => {
    const p = await greeter('primary', false);
    const b = await greeter('backup');
    const gw = await start({
      healthCheck: check,
      servers: [
        { name: 'p', address: `127.0.0.1:${p.port}`, onMarkedUp: 'shutdown-backup-sessions' },
        { name: 'b', address: `127.0.0.1:${b.port}`, backup: true },
      ],
    });
    const be = gw.gateway.backends.get('db')!;
    await until('p DOWN', () => be.server('p')!.health === 'down', 5000);
    const onBackup = [await open(gw), await open(gw)];
    expect(onBackup.map((s) => s.name)).toEqual(['backup', 'backup']);
    await p.listen();
    await until('p UP', () => be.server('p')!.health === 'up', 5000);
    await until('the backup sessions closed', () => onBackup.every((s) => s.closed()), 2000);
    expect(gw.logs.some((l) => l.msg === 'Server db/b: 2 session(s) closed (on-marked-up shutdown-backup-sessions)' && l.termination === 'U')).toBe(true);
    expect((await open(gw)).name).toBe('primary');
  });

  it.each([[false, ['b1', 'b1', 'b1', 'b1']], [true, ['b1', 'b2', 'b1', 'b2']]])('backups take over when no primary is UP (allBackups %s)', async (allBackups, expected) => {
    const p = await greeter('p', false);
    const b1 = await greeter('b1');
    const b2 = await greeter('b2');
    const gw = await start({
      allBackups,
      healthCheck: check,
      servers: [
        { name: 'p', address: `127.0.0.1:${p.port}` },
        { name: 'b1', address: `127.0.0.1:${b1.port}`, backup: true },
        { name: 'b2', address: `127.0.0.1:${b2.port}`, backup: true },
      ],
    });
    await until('p DOWN', () => gw.gateway.backends.get('db')!.server('p')!.health === 'down', 5000);
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push((await open(gw)).name);
    expect(names).toEqual(expected);
  });

  it('stick on src keeps a client on one server, and moves it when that server goes DOWN', async () => {
    const s1 = await greeter('s1');
    const s2 = await greeter('s2');
    const gw = await start({
      balance: 'roundrobin',
      stickTable: { key: 'src', expire: '30m' },
      healthCheck: check,
      servers: [
        { name: 's1', address: `127.0.0.1:${s1.port}`, onMarkedDown: 'shutdown-sessions' },
        { name: 's2', address: `127.0.0.1:${s2.port}`, onMarkedDown: 'shutdown-sessions' },
      ],
    });
    const first = await open(gw);
    const names = [first.name];
    for (let i = 0; i < 4; i++) names.push((await open(gw)).name);
    expect(new Set(names).size).toBe(1);
    const stuck = first.name === 's1' ? s1 : s2;
    await stuck.stopListening();
    await until('the stuck server DOWN', () => gw.gateway.backends.get('db')!.server(first.name)!.health === 'down', 5000);
    const moved = [];
    for (let i = 0; i < 3; i++) moved.push((await open(gw)).name);
    expect(moved).toEqual(Array(3).fill(first.name === 's1' ? 's2' : 's1'));
  });

  it('leastconn counts a session for its whole life', async () => {
    const s1 = await greeter('s1');
    const s2 = await greeter('s2');
    const gw = await start({ balance: 'leastconn', servers: [{ name: 's1', address: `127.0.0.1:${s1.port}` }, { name: 's2', address: `127.0.0.1:${s2.port}` }] });
    const open4 = [await open(gw), await open(gw), await open(gw), await open(gw)];
    const be = gw.gateway.backends.get('db')!;
    expect([be.server('s1')!.active, be.server('s2')!.active]).toEqual([2, 2]);
    // Two sessions on s1 end: the next two go to s1, which now has the fewest.
    const onS1 = open4.filter((s) => s.name === 's1');
    for (const s of onS1) s.socket.destroy();
    await until('s1 has no session', () => be.server('s1')!.active === 0, 2000);
    expect([(await open(gw)).name, (await open(gw)).name]).toEqual(['s1', 's1']);
  });
});

describe('on-marked-down shutdown-sessions in HTTP mode', () => {
  it('aborts the requests in flight on a server that goes DOWN', async () => {
    const http = await import('node:http');
    const held: Array<import('node:http').ServerResponse> = [];
    const slow = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('start\n'); // and never ends: a long poll, a stuck query
      held.push(res);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: { api: { servers: [{ name: 's1', address: `127.0.0.1:${(slow.address() as net.AddressInfo).port}`, onMarkedDown: 'shutdown-sessions' }] } },
    });
    try {
      const res = await fetch(gw.url('/long'));
      const reader = res.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('start\n');
      const ended = reader.read().then(() => 'ended', () => 'aborted');
      gw.gateway.backends.get('api')!.server('s1')!.setHealth('down', 'test');
      expect(await ended).toMatch(/^(ended|aborted)$/);
      expect(gw.logs.some((l) => l.msg === 'Server api/s1: 1 session(s) closed (on-marked-down shutdown-sessions)')).toBe(true);
    } finally {
      await gw.stop();
      for (const r of held) r.destroy();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });
});
