import * as net from 'node:net';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

/**
 * Request smuggling / desync vectors, sent as raw bytes over a socket: every request whose
 * framing could be read two ways is refused with 400 (as HAProxy answers) and never reaches a
 * server; the connection is closed so nothing after it is read as another request.
 */
function exchange(port: number, payload: string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(Buffer.from(payload, 'latin1')));
    const done = (): void => resolve(Buffer.concat(chunks).toString('latin1'));
    s.on('data', (c) => chunks.push(c));
    s.on('close', done);
    s.on('error', done);
    setTimeout(() => s.destroy(), ms).unref();
  });
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';

const VECTORS: Array<[string, string]> = [
  ['CL.TE: Content-Length and Transfer-Encoding', `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.CL: Transfer-Encoding then Content-Length', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['TE.TE: a second, unknown Transfer-Encoding', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.TE: space before the colon', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.TE: xchunked', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.TE: folded onto the next line', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.TE: header name ending in a bare LF', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\n: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding whose final coding is not chunked', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: gzip alone', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding in HTTP/1.0', `POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['bare LF line endings', `GET /a HTTP/1.1\nHost: x\n\n${SMUGGLED}`],
  ['bare LF after the request line only', `GET /a HTTP/1.1\nHost: x\r\n\r\n${SMUGGLED}`],
  ['duplicate Content-Length', `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n${SMUGGLED}`],
  ['Content-Length with a sign', `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello${SMUGGLED}`],
  ['chunk size with a space before CRLF', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk extension ending in a bare LF', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk size in 0x form', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk size overflow', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk data not followed by CRLF', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n${SMUGGLED}`],
  ['NUL in a header value', `GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n${SMUGGLED}`],
  ['a control character in a header value', `GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n${SMUGGLED}`],
  ['NUL in the target', `GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n${SMUGGLED}`],
  ['a space in a header name', `GET /a HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n${SMUGGLED}`],
  ['obsolete line folding', `GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n${SMUGGLED}`],
  ['no Host in HTTP/1.1', `GET /a HTTP/1.1\r\nX-A: b\r\n\r\n${SMUGGLED}`],
];

describe('request smuggling and desync vectors are refused with 400', () => {
  let up: Upstream;
  let gw: TestGateway;
  const seen: string[] = [];

  beforeAll(async () => {
    up = await startUpstream({
      name: 'up',
      handler: (req, res) => {
        seen.push(req.url ?? '');
        req.resume();
        req.on('end', () => res.end(`got ${req.url}\n`));
        req.on('error', () => undefined);
      },
    });
    gw = await startTestGateway({
      plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'b' } },
      backends: { b: { servers: [{ name: 's1', address: up.address }] } },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
  });

  it('a well-framed pipelined pair is answered twice, in order (control)', async () => {
    const before = seen.length;
    const answer = await exchange(gw.port(), `POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer.match(/^HTTP\/1\.1 200/gm)?.length).toBe(2);
    expect(answer.indexOf('/first')).toBeLessThan(answer.indexOf('/second'));
    expect(seen.slice(before)).toEqual(['/first', '/second']);
  });

  it.each(VECTORS)('%s', async (name, payload) => {
    const before = seen.length;
    const answer = await exchange(gw.port(), payload);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.match(/^HTTP\/1\.1 /gm)?.length).toBe(1);
    expect(answer).not.toContain('smuggled');
    // A broken chunk is found after the head went on (bodies stream, as in HAProxy): the
    // server sees a request cut short, never a complete one nor the smuggled one.
    const reached = seen.slice(before);
    expect(reached).not.toContain('/smuggled');
    if (!name.startsWith('chunk')) expect(reached).toEqual([]);
  });

  it('a request pipelined after Connection: close is never run', async () => {
    const before = seen.length;
    const answer = await exchange(gw.port(), `GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n${SMUGGLED}`);
    expect(answer.match(/^HTTP\/1\.1 200/gm)?.length).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(seen.slice(before)).toEqual(['/last']);
  });
});
