import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { freePort, startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';
import { encodeProxyHeader, parseProxyHeader, readProxyHeader } from '../src/header';

/** Sends raw bytes, returns everything the gateway answered before closing. */
function rawExchange(port: number, payload: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(out));
    s.write(payload);
    setTimeout(() => s.end(), 200);
  });
}

/** A TCP server that records the first bytes of each connection and answers "ok". */
function startRecorder(): Promise<{ port: number; seen: Buffer[]; close(): Promise<void> }> {
  const seen: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('\n', 0, 'latin1') && buf.includes('hello')) {
        seen.push(buf);
        s.end('ok\n');
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        seen,
        close: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      }),
    ),
  );
}

/** An HTTP server behind a PROXY-protocol reader: answers with the address the header named. */
function startProxiedHttp(): Promise<{ port: number; headers: string[]; close(): Promise<void> }> {
  const headers: string[] = [];
  const httpServer = http.createServer((req, res) => {
    const who = (req.socket as net.Socket & { proxied?: string }).proxied ?? 'none';
    res.end(`server saw ${who}\n`);
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    readProxyHeader(s, 2000).then(
      (h) => {
        headers.push(`v${h.version} ${h.addresses?.sourceAddress} ${h.addresses?.sourcePort}`);
        (s as net.Socket & { proxied?: string }).proxied = `${h.addresses?.sourceAddress}`;
        httpServer.emit('connection', s);
      },
      () => s.destroy(),
    );
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        headers,
        close: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      }),
    ),
  );
}

describe('PROXY protocol: parsing and encoding', () => {
  it('parses v1 TCP4, TCP6 and UNKNOWN', () => {
    const v1 = parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\nGET'));
    expect(v1).toEqual({ header: expect.objectContaining({ version: 1, command: 'proxy', addresses: { family: 'tcp4', sourceAddress: '203.0.113.7', sourcePort: 51000, destinationAddress: '192.0.2.1', destinationPort: 443 } }), length: 44 });
    const v6 = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 51000 443\r\n'));
    expect(v6 !== 'incomplete' && v6.header.addresses?.sourceAddress).toBe('2001:db8::7');
    const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'));
    expect(unknown !== 'incomplete' && unknown.header.command).toBe('local');
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3'))).toBe('incomplete');
    expect(() => parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/SWY_ERR_PROXY_BAD_HEADER|PROXY/);
    expect(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.999 1.2.3.4 1 2\r\n'))).toThrow();
  });

  it('parses a hand-built v2 header with a TLV, and round-trips its own encoding', () => {
    const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
    const body = Buffer.from([203, 0, 113, 7, 192, 0, 2, 1, 0xc7, 0x38, 0x01, 0xbb, 0x02, 0x00, 0x03, 0x61, 0x62, 0x63]);
    const v2 = Buffer.concat([sig, Buffer.from([0x21, 0x11, 0x00, body.length]), body, Buffer.from('rest')]);
    const r = parseProxyHeader(v2);
    if (r === 'incomplete') throw new Error('incomplete');
    expect(r.length).toBe(16 + body.length);
    expect(r.header.addresses).toEqual({ family: 'tcp4', sourceAddress: '203.0.113.7', sourcePort: 51000, destinationAddress: '192.0.2.1', destinationPort: 443 });
    expect(r.header.tlvs.get(0x02)?.toString()).toBe('abc');
    const six = encodeProxyHeader(2, { sourceAddress: '2001:db8::7', sourcePort: 1, destinationAddress: '127.0.0.1', destinationPort: 2 });
    const back = parseProxyHeader(six);
    if (back === 'incomplete') throw new Error('incomplete');
    expect(back.header.addresses).toEqual({ family: 'tcp6', sourceAddress: '2001:db8::7', sourcePort: 1, destinationAddress: '::ffff:7f00:1', destinationPort: 2 });
  });
});

describe('@switchyard/plugin-proxy-protocol with a gateway', () => {
  let dir: string;
  let gw: TestGateway;
  let up: Upstream;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let proxied: Awaited<ReturnType<typeof startProxiedHttp>>;
  let haproxy: ChildProcess | null = null;
  let haproxyPort = 0;
  let haproxyAcceptPort = 0;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-proxy-'));
    execFileSyncQuiet('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost'], dir);
    up = await startUpstream({ name: 'app' });
    recorder = await startRecorder();
    proxied = await startProxiedHttp();
    haproxyPort = await freePort();
    haproxyAcceptPort = await freePort();
    gw = await startTestGateway(
      {
        plugins: ['@switchyard/preset-standard', '@switchyard/plugin-proxy-protocol', path.join(__dirname, 'fixtures', 'whoami.ts')],
        proxyProtocol: { timeout: '1s' },
        frontends: {
          whoami: { bind: [{ host: '127.0.0.1', port: 0, acceptProxy: true }], defaultBackend: 'app' },
          whoamitls: { bind: [{ host: '127.0.0.1', port: 0, acceptProxy: true, tls: { cert: 'cert.pem', key: 'key.pem' } }], defaultBackend: 'app' },
          tcpv1: { mode: 'tcp', bind: [{ host: '127.0.0.1', port: 0, acceptProxy: true }], defaultBackend: 'rec1' },
          tcpv2: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'rec2' },
          httpsend: { bind: '127.0.0.1:0', defaultBackend: 'proxied' },
          chain: { bind: [{ host: '127.0.0.1', port: 0, acceptProxy: true }], defaultBackend: 'viahaproxy' },
        },
        backends: {
          app: { servers: [{ name: 'a', address: up.address }] },
          rec1: { mode: 'tcp', servers: [{ name: 'r', address: `127.0.0.1:${recorder.port}`, sendProxy: 'v1' }] },
          rec2: { mode: 'tcp', servers: [{ name: 'r', address: `127.0.0.1:${recorder.port}`, sendProxy: 'v2' }] },
          proxied: { servers: [{ name: 'p', address: `127.0.0.1:${proxied.port}`, sendProxy: 'v2' }] },
          viahaproxy: { servers: [{ name: 'h', address: `127.0.0.1:${haproxyAcceptPort}`, sendProxy: 'v1' }] },
        },
      },
      { baseDir: dir },
    );
  });

  afterAll(async () => {
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy!.once('exit', r));
      haproxy.kill('SIGTERM');
      await exited;
    }
    await gw?.stop();
    await up?.close();
    await recorder?.close();
    await proxied?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes the client address from a v1 header', async () => {
    const out = await rawExchange(gw.port('whoami'), 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 80\r\nGET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(out).toMatch(/203\.0\.113\.7 51000\n$/);
  });

  it('takes the client address from a v2 header (IPv6)', async () => {
    const header = encodeProxyHeader(2, { sourceAddress: '2001:db8::42', sourcePort: 4242, destinationAddress: '2001:db8::1', destinationPort: 80 });
    const out = await rawExchange(gw.port('whoami'), Buffer.concat([header, Buffer.from('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')]));
    expect(out).toMatch(/2001:db8::42 4242\n$/);
  });

  it('closes connections that do not start with a header', async () => {
    const out = await rawExchange(gw.port('whoami'), 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(out).toBe('');
  });

  it('reads the header before the TLS handshake on a TLS bind', async () => {
    const raw = net.connect({ host: '127.0.0.1', port: gw.port('whoamitls') });
    await new Promise<void>((r) => raw.once('connect', () => r()));
    raw.write('PROXY TCP4 198.51.100.9 127.0.0.1 1234 443\r\n');
    const s = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    const out = await new Promise<string>((resolve) => {
      let buf = '';
      s.on('data', (d: Buffer) => (buf += d.toString()));
      s.on('close', () => resolve(buf));
      s.on('error', () => resolve(buf));
      s.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    });
    expect(out).toMatch(/198\.51\.100\.9 1234\n$/);
  });

  it('sends v1 to a TCP server, with the address it accepted', async () => {
    const before = recorder.seen.length;
    const out = await rawExchange(gw.port('tcpv1'), 'PROXY TCP4 203.0.113.8 127.0.0.1 40000 9\r\nhello\n');
    expect(out).toBe('ok\n');
    const got = recorder.seen[before]!.toString('latin1');
    expect(got).toBe(`PROXY TCP4 203.0.113.8 127.0.0.1 40000 9\r\nhello\n`);
  });

  it('sends v2 to a TCP server with the real client address and port', async () => {
    const before = recorder.seen.length;
    const client = net.connect({ host: '127.0.0.1', port: gw.port('tcpv2') });
    await new Promise<void>((r) => client.once('connect', () => r()));
    const localPort = client.localPort!;
    const reply = await new Promise<string>((resolve) => {
      let buf = '';
      client.on('data', (d: Buffer) => (buf += d.toString()));
      client.on('close', () => resolve(buf));
      client.write('hello\n');
    });
    expect(reply).toBe('ok\n');
    const r = parseProxyHeader(recorder.seen[before]!);
    if (r === 'incomplete') throw new Error('incomplete header');
    expect(r.header.version).toBe(2);
    expect(r.header.addresses).toMatchObject({ sourceAddress: '127.0.0.1', sourcePort: localPort, destinationPort: gw.port('tcpv2') });
    expect(recorder.seen[before]!.subarray(r.length).toString()).toBe('hello\n');
  });

  it('sends v2 to an HTTP server once per client connection (keep-alive reuses it)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<string> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: gw.port('httpsend'), path: '/', agent }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        }).on('error', reject);
      });
    const before = proxied.headers.length;
    expect(await get()).toBe('server saw 127.0.0.1\n');
    expect(await get()).toBe('server saw 127.0.0.1\n');
    expect(proxied.headers.length - before).toBe(1);
    expect(proxied.headers[before]).toMatch(/^v2 127\.0\.0\.1 \d+$/);
    agent.destroy();
  });

  it('interoperates with HAProxy: accepts its send-proxy-v2, and its accept-proxy takes ours', async () => {
    const cfg = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(
      cfg,
      [
        'global', '  log stderr format raw local0 err',
        'defaults', '  mode http', '  timeout connect 2s', '  timeout client 5s', '  timeout server 5s',
        'frontend fe', `  bind 127.0.0.1:${haproxyPort}`, '  default_backend be',
        'backend be', `  server gw 127.0.0.1:${gw.port('whoami')} send-proxy-v2`,
        'frontend accepting', `  bind 127.0.0.1:${haproxyAcceptPort} accept-proxy`, '  option forwardfor', '  default_backend app',
        'backend app', `  server up ${up.address}`,
        '',
      ].join('\n'),
    );
    haproxy = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
    let body = '';
    for (let i = 0; i < 50 && body === ''; i++) {
      body = await new Promise<string>((resolve) => {
        execFile('curl', ['-s', '--max-time', '3', '--local-port', '47000-47100', `http://127.0.0.1:${haproxyPort}/`], (_e, out) => resolve(out));
      });
      if (body === '') await new Promise((r) => setTimeout(r, 100));
    }
    const [addr, port] = body.trim().split(' ');
    expect(addr).toBe('127.0.0.1');
    expect(Number(port)).toBeGreaterThanOrEqual(47000);
    expect(Number(port)).toBeLessThanOrEqual(47100);

    // Client 203.0.113.50 (told to us by PROXY v1) → gateway → send-proxy v1 → HAProxy → X-Forwarded-For.
    const out = await rawExchange(gw.port('chain'), 'PROXY TCP4 203.0.113.50 127.0.0.1 5555 80\r\nGET /chained HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(up.requests.find((r) => r.url === '/chained')?.headers['x-forwarded-for']).toBe('203.0.113.50');
  });
});

function execFileSyncQuiet(cmd: string, args: string[], cwd: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('node:child_process') as typeof import('node:child_process')).execFileSync(cmd, args, { cwd, stdio: 'ignore' });
}
