import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startTestGateway, startUpstream, type TestGateway, type Upstream } from '@switchyard/sdk/testing';

const PLUGINS = ['@switchyard/preset-standard', '@switchyard/plugin-access-log'];

async function until<T>(fn: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('access log', () => {
  let up: Upstream;
  let echo: net.Server;
  let echoPort: number;
  let dir: string;
  const gateways: TestGateway[] = [];

  const start = async (accessLog: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TestGateway> => {
    const gw = await startTestGateway({
      plugins: PLUGINS,
      accessLog,
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' }, ...((extra.frontends as object) ?? {}) },
      backends: { api: { servers: [{ name: 'app1', address: up.address }] }, ...((extra.backends as object) ?? {}) },
    });
    gateways.push(gw);
    return gw;
  };

  beforeAll(async () => {
    up = await startUpstream({
      name: 'app',
      handler: (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(req.url?.startsWith('/teapot') ? 418 : 200, { 'content-type': 'text/plain' }).end('hello world\n'));
      },
    });
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as net.AddressInfo).port;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-accesslog-'));
  });

  afterAll(async () => {
    for (const gw of gateways) await gw.stop();
    await up?.close();
    await new Promise<void>((r) => echo.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes HAProxy httplog lines to a file', async () => {
    const file = path.join(dir, 'http.log');
    const gw = await start({ output: 'file', file });
    const res = await request(gw.url('/teapot?x=1'), { method: 'POST', body: 'abc' });
    await res.body.text();
    const [line] = await until(() => lines(file).length >= 1 && lines(file), 'a log line');
    // 127.0.0.1:54321 [25/Nov/2026:17:09:24.123] web api/app1 0/0/0/3/3 418 12 - - ---- 1/1/0/0/0 0/0 "POST /teapot?x=1 HTTP/1.1"
    expect(line).toMatch(
      /^127\.0\.0\.1:\d+ \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] web api\/app1 0\/0\/0\/\d+\/\d+ 418 12 - - ---- \d+\/\d+\/\d+\/\d+\/0 0\/0 "POST \/teapot\?x=1 HTTP\/1\.1"$/,
    );
  });

  it('writes HAProxy tcplog lines for TCP sessions', async () => {
    const file = path.join(dir, 'tcp.log');
    const gw = await start(
      { output: 'file', file },
      {
        frontends: { tcpin: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'echo' } },
        backends: { echo: { mode: 'tcp', servers: [{ name: 'e1', address: `127.0.0.1:${echoPort}` }] } },
      },
    );
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(gw.port('tcpin'), '127.0.0.1', () => s.write('ping'));
      s.on('data', () => s.end());
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    const [line] = await until(() => lines(file).length >= 1 && lines(file), 'a tcplog line');
    // 127.0.0.1:54321 [25/Nov/2026:17:09:24.123] tcpin echo/e1 0/0/5 4 -- 1/1/0/0/0 0/0
    expect(line).toMatch(/^127\.0\.0\.1:\d+ \[[^\]]+\] tcpin echo\/e1 0\/0\/\d+ 4 -- \d+\/\d+\/\d+\/\d+\/0 0\/0$/);
  });

  it('writes JSON records through pino', async () => {
    const file = path.join(dir, 'json.log');
    const gw = await start({ format: 'json', output: 'file', file });
    await (await request(gw.url('/j?q=1'), { headers: { host: 'example.test' } })).body.text();
    const [line] = await until(() => lines(file).length >= 1 && lines(file), 'a JSON line');
    const rec = JSON.parse(line!) as Record<string, unknown>;
    expect(rec).toMatchObject({
      mode: 'http', client: '127.0.0.1', frontend: 'web', backend: 'api', server: 'app1', method: 'GET', host: 'example.test',
      url: '/j?q=1', httpVersion: '1.1', status: 200, bytesOut: 12, termination: 'ok', retries: 0, error: null,
    });
    expect(typeof rec.time).toBe('string');
    expect(rec.log).toBe('access');
    expect(rec.durationMs).toBeGreaterThan(0);
  });

  it('writes a custom format with %-variables, quoting and %%', async () => {
    const file = path.join(dir, 'custom.log');
    const gw = await start({ format: 'custom', output: 'file', file, template: '%ci %HM %HP %HQ %ST %b/%s %{+Q}r err=%E 100%% %mode' });
    await (await request(gw.url('/a/b?c=d'))).body.text();
    const [line] = await until(() => lines(file).length >= 1 && lines(file), 'a custom line');
    expect(line).toBe('127.0.0.1 GET /a/b ?c=d 200 api/app1 "GET /a/b?c=d HTTP/1.1" err=- 100% http');
  });

  it('calls sample fetches from the fetch slot with %[name(arg)] (ACL plugin)', async () => {
    const file = path.join(dir, 'fetch.log');
    const gw = await startTestGateway({
      plugins: [...PLUGINS, '@switchyard/plugin-acl'],
      accessLog: { format: 'custom', output: 'file', file, template: '%[req.hdr(x-tenant)] %{+Q}[req.hdr(user-agent)] %[req.hdr(absent)]' },
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'api' } },
      backends: { api: { servers: [{ name: 'app1', address: up.address }] } },
    });
    gateways.push(gw);
    await (await request(gw.url('/'), { headers: { 'x-tenant': 'acme', 'user-agent': 'probe "1"' } })).body.text();
    const [line] = await until(() => lines(file).length >= 1 && lines(file), 'a line with fetched values');
    expect(line).toBe('acme "probe \\"1\\"" -');
  });

  it('refuses an unknown %-variable at start-up with a coded error', async () => {
    await expect(start({ format: 'custom', template: '%ci %nope' })).rejects.toMatchObject({ code: 'SWY_ERR_ACCESSLOG_FORMAT' });
  });

  it('sends syslog messages over UDP', async () => {
    const sock = dgram.createSocket('udp4');
    const got: string[] = [];
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      const port = sock.address().port;
      const gw = await start({ output: 'syslog', syslog: { address: `127.0.0.1:${port}`, facility: 'local2', tag: 'lb', hostname: 'edge1' } });
      await (await request(gw.url('/sys'))).body.text();
      const [msg] = await until(() => got.length >= 1 && got, 'a syslog datagram');
      // <150> = local2 (18) * 8 + info (6); RFC 3164 header, then the httplog line.
      expect(msg).toMatch(new RegExp(`^<150>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d edge1 lb\\[${process.pid}\\]: 127\\.0\\.0\\.1:\\d+ \\[[^\\]]+\\] web api/app1 .* 200 12 .*"GET /sys HTTP/1\\.1"$`));
    } finally {
      sock.close();
    }
  });
});
