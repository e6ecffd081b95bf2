/**
 * TCP keep-alive on TCP-mode sessions (HAProxy option tcpka / clitcpka / srvtcpka, *-idle):
 * the kernel's view of the sockets (`ss -o` shows a keepalive timer) says whether it is on.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

/** The `ss -tno` timer of the established socket whose local port is `local` and remote port `remote`. */
function timerOf(local: number, remote: number): string {
  const out = execFileSync('ss', ['-tnoH', 'state', 'established'], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[2]?.endsWith(`:${local}`) && cols[3]?.endsWith(`:${remote}`)) return /timer:\((\w+)/.exec(line)?.[1] ?? 'none';
  }
  throw new Error(`no established socket ${local} -> ${remote} in:\n${out}`);
}

describe('TCP keep-alive', () => {
  let upstream: net.Server;
  const accepted: net.Socket[] = [];
  const gateways: TestGateway[] = [];
  beforeAll(async () => {
    upstream = net.createServer((s) => {
      accepted.push(s);
      s.on('error', () => undefined);
      s.write('hi\n');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    for (const g of gateways) await g.stop();
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => upstream.close(() => r()));
  });
  const upPort = (): number => (upstream.address() as net.AddressInfo).port;

  /** Opens a session; returns the client-side and server-side keep-alive timers the kernel shows. */
  async function session(gw: TestGateway): Promise<{ client: string; server: string }> {
    const before = accepted.length;
    const c = net.connect({ host: '127.0.0.1', port: gw.port() });
    await new Promise<void>((r) => c.once('data', () => r()));
    const up = accepted[before]!;
    const res = { client: timerOf(gw.port(), c.localPort!), server: timerOf(up.remotePort!, upPort()) };
    c.destroy();
    return res;
  }

  it('is off unless asked, on per side with tcpKeepAlive', async () => {
    const base = { mode: 'tcp', servers: [{ address: `127.0.0.1:${upPort()}` }] };
    const off = await startTestGateway({ frontends: { f: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'b' } }, backends: { b: base } });
    gateways.push(off);
    expect(await session(off)).toEqual({ client: 'none', server: 'none' });
    const on = await startTestGateway({
      frontends: { f: { mode: 'tcp', bind: '127.0.0.1:0', defaultBackend: 'b', tcpKeepAlive: true, tcpKeepAliveIdle: '30s' } },
      backends: { b: { ...base, tcpKeepAlive: true } },
    });
    gateways.push(on);
    expect(await session(on)).toEqual({ client: 'keepalive', server: 'keepalive' });
  });

  it('reads option tcpka, clitcpka, srvtcpka and *-idle from haproxy.cfg', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-tcpka-'));
    try {
      const cfg = (opts: string) => `defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n${opts}\nfrontend f\n  bind 127.0.0.1:0\n  default_backend b\nbackend b\n  server s 127.0.0.1:${upPort()}\n`;
      const start = async (opts: string): Promise<TestGateway> => {
        const file = path.join(dir, 'haproxy.cfg');
        fs.writeFileSync(file, cfg(opts));
        const gw = await startTestGateway(fs.readFileSync(file, 'utf8'), { file });
        gateways.push(gw);
        return gw;
      };
      const both = await start('  option tcpka\n  clitcpka-idle 30s\n  srvtcpka-idle 1m');
      expect(both.gateway.config.frontends.f).toMatchObject({ tcpKeepAlive: true, tcpKeepAliveIdle: 30_000 });
      expect(both.gateway.config.backends.b).toMatchObject({ tcpKeepAlive: true, tcpKeepAliveIdle: 60_000 });
      expect(await session(both)).toEqual({ client: 'keepalive', server: 'keepalive' });
      const srv = await start('  option srvtcpka');
      expect(await session(srv)).toEqual({ client: 'none', server: 'keepalive' });
      const cli = await start('  option clitcpka');
      expect(await session(cli)).toEqual({ client: 'keepalive', server: 'none' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
