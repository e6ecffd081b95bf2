import * as net from 'node:net';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

/**
 * The core's own HTTP/1.1 front end (core/src/listeners/http1.ts: llhttp on the socket, no
 * node:http): what node:http used to do for us, checked with raw bytes on a real socket.
 */

/** Opens a socket, writes `payload`, collects until `until(text)` holds or the socket closes. */
function talk(port: number, payload: string, until: (text: string) => boolean, ms = 4000): Promise<{ text: string; closed: boolean; socket: net.Socket }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(Buffer.from(payload, 'latin1')));
    const text = (): string => Buffer.concat(chunks).toString('latin1');
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ text: text(), closed, socket: s });
    };
    s.on('data', (c) => {
      chunks.push(c);
      if (until(text())) finish();
    });
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('error', () => undefined);
    const timer = setTimeout(finish, ms);
  });
}

const count = (text: string, re: RegExp): number => text.match(re)?.length ?? 0;

describe('HTTP/1.1 front end', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream({
      name: 'up',
      handler: (req, res) => {
        if (req.url === '/trailers') {
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
          res.write('part');
          res.addTrailers({ 'x-sum': '42' });
          res.end();
          return;
        }
        const body: Buffer[] = [];
        req.on('data', (c: Buffer) => body.push(c));
        req.on('end', () => {
          const b = Buffer.concat(body).toString();
          const text = `${req.method} ${req.url} ${b.length}:${b}\n`;
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
          res.end(req.method === 'HEAD' ? undefined : text);
        });
      },
    });
    gw = await startTestGateway({
      plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'b', timeouts: { keepAlive: '300ms', httpRequest: '600ms' } } },
      backends: { b: { servers: [{ name: 's1', address: up.address }] } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
  });

  it('answers twenty pipelined requests written at once, in order', async () => {
    let payload = '';
    for (let i = 0; i < 20; i++) payload += `GET /p${i} HTTP/1.1\r\nHost: x\r\n${i === 19 ? 'Connection: close\r\n' : ''}\r\n`;
    const { text, closed } = await talk(gw.port(), payload, () => false);
    expect(closed).toBe(true);
    expect(count(text, /^HTTP\/1\.1 200 /gm)).toBe(20);
    const order = [...text.matchAll(/GET \/p(\d+) /g)].map((m) => Number(m[1]));
    expect(order).toEqual([...Array(20).keys()]);
  });

  it('sends 100 Continue when the body is read, then the answer', async () => {
    const { text, socket } = await talk(gw.port(), 'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', (t) => t.includes('100 Continue'));
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    const rest = await new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got.includes('5:hello')) resolve(got);
      });
      socket.write('hello');
    });
    expect(rest).toMatch(/^HTTP\/1\.1 200 /);
    expect(rest).toContain('POST /up 5:hello');
    socket.destroy();
  });

  it('refuses an Expect it does not know with 417', async () => {
    const { text } = await talk(gw.port(), 'GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n', () => false);
    expect(text).toMatch(/^HTTP\/1\.1 417 /);
  });

  it('answers HEAD with the head only (Content-Length kept), then the next request on the same connection', async () => {
    const { text } = await talk(gw.port(), 'HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', () => false);
    expect(count(text, /^HTTP\/1\.1 200 /gm)).toBe(2);
    expect(text).toMatch(/content-length: 11/i);
    expect(text).not.toContain('HEAD /h');
    expect(text).toContain('GET /after');
  });

  it('streams a chunked request body of 1 MiB to the server and relays trailers', async () => {
    const big = 'x'.repeat(1 << 20);
    const chunked = `${(big.length).toString(16)}\r\n${big}\r\n0\r\n\r\n`;
    const r1 = await talk(gw.port(), `POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`, () => false, 10_000);
    expect(r1.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(r1.text).toContain(`POST /big ${1 << 20}:`);
    const r2 = await talk(gw.port(), 'GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n', () => false);
    expect(r2.text).toMatch(/transfer-encoding: chunked/i);
    expect(r2.text).toMatch(/4\r\npart\r\n0\r\nx-sum: 42\r\n\r\n$/i);
  });

  it('keeps an HTTP/1.0 keep-alive connection open and frames a length-less 1.0 answer by closing', async () => {
    const { text, closed } = await talk(gw.port(), 'GET /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', (t) => t.includes('GET /a'), 1500);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/connection: keep-alive/i);
    expect(closed).toBe(false);
  });

  it('tells a keep-alive client its keep-alive timeout (keep-alive: timeout=N, as node:http), and a closing one nothing', async () => {
    const kept = await talk(gw.port(), 'GET /h HTTP/1.1\r\nHost: x\r\n\r\n', (t) => t.includes('GET /h'), 1500);
    // timeouts.keepAlive is 300ms here: whole seconds, rounded down, so the client reuses nothing it would lose.
    expect(kept.text).toMatch(/\r\nkeep-alive: timeout=0\r\n/i);
    const closing = await talk(gw.port(), 'GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', (t) => t.includes('GET /c'), 1500);
    expect(closing.text).toMatch(/connection: close/i);
    expect(closing.text).not.toMatch(/keep-alive: timeout/i);
  });

  it('closes an idle keep-alive connection after timeouts.keepAlive, and cuts a slow head with 408', async () => {
    const started = Date.now();
    const idle = await talk(gw.port(), 'GET /k HTTP/1.1\r\nHost: x\r\n\r\n', () => false, 5000);
    expect(idle.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
    const slow = await talk(gw.port(), 'GET /slow HTTP/1.1\r\nHost: x\r\n', () => false, 5000);
    expect(slow.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.closed).toBe(true);
  });
});
