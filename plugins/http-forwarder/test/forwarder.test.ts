import * as net from 'node:net';
import * as http from 'node:http';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestGateway, startUpstream, freePort, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

/** Sends raw bytes and collects the whole answer until the gateway closes or `ms` pass. */
function rawExchange(port: number, payload: string, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(payload));
    const done = (): void => resolve(Buffer.concat(chunks).toString('latin1'));
    s.on('data', (c) => chunks.push(c));
    s.on('close', done);
    s.on('error', done);
    setTimeout(() => s.destroy(), ms).unref();
  });
}

describe('HTTP forwarder', () => {
  let up: Upstream;
  let gw: TestGateway;
  let wss: WebSocketServer;
  let wsPort: number;
  let deadPort: number;
  let resetServer: net.Server;
  let resetPort: number;
  let slow: Upstream;

  beforeAll(async () => {
    up = await startUpstream({
      name: 'echo',
      handler: (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
          res.writeHead(200, {
            'content-type': 'application/json',
            connection: 'x-hop-response, keep-alive',
            'x-hop-response': 'must not reach the client',
            'keep-alive': 'timeout=5',
            'set-cookie': ['a=1', 'b=2'],
          });
          res.end(body);
        });
      },
    });
    slow = await startUpstream({ name: 'slow', handler: () => undefined /* never answers */ });
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wsPort = (wss.address() as net.AddressInfo).port;
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.url}`);
      ws.on('message', (m) => ws.send(`echo:${m.toString()}`));
    });
    deadPort = await freePort();
    resetServer = net.createServer((s) => s.on('data', () => s.resetAndDestroy()));
    await new Promise<void>((r) => resetServer.listen(0, '127.0.0.1', () => r()));
    resetPort = (resetServer.address() as net.AddressInfo).port;
    gw = await startTestGateway({
      frontends: {
        web: { bind: '127.0.0.1:0', defaultBackend: 'echo', timeouts: { httpRequest: '600ms' } },
        ws: { bind: '127.0.0.1:0', defaultBackend: 'ws' },
        dead: { bind: '127.0.0.1:0', defaultBackend: 'dead' },
        reset: { bind: '127.0.0.1:0', defaultBackend: 'reset' },
        slow: { bind: '127.0.0.1:0', defaultBackend: 'slow' },
      },
      backends: {
        echo: { servers: [{ name: 'e1', address: up.address }] },
        ws: { servers: [{ name: 'w1', address: `127.0.0.1:${wsPort}` }] },
        dead: { servers: [{ name: 'gone', address: `127.0.0.1:${deadPort}` }] },
        reset: { servers: [{ name: 'rst', address: `127.0.0.1:${resetPort}` }] },
        slow: { servers: [{ name: 'sleepy', address: slow.address }], timeouts: { server: '300ms' } },
      },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
    await slow.close();
    wss.close();
    resetServer.close();
  });

  it('removes hop-by-hop headers and those named in Connection, both ways', async () => {
    const answer = await rawExchange(
      gw.port('web'),
      'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: x-private, close\r\nX-Private: secret\r\nKeep-Alive: timeout=1\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n',
    );
    const [head, body] = answer.split('\r\n\r\n');
    // The body arrives chunked: take the JSON object out of the single chunk.
    const seen = JSON.parse(body!.slice(body!.indexOf('{'), body!.lastIndexOf('}') + 1)) as { headers: Record<string, string> };
    expect(seen.headers['x-private']).toBeUndefined();
    expect(seen.headers['keep-alive']).toBeUndefined();
    expect(seen.headers['proxy-connection']).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('yes');
    expect(head).not.toMatch(/x-hop-response/i);
    expect(head).not.toMatch(/keep-alive: timeout=5/i);
    expect(head).toMatch(/set-cookie: a=1\r\nset-cookie: b=2/i);
  });

  it('streams request bodies to the server', async () => {
    const res = await request(gw.url('/post'), { method: 'POST', body: 'x'.repeat(100_000), headers: { 'content-type': 'text/plain' } });
    const seen = (await res.body.json()) as { body: string; method: string };
    expect(seen.method).toBe('POST');
    expect(seen.body.length).toBe(100_000);
  });

  it('forwards chunked request bodies', async () => {
    const answer = await rawExchange(
      gw.port('web'),
      'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('"body":"hello world"');
  });

  it('uses the authority of an absolute-form target as Host (RFC 9112 §3.2.2)', async () => {
    const answer = await rawExchange(gw.port('web'), 'GET http://shop.example/abs?q=1 HTTP/1.1\r\nHost: wrong.example\r\nConnection: close\r\n\r\n');
    expect(answer).toContain('"url":"/abs?q=1"');
    expect(answer).toContain('"host":"shop.example"');
  });

  it('refuses a request with both Content-Length and Transfer-Encoding, never forwarding it', async () => {
    const before = up.hits;
    const answer = await rawExchange(
      gw.port('web'),
      'POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(up.hits).toBe(before);
  });

  it('refuses duplicate Content-Length values and obsolete line folding', async () => {
    const before = up.hits;
    const a = await rawExchange(gw.port('web'), 'POST /dup HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    expect(a).toMatch(/^HTTP\/1\.1 400/);
    const b = await rawExchange(gw.port('web'), 'GET /fold HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n');
    expect(b).toMatch(/^HTTP\/1\.1 400/);
    expect(up.hits).toBe(before);
  });

  it('answers 408 to a client that does not finish its request head in time (http-request timeout)', async () => {
    const started = Date.now();
    const answer = await rawExchange(gw.port('web'), 'GET /slow HTTP/1.1\r\nHost: x\r\n', 10_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('forwards WebSocket upgrades', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port('ws')}/chat`);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m) => {
        messages.push(m.toString());
        if (messages.length === 1) ws.send('ping');
        if (messages.length === 2) resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    expect(messages).toEqual(['hello /chat', 'echo:ping']);
  });

  it('a refused connection is a 503 with a log line naming frontend, backend and server', async () => {
    const res = await request(gw.url('/', 'dead'));
    expect(res.statusCode).toBe(503);
    await res.body.text();
    const line = gw.logs.find((l) => l.code === 'SWY_ERR_FORWARD_REFUSED');
    expect(line).toMatchObject({ frontend: 'dead', backend: 'dead', server: 'gone', status: 503 });
  });

  it('a reset connection is a 502', async () => {
    const res = await request(gw.url('/', 'reset'));
    expect(res.statusCode).toBe(502);
    await res.body.text();
    expect(gw.logs.find((l) => l.code === 'SWY_ERR_FORWARD_RESET')).toMatchObject({ frontend: 'reset', backend: 'reset', server: 'rst' });
  });

  it('a server that does not answer in time is a 504', async () => {
    const res = await request(gw.url('/', 'slow'));
    expect(res.statusCode).toBe(504);
    await res.body.text();
    expect(gw.logs.find((l) => l.code === 'SWY_ERR_FORWARD_TIMEOUT')).toMatchObject({ frontend: 'slow', backend: 'slow', server: 'sleepy' });
  });

  it('keeps client connections alive across requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        http.get(gw.url(`/ka${i}`), { agent }, (res) => {
          ports.add(res.socket.localPort!);
          res.resume();
          res.on('end', resolve);
        }).on('error', reject);
      });
    }
    agent.destroy();
    expect(ports.size).toBe(1);
  });
});
