import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { TestPki } from './certs';

type Seen = { sni: string | null; client: string | null; version: string; alpn: string | null };

describe('TLS to servers (HTTP and TCP forwarders, server tls from plugin-tls)', () => {
  let pki: TestPki;
  let httpsServer: https.Server;
  let h2Server: http2.Http2SecureServer;
  let tcpServer: tls.Server;
  let gw: TestGateway;
  const seen: Seen[] = [];

  const listen = (s: net.Server): Promise<number> => new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));

  beforeAll(async () => {
    pki = new TestPki('swy-upstream-tls-');
    pki.issue('backend', ['backend.test']);
    pki.issue('gwclient', ['gateway'], { client: true, subject: '/O=Gateway/CN=gateway' });
    const cert = fs.readFileSync(pki.path('backend.pem'));
    const key = fs.readFileSync(pki.path('backend.key'));
    const ca = fs.readFileSync(pki.path('ca.pem'));
    const record = (socket: tls.TLSSocket, version: string): Seen => {
      const peer = socket.getPeerCertificate();
      const s: Seen = {
        sni: (socket as tls.TLSSocket & { servername?: string | false }).servername || null,
        client: peer && peer.subject ? String(peer.subject.CN) : null,
        version,
        alpn: socket.alpnProtocol || null,
      };
      seen.push(s);
      return s;
    };
    httpsServer = https.createServer({ cert, key, ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const s = record(req.socket as tls.TLSSocket, req.httpVersion);
      res.end(JSON.stringify(s));
    });
    h2Server = http2.createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
      const s = record(req.socket as unknown as tls.TLSSocket, req.httpVersion);
      res.end(JSON.stringify(s));
    });
    tcpServer = tls.createServer({ cert, key }, (s) => {
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => s.end(`tls echo ${d.toString()}`));
    });
    const [p1, p2, p3] = await Promise.all([listen(httpsServer), listen(h2Server), listen(tcpServer)]);
    const caFile = pki.path('ca.pem');
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-tls'],
      frontends: {
        verified: { bind: '127.0.0.1:0', defaultBackend: 'verified' },
        unverifiable: { bind: '127.0.0.1:0', defaultBackend: 'unverifiable' },
        noverify: { bind: '127.0.0.1:0', defaultBackend: 'noverify' },
        clientcert: { bind: '127.0.0.1:0', defaultBackend: 'clientcert' },
        h2: { bind: '127.0.0.1:0', defaultBackend: 'h2' },
        tcp: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'tcp' },
      },
      backends: {
        verified: { servers: [{ name: 's', address: `127.0.0.1:${p1}`, tls: { ca: caFile, sni: 'backend.test' } }] },
        unverifiable: { servers: [{ name: 's', address: `127.0.0.1:${p1}`, tls: { sni: 'backend.test' } }] },
        noverify: { servers: [{ name: 's', address: `127.0.0.1:${p1}`, tls: { verify: false } }] },
        clientcert: { servers: [{ name: 's', address: `127.0.0.1:${p1}`, tls: { ca: caFile, sni: 'backend.test', cert: pki.path('gwclient.pem'), key: pki.path('gwclient.key') } }] },
        h2: { servers: [{ name: 's', address: `127.0.0.1:${p2}`, tls: { ca: caFile, sni: 'backend.test', alpn: ['h2', 'http/1.1'] } }] },
        tcp: { mode: 'tcp', servers: [{ name: 's', address: `127.0.0.1:${p3}`, tls: { ca: caFile, sni: 'backend.test' } }] },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await new Promise<void>((r) => httpsServer.close(() => r()));
    await new Promise<void>((r) => h2Server.close(() => r()));
    await new Promise<void>((r) => tcpServer.close(() => r()));
    pki?.remove();
  });

  const get = async (frontend: string): Promise<{ status: number; body: string }> => {
    const res = await request(gw.url('/', frontend));
    return { status: res.statusCode, body: await res.body.text() };
  };

  it('verifies the server against the CA and sends SNI', async () => {
    const r = await get('verified');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ sni: 'backend.test', client: null });
  });

  it('verifies by default: a server the system CAs do not know is refused', async () => {
    const r = await get('unverifiable');
    expect(r.status).toBe(502);
  });

  it('can be told not to verify', async () => {
    expect((await get('noverify')).status).toBe(200);
  });

  it('presents a client certificate', async () => {
    const r = await get('clientcert');
    expect(JSON.parse(r.body)).toMatchObject({ client: 'gateway' });
  });

  it('speaks HTTP/2 to a server declared with alpn h2', async () => {
    const r = await get('h2');
    expect(JSON.parse(r.body)).toMatchObject({ version: '2.0', alpn: 'h2' });
  });

  it('wraps TCP-mode sessions in TLS to the server', async () => {
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: gw.port('tcp') });
      let buf = '';
      s.on('data', (d: Buffer) => (buf += d.toString()));
      s.on('close', () => resolve(buf));
      s.on('error', () => resolve(buf));
      s.write('ping');
    });
    expect(reply).toBe('tls echo ping');
  });
});
