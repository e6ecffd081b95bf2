import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

/**
 * HTTP/2 on node:http2's stream API (core/src/listeners/h2-exchange.ts, no compatibility
 * request/response): HEAD, trailers, request bodies, a gateway error, checked with a real
 * node:http2 client over TLS.
 */
interface H2Answer {
  headers: http2.IncomingHttpHeaders;
  body: string;
  trailers: http2.IncomingHttpHeaders | null;
}

function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: body === undefined });
    let got: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (got = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ headers: got, body: Buffer.concat(chunks).toString(), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

describe('HTTP/2 streams', () => {
  let dir: string;
  let up: Upstream;
  let gw: TestGateway;
  let client: http2.ClientHttp2Session;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-h2-stream-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
    up = await startUpstream({
      name: 'app',
      handler: (req, res) => {
        if (req.url === '/trailers') {
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
          res.write('part');
          res.addTrailers({ 'x-sum': '42' });
          res.end();
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const text = `${req.method} ${req.url} host=${req.headers.host} cookie=${req.headers.cookie ?? '-'} body=${Buffer.concat(chunks).toString()}`;
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), connection: 'keep-alive' });
          res.end(req.method === 'HEAD' ? undefined : text);
        });
      },
    });
    gw = await startTestGateway(
      {
        plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'],
        frontends: { web: { bind: [{ host: '127.0.0.1', port: 0, tls: { cert: 'cert.pem', key: 'key.pem' } }], defaultBackend: 'app' } },
        backends: { app: { servers: [{ name: 'a', address: up.address }] } },
      },
      { baseDir: dir },
    );
    client = http2.connect(`https://127.0.0.1:${gw.port('web')}`, { rejectUnauthorized: false });
  });
  afterAll(async () => {
    client?.close();
    await gw.stop();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('relays a GET with :authority as Host and split cookies joined', async () => {
    const a = await request(client, { ':method': 'GET', ':path': '/x?q=1', ':authority': 'shop.example', cookie: ['a=1', 'b=2'] });
    expect(a.headers[':status']).toBe(200);
    expect(a.headers.connection).toBeUndefined();
    expect(a.body).toBe('GET /x?q=1 host=shop.example cookie=a=1; b=2 body=');
  });

  it('streams a request body up and answers HEAD with headers only', async () => {
    const post = await request(client, { ':method': 'POST', ':path': '/up', ':authority': 'x' }, 'hello h2');
    expect(post.body).toBe('POST /up host=x cookie=- body=hello h2');
    const head = await request(client, { ':method': 'HEAD', ':path': '/h', ':authority': 'x' });
    expect(head.headers[':status']).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body).toBe('');
  });

  it('passes trailers on', async () => {
    const a = await request(client, { ':method': 'GET', ':path': '/trailers', ':authority': 'x' });
    expect(a.body).toBe('part');
    expect(a.trailers?.['x-sum']).toBe('42');
  });
});
