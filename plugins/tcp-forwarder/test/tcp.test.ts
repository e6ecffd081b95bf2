import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import Redis from 'ioredis';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => (Date.now() > deadline ? reject(new Error(`port ${port} never opened`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

describe('TCP mode', () => {
  let redisProc: ChildProcess;
  let redisPorts: number[];
  let halfClose: net.Server;
  let gw: TestGateway;

  beforeAll(async () => {
    redisPorts = [await freePort(), await freePort()];
    redisProc = spawn('redis-server', ['--port', String(redisPorts[0]), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort(redisPorts[0]!);
    // Answers only after the client half-closes: proves FIN is passed through and the
    // other direction stays open.
    halfClose = net.createServer({ allowHalfOpen: true }, (s) => {
      const got: Buffer[] = [];
      s.on('data', (c) => got.push(c));
      s.on('end', () => s.end(`got:${Buffer.concat(got).toString()}:bye`));
    });
    await new Promise<void>((r) => halfClose.listen(0, '127.0.0.1', () => r()));
    gw = await startTestGateway({
      frontends: {
        db: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'redis' },
        half: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'half' },
      },
      backends: {
        redis: { mode: 'tcp', servers: [{ name: 'r1', address: `127.0.0.1:${redisPorts[0]}` }] },
        half: { mode: 'tcp', servers: [{ address: `127.0.0.1:${(halfClose.address() as net.AddressInfo).port}` }] },
      },
    });
  });
  afterAll(async () => {
    await gw.stop();
    redisProc.kill('SIGTERM');
    halfClose.close();
  });

  it('a Redis server works through the gateway', async () => {
    const client = new Redis({ host: '127.0.0.1', port: gw.port('db'), lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    await client.set('greeting', 'through switchyard');
    expect(await client.get('greeting')).toBe('through switchyard');
    const n = 200;
    const pipeline = client.pipeline();
    for (let i = 0; i < n; i++) pipeline.incr('counter');
    const results = await pipeline.exec();
    expect(results?.[n - 1]?.[1]).toBe(n);
    client.disconnect();
  });

  it('passes a half-close through and keeps the other direction open', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: gw.port('half'), allowHalfOpen: true }, () => {
        s.write('hello');
        s.end();
      });
      const chunks: Buffer[] = [];
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks).toString()));
      s.on('error', reject);
    });
    expect(answer).toBe('got:hello:bye');
  });

  it('the tunnel timeout closes a session idle both ways, not one busy in either direction', async () => {
    const TUNNEL = 400;
    const TICKS = 8; // 8 × 100 ms: twice the tunnel timeout of activity before the quiet
    // Mode "talk": the server writes a byte every 100 ms; mode "listen": it only reads.
    const server = net.createServer((s) => {
      s.once('data', (mode) => {
        if (mode.toString() !== 'talk') return;
        let n = 0;
        const t = setInterval(() => {
          if (++n > TICKS || s.destroyed) return void clearInterval(t);
          s.write('x');
        }, 100);
        s.on('close', () => clearInterval(t));
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const tgw = await startTestGateway({
      frontends: { t: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 't' } },
      backends: { t: { mode: 'tcp', timeouts: { tunnel: `${TUNNEL}ms` }, servers: [{ address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` }] } },
    });
    const session = (mode: 'talk' | 'listen'): Promise<{ got: number; lastActivity: number; closedAt: number }> =>
      new Promise((resolve, reject) => {
        let got = 0;
        let lastActivity = Date.now();
        const s = net.connect({ host: '127.0.0.1', port: tgw.port('t') }, () => {
          s.write(mode);
          if (mode === 'listen') {
            let n = 0;
            const t = setInterval(() => {
              if (++n > TICKS || s.destroyed) return void clearInterval(t);
              s.write('y');
              lastActivity = Date.now();
            }, 100);
          }
        });
        s.on('data', (c) => {
          got += c.length;
          lastActivity = Date.now();
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve({ got, lastActivity, closedAt: Date.now() }));
        setTimeout(() => reject(new Error('the session was never closed')), 10_000).unref();
      });
    try {
      const [talk, listen] = await Promise.all([session('talk'), session('listen')]);
      // Server -> client activity kept the session open for all the bytes, then the quiet closed it.
      expect(talk.got).toBe(TICKS);
      expect(talk.closedAt - talk.lastActivity).toBeGreaterThanOrEqual(TUNNEL - 50);
      // Client -> server activity alone kept it open too.
      expect(listen.closedAt - listen.lastActivity).toBeGreaterThanOrEqual(TUNNEL - 50);
    } finally {
      await tgw.stop();
      server.close();
    }
  });

  it('a server that refuses closes the client connection and logs it', async () => {
    await gw.stop();
    gw = await startTestGateway({
      frontends: { db: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'gone' } },
      backends: { gone: { mode: 'tcp', servers: [{ name: 'nobody', address: `127.0.0.1:${redisPorts[1]}` }] } },
    });
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: gw.port('db') });
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    expect(closed).toBe(true);
    // The log line may be written just after the client saw the close: wait for it, with a deadline.
    for (const deadline = Date.now() + 5_000; !gw.logs.some((l) => l.code === 'SWY_ERR_FORWARD_REFUSED') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    expect(gw.logs.find((l) => l.code === 'SWY_ERR_FORWARD_REFUSED')).toMatchObject({ frontend: 'db', backend: 'gone', server: 'nobody' });
  });
});
