import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const run = promisify(execFile);

/** openssl s_client against the gateway; resolves with its combined output (never rejects). */
async function sClient(port: number, args: string[], input = 'Q\n'): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { timeout: 10_000 }, (_err, stdout, stderr) =>
      resolve(`${stdout}\n${stderr}`),
    );
    child.stdin!.end(input);
  });
}

describe('TLS listener (core)', () => {
  let dir: string;
  let up: Upstream;
  let gw: TestGateway;
  let port: number;
  let wss: WebSocketServer;
  let wsPort: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-tls-core-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { cwd: dir, stdio: 'ignore' });
    up = await startUpstream({
      name: 'app',
      handler: (req, res) => {
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          let n = 0;
          const timer = setInterval(() => {
            res.write(`chunk ${n}\n`);
            if (++n === 3) {
              clearInterval(timer);
              res.end();
            }
          }, 20);
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, cookie: req.headers.cookie ?? null, body: Buffer.concat(chunks).toString(), httpVersion: req.httpVersion });
          res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'app' });
          res.end(body);
        });
      },
    });
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)));
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wsPort = (wss.address() as { port: number }).port;
    gw = await startTestGateway(
      {
        frontends: {
          web: { bind: [{ host: '127.0.0.1', port: 0, tls: { cert: 'cert.pem', key: 'key.pem' } }], defaultBackend: 'app' },
          ws: { bind: [{ host: '127.0.0.1', port: 0, tls: { cert: 'cert.pem', key: 'key.pem' } }], defaultBackend: 'ws' },
        },
        backends: {
          app: { servers: [{ name: 'a', address: up.address }] },
          ws: { servers: [{ name: 'w', address: `127.0.0.1:${wsPort}` }] },
        },
      },
      { baseDir: dir },
    );
    port = gw.port('web');
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    await new Promise<void>((r) => wss.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers HTTP/2 to curl --http2 and forwards it to an HTTP/1.1 server', async () => {
    const { stdout } = await run('curl', ['-sk', '--http2', '-w', '\n%{http_version}', '-H', 'cookie: a=1', '-H', 'cookie: b=2', `https://localhost:${port}/h2?x=1`, '--resolve', `localhost:${port}:127.0.0.1`]);
    const [body, version] = stdout.split('\n');
    expect(version).toBe('2');
    const seen = JSON.parse(body!) as { url: string; host: string; httpVersion: string; cookie: string };
    expect(seen.url).toBe('/h2?x=1');
    expect(seen.host).toBe(`localhost:${port}`);
    expect(seen.httpVersion).toBe('1.1');
    expect(seen.cookie).toBe('a=1; b=2');
  });

  it('streams an HTTP/2 request body without content-length to the server', async () => {
    const { stdout } = await run('curl', ['-sk', '--http2', '-H', 'transfer-encoding: chunked', '--data-binary', 'hello body', `https://127.0.0.1:${port}/post`]);
    const seen = JSON.parse(stdout) as { method: string; body: string };
    expect(seen.method).toBe('POST');
    expect(seen.body).toBe('hello body');
  });

  it('falls back to HTTP/1.1 on the same port', async () => {
    const { stdout } = await run('curl', ['-sk', '--http1.1', '-w', '\n%{http_version}', `https://127.0.0.1:${port}/h1`]);
    expect(stdout.split('\n')[1]).toBe('1.1');
  });

  it('streams a response over HTTP/2 chunk by chunk', async () => {
    const { stdout } = await run('curl', ['-sk', '--http2', '-N', `https://127.0.0.1:${port}/stream`]);
    expect(stdout).toBe('chunk 0\nchunk 1\nchunk 2\n');
  });

  it('refuses TLS 1.0 and 1.1, accepts 1.2 and 1.3', async () => {
    for (const v of ['-tls1', '-tls1_1']) {
      // SECLEVEL=0 lets this client offer the old versions, so the refusal is the gateway's.
      const out = await sClient(port, [v, '-cipher', 'DEFAULT:@SECLEVEL=0', '-servername', 'localhost']);
      expect(out).toMatch(/alert protocol version/);
      expect(out).toMatch(/Cipher is \(NONE\)/);
    }
    expect(await sClient(port, ['-tls1_2'])).toMatch(/Protocol\s*:\s*TLSv1\.2/);
    expect(await sClient(port, ['-tls1_3'])).toMatch(/New, TLSv1\.3/);
  });

  it('resumes TLS sessions with tickets', async () => {
    const sess = path.join(dir, 'sess.pem');
    const first = await sClient(port, ['-tls1_2', '-sess_out', sess]);
    expect(first).toMatch(/^New,/m);
    const second = await sClient(port, ['-tls1_2', '-sess_in', sess]);
    expect(second).toMatch(/^Reused,/m);
  });

  it('still carries WebSocket upgrades over TLS (HTTP/1.1)', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.port('ws')}/`, { rejectUnauthorized: false });
      const reply = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send('hi'));
        ws.once('message', (m) => resolve(String(m)));
        ws.once('error', reject);
      });
      expect(reply).toBe('echo hi');
    ws.terminate();
  });
});
