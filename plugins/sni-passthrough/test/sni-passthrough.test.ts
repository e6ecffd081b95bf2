import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { TestPki } from '../../tls/test/certs';
import { parseClientHello } from '../src/client-hello';

function sClient(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-ign_eof', '-connect', `127.0.0.1:${port}`, '-servername', servername], { timeout: 10_000 }, (_e, out, err) => resolve(`${out}\n${err}`));
    child.stdin!.end();
  });
}

/** A TLS server with its own certificate that says who it is after the handshake. */
function startTlsServer(name: string, cert: string, key: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.end(`hello from ${name} (sni ${String((s as tls.TLSSocket & { servername?: string }).servername)})\n`);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      }),
    ),
  );
}

describe('@switchyard/plugin-sni-passthrough', () => {
  let pki: TestPki;
  let a: Awaited<ReturnType<typeof startTlsServer>>;
  let b: Awaited<ReturnType<typeof startTlsServer>>;
  let gw: TestGateway;

  beforeAll(async () => {
    pki = new TestPki('swy-sni-');
    pki.issue('a', ['a.example.com']);
    pki.issue('b', ['*.b.example.com'], { subject: '/CN=*.b.example.com' });
    a = await startTlsServer('A', pki.path('a.pem'), pki.path('a.key'));
    b = await startTlsServer('B', pki.path('b.pem'), pki.path('b.key'));
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-sni-passthrough', path.join(__dirname, 'fixtures', 'sni-deny.ts')],
      frontends: {
        pass: {
          mode: 'tcp',
          bind: '127.0.0.1:0',
          sniPassthrough: { routes: { 'a.example.com': 'be_a', '*.b.example.com': 'be_b' }, timeout: '2s' },
          defaultBackend: 'be_a',
        },
      },
      backends: {
        be_a: { mode: 'tcp', servers: [{ name: 'a', address: `127.0.0.1:${a.port}` }] },
        be_b: { mode: 'tcp', servers: [{ name: 'b', address: `127.0.0.1:${b.port}` }] },
      },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await a?.close();
    await b?.close();
    pki?.remove();
  });

  it('routes on the server name and the TLS server presents its own certificate', async () => {
    const toA = await sClient(gw.port(), 'a.example.com');
    expect(toA).toMatch(/subject=CN\s*=\s*a\.example\.com/);
    expect(toA).toMatch(/hello from A \(sni a\.example\.com\)/);
    const toB = await sClient(gw.port(), 'x.b.example.com');
    expect(toB).toMatch(/subject=CN\s*=\s*\*\.b\.example\.com/);
    expect(toB).toMatch(/hello from B \(sni x\.b\.example\.com\)/);
  });

  it('verifies end to end: a client trusting the CA gets a verified session with the backend', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.port(), servername: 'y.b.example.com', ca: fs.readFileSync(pki.path('ca.pem')) });
    const text = await new Promise<string>((resolve, reject) => {
      let buf = '';
      s.on('data', (d: Buffer) => (buf += d.toString()));
      s.on('end', () => resolve(buf));
      s.on('error', reject);
    });
    expect(s.authorized).toBe(true);
    expect(text).toBe('hello from B (sni y.b.example.com)\n');
  });

  it('sends unmatched names to the default backend and exposes req.ssl_sni to ACLs', async () => {
    expect(await sClient(gw.port(), 'other.example.org')).toMatch(/hello from A \(sni other\.example\.org\)/);
    const blocked = await sClient(gw.port(), 'blocked.example.com');
    expect(blocked).not.toMatch(/hello from/);
    expect(blocked).not.toMatch(/subject=/);
  });

  it('closes connections that do not start with a ClientHello', async () => {
    const out = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: gw.port() });
      let buf = '';
      s.on('data', (d: Buffer) => (buf += d.toString()));
      s.on('close', () => resolve(buf));
      s.on('error', () => undefined);
      s.write('GET / HTTP/1.1\r\nhost: a.example.com\r\n\r\n');
    });
    expect(out).toBe('');
  });

  it('parses a ClientHello split across TCP segments and records', async () => {
    // A real ClientHello from node's TLS client, fed in growing prefixes.
    const hello = await captureClientHello('split.example.com');
    for (let i = 1; i < hello.length; i += 37) expect(parseClientHello(hello.subarray(0, i))).toBe('incomplete');
    expect(parseClientHello(hello)).toMatchObject({ servername: 'split.example.com', alpn: ['h2', 'http/1.1'] });
    // The same handshake message split over two records.
    const body = hello.subarray(5);
    const cut = 40;
    const rec = (b: Buffer): Buffer => Buffer.concat([Buffer.from([22, 3, 1, b.length >> 8, b.length & 0xff]), b]);
    const twoRecords = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
    expect(parseClientHello(twoRecords)).toMatchObject({ servername: 'split.example.com' });
  });
});

/** The ClientHello node's TLS client writes, captured from a duplex that only records. */
async function captureClientHello(servername: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let wrote!: () => void;
  const first = new Promise<void>((r) => (wrote = r));
  const sink = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      wrote();
      cb();
    },
  });
  const s = tls.connect({ socket: sink, servername, ALPNProtocols: ['h2', 'http/1.1'] });
  s.on('error', () => undefined);
  await first;
  s.destroy();
  return Buffer.concat(chunks);
}
