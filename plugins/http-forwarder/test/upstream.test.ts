import * as net from 'node:net';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

/**
 * The forwarder's own upstream connections (net + Node's llhttp, strict) against a server
 * that writes raw bytes: framing the parser must refuse, 1xx, HEAD, trailers, keep-alive reuse.
 */
const RESPONSES: Record<string, string> = {
  '/ok': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
  '/cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  '/two-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
  '/nul': 'HTTP/1.1 200 OK\r\nX-Bad: a\0b\r\nContent-Length: 2\r\n\r\nok',
  '/short': 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok',
  '/early-hints': 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal',
  '/trailers': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: 42\r\n\r\n',
  '/head': 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n',
  '/until-close': 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread until the server closes',
};

describe('HTTP forwarder upstream connections (net + llhttp)', () => {
  let server: net.Server;
  let port: number;
  let accepted = 0;
  let gw: TestGateway;

  beforeAll(async () => {
    server = net.createServer((s) => {
      accepted++;
      let buf = '';
      s.on('data', (c: Buffer) => {
        buf += c.toString('latin1');
        let end: number;
        while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          const target = head.split(' ', 2)[1]!;
          const answer = RESPONSES[target] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
          s.write(answer);
          if (target === '/short' || target === '/until-close' || target === '/bare-lf') s.end();
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
    gw = await startTestGateway({
      plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'raw' } },
      backends: { raw: { servers: [{ name: 'r1', address: `127.0.0.1:${port}` }] } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    server.close();
  });

  it('reuses one idle keep-alive connection for sequential requests', async () => {
    const before = accepted;
    for (let i = 0; i < 5; i++) {
      const res = await request(gw.url('/ok'));
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('ok');
    }
    expect(accepted - before).toBeLessThanOrEqual(1);
  });

  it.each(['/bare-lf', '/cl-te', '/two-cl', '/nul'])('refuses an ambiguous or invalid response head (%s): 502, never relayed', async (target) => {
    const bad = (): number => gw.logs.filter((l) => l.code === 'SWY_ERR_FORWARD_BAD_RESPONSE').length;
    const before = bad();
    const res = await request(gw.url(target));
    expect(res.statusCode).toBe(502);
    expect(await res.body.text()).not.toContain('ok');
    expect(bad() - before).toBe(1);
  });

  it('a body shorter than its Content-Length is cut, not completed', async () => {
    const res = await request(gw.url('/short'));
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
  });

  it('skips 1xx informational responses and relays the final one', async () => {
    const res = await request(gw.url('/early-hints'));
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('final');
  });

  it('relays trailers of a chunked response', async () => {
    const res = await request(gw.url('/trailers'), { headers: { te: 'trailers' } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('hello');
    expect(res.trailers['x-checksum']).toBe('42');
  });

  it('HEAD: the Content-Length is relayed and no body is read', async () => {
    const res = await request(gw.url('/head'), { method: 'HEAD' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('1234');
    await res.body.dump();
    // The connection is still in step: a request after it is answered.
    const next = await request(gw.url('/ok'));
    expect(await next.body.text()).toBe('ok');
  });

  it('a body delimited by the server closing the connection', async () => {
    const res = await request(gw.url('/until-close'));
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('read until the server closes');
  });
});

describe('upstream TLS contexts are built at load', () => {
  it('a CA file that cannot be read fails the start, naming the file (not a 500 on the first request)', async () => {
    await expect(
      startTestGateway({
        plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', '@switchyard/plugin-tls'],
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'secure' } },
        backends: { secure: { servers: [{ name: 's1', address: '127.0.0.1:9', tls: { ca: 'no-such-ca.pem' } }] } },
      }),
    ).rejects.toThrow(/no-such-ca\.pem/);
  });
});
