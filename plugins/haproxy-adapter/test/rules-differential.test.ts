/**
 * Differential test of rules and addresses HAProxy 2.6 and Switchyard must treat alike, one
 * haproxy.cfg given to both (HAProxy started as a child with -db, stopped by PID):
 * - `tcp-request content reject` in an HTTP frontend and `http-request reject`: the
 *   connection is closed, no response ("Empty reply from server");
 * - `http-request silent-drop`: nothing at all comes back (HAProxy hides the close with
 *   TCP_REPAIR; Switchyard keeps the socket open and unread until the client timeout);
 * - ACLs in a backend section, used by that backend's rules (two lines of one ACL are ORed);
 * - a server whose host is an unset variable (`${UNSET}:port`): HAProxy connects to the
 *   address the client connected to, on that port — reached from 127.0.0.2 it finds the
 *   server listening there, from 127.0.0.3 nobody listens and the answer is 503.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { freePort, startTestGateway } from '@switchyard/sdk/testing';
import { makeCert, startTcpUpstream, tmpDir, waitFor, type TcpUpstream } from './helpers';

const HAPROXY = '/usr/sbin/haproxy';
const maybe = fs.existsSync(HAPROXY) ? describe : describe.skip;
const dir = tmpDir('rules-diff');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Outcome = { status: number; upstream?: string; backendAcl?: string } | 'closed' | 'silent';

/** One GET on a fresh connection: the status and what the server saw, or how the connection ended. */
function get(host: string, port: number, p: string, silentAfter = 1000): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request({ host, port, path: p, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        clearTimeout(timer);
        let seen: { upstream?: string; headers?: Record<string, string> } = {};
        try {
          seen = JSON.parse(body) as typeof seen;
        } catch {
          /* a generated page */
        }
        resolve({ status: res.statusCode ?? 0, ...(seen.upstream ? { upstream: seen.upstream } : {}), ...(seen.headers?.['x-backend-acl'] ? { backendAcl: seen.headers['x-backend-acl'] } : {}) });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('silent');
    }, silentAfter);
    req.on('error', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    req.end();
  });
}

function cfg(fe1: number, fe2: number, up: number): string {
  return `defaults
  mode http
  retries 0
  timeout connect 2s
  timeout client 3s
  timeout server 5s
frontend f
  bind 127.0.0.2:${fe1}
  tcp-request content reject if { path /tcpreject }
  http-request reject if { path /reject }
  http-request silent-drop if { path /drop }
  default_backend b
frontend g
  bind 127.0.0.3:${fe2}
  default_backend b
backend b
  acl is_admin path_beg /admin
  acl is_admin path_beg /root
  http-request deny deny_status 403 if is_admin
  http-request set-header X-Backend-Acl yes if !is_admin { path_beg /api }
  server s1 \${SWY_TEST_UNSET_HOST}:${up}
`;
}

async function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const PATHS = ['/tcpreject', '/reject', '/drop', '/admin/x', '/root', '/api/v1', '/'];

async function script(fe1: number, fe2: number): Promise<Record<string, Outcome>> {
  const out: Record<string, Outcome> = {};
  for (const p of PATHS) out[`127.0.0.2 ${p}`] = await get('127.0.0.2', fe1, p);
  out['127.0.0.3 /'] = await get('127.0.0.3', fe2, '/');
  return out;
}

maybe('differential: reject, silent-drop, backend ACLs, ${UNSET}:port servers', () => {
  let upstream: http.Server;
  let upPort = 0;
  beforeAll(async () => {
    // the server listens on 127.0.0.2 only: reached only through the client's destination address
    upstream = http.createServer((req, res) => {
      const body = JSON.stringify({ upstream: 'on-127.0.0.2', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.2', r));
    upPort = (upstream.address() as AddressInfo).port;
  });
  afterAll(async () => {
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  it('answers the same way', async () => {
    delete process.env.SWY_TEST_UNSET_HOST;
    const [a1, a2, b1, b2] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const hf = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(hf, cfg(a1, a2, upPort));
    const child: ChildProcess = spawn(HAPROXY, ['-f', hf, '-db'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let theirs: Record<string, Outcome>;
    try {
      const up = await waitFor(async () => (await listening('127.0.0.2', a1)) && (await listening('127.0.0.3', a2)), 10000);
      if (!up) throw new Error(`haproxy did not start: ${err}`);
      theirs = await script(a1, a2);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
    const sf = path.join(dir, 'switchyard.cfg');
    fs.writeFileSync(sf, cfg(b1, b2, upPort));
    const gw = await startTestGateway(fs.readFileSync(sf, 'utf8'), { file: sf });
    let ours: Record<string, Outcome>;
    try {
      ours = await script(b1, b2);
    } finally {
      await gw.stop();
    }
    expect(theirs).toEqual({
      '127.0.0.2 /tcpreject': 'closed',
      '127.0.0.2 /reject': 'closed',
      '127.0.0.2 /drop': 'silent',
      '127.0.0.2 /admin/x': { status: 403 },
      '127.0.0.2 /root': { status: 403 },
      '127.0.0.2 /api/v1': { status: 200, upstream: 'on-127.0.0.2', backendAcl: 'yes' },
      '127.0.0.2 /': { status: 200, upstream: 'on-127.0.0.2' },
      '127.0.0.3 /': { status: 503 },
    });
    expect(ours).toEqual(theirs);
  }, 60000);
});

/**
 * SNI routing in `mode tcp`: with `tcp-request inspect-delay 5s`, `tcp-request content accept
 * if { req_ssl_hello_type 1 }` and `use_backend … if { req_ssl_sni -i … }`, HAProxy routes as
 * soon as the ClientHello is in; so must Switchyard (not after the 5 s, not to the default).
 */
maybe('differential: SNI routing at the ClientHello', () => {
  const servers: tls.Server[] = [];
  const ports: Record<string, number> = {};
  beforeAll(async () => {
    const { pem } = makeCert(dir);
    const key = fs.readFileSync(pem);
    for (const name of ['alpha', 'beta', 'fallback']) {
      const s = tls.createServer({ key, cert: key }, (socket) => socket.end(`${name}\n`));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
      ports[name] = (s.address() as AddressInfo).port;
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  const text = (fe: number): string => `defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend tls_in
  bind 127.0.0.1:${fe}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend be_alpha if { req_ssl_sni -i alpha.example }
  use_backend be_beta if { req.ssl_sni -m end .beta.example }
  default_backend be_fallback
backend be_alpha
  server a 127.0.0.1:${ports.alpha}
backend be_beta
  server b 127.0.0.1:${ports.beta}
backend be_fallback
  server f 127.0.0.1:${ports.fallback}
`;

  /** Which server answered a TLS client sending `servername`, and how long it took. */
  function hello(port: number, servername: string): Promise<{ server: string; fast: boolean }> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
      let got = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => (got += d));
      c.on('end', () => resolve({ server: got.trim(), fast: Date.now() - t0 < 2000 }));
      c.on('error', reject);
      c.setTimeout(8000, () => c.destroy(new Error('no answer in 8 s')));
    });
  }

  const script = async (port: number): Promise<Record<string, { server: string; fast: boolean }>> => ({
    alpha: await hello(port, 'alpha.example'),
    beta: await hello(port, 'www.beta.example'),
    other: await hello(port, 'other.example'),
  });

  it('routes on the server name as soon as the ClientHello is in', async () => {
    const hp = await freePort();
    const hf = path.join(dir, 'sni-haproxy.cfg');
    fs.writeFileSync(hf, text(hp));
    const child: ChildProcess = spawn(HAPROXY, ['-f', hf, '-db'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let theirs;
    try {
      if (!(await waitFor(() => listening('127.0.0.1', hp), 10000))) throw new Error(`haproxy did not start: ${err}`);
      theirs = await script(hp);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
    const sp = await freePort();
    const sf = path.join(dir, 'sni-switchyard.cfg');
    fs.writeFileSync(sf, text(sp));
    const gw = await startTestGateway(fs.readFileSync(sf, 'utf8'), { file: sf });
    let ours;
    try {
      ours = await script(sp);
    } finally {
      await gw.stop();
    }
    const expected = { alpha: { server: 'alpha', fast: true }, beta: { server: 'beta', fast: true }, other: { server: 'fallback', fast: true } };
    expect(theirs).toEqual(expected);
    expect(ours).toEqual(expected);
  }, 60000);
});

/**
 * `option idle-close-on-response`: during a soft stop an idle keep-alive connection is not cut;
 * its next request is answered, with "Connection: close". HAProxy's soft stop is SIGUSR1;
 * Switchyard's is its graceful stop.
 */
maybe('differential: option idle-close-on-response', () => {
  let upstream: http.Server;
  let upPort = 0;
  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upPort = (upstream.address() as AddressInfo).port;
  });
  afterAll(async () => {
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  const text = (fe: number): string => `defaults
  mode http
  option idle-close-on-response
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  timeout http-keep-alive 10s
frontend f
  bind 127.0.0.1:${fe}
  default_backend b
backend b
  server s 127.0.0.1:${upPort}
`;

  /** Sends a request on `socket` and resolves with the response head once the body is in. */
  function exchange(socket: net.Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      let got = '';
      const onData = (d: Buffer): void => {
        got += d.toString('latin1');
        if (/\r\n\r\nok$/.test(got)) {
          socket.off('data', onData);
          resolve(got.split('\r\n\r\n')[0]!.toLowerCase());
        }
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    });
  }

  async function script(port: number, softStop: () => void): Promise<{ first: boolean; second: string }> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const first = await exchange(socket);
    softStop();
    await new Promise((r) => setTimeout(r, 300)); // the stop has begun; the connection is idle
    const second = await exchange(socket).catch((e: Error) => `error: ${e.message}`);
    socket.destroy();
    return { first: !/connection: close/.test(first), second: /^http\/1\.1 200/.test(second) && /connection: close/.test(second) ? '200 with Connection: close' : second };
  }

  it('answers the next request on an idle connection with Connection: close', async () => {
    const hp = await freePort();
    const hf = path.join(dir, 'icor-haproxy.cfg');
    fs.writeFileSync(hf, text(hp));
    const child: ChildProcess = spawn(HAPROXY, ['-f', hf, '-db'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let theirs;
    try {
      if (!(await waitFor(() => listening('127.0.0.1', hp), 10000))) throw new Error(`haproxy did not start: ${err}`);
      theirs = await script(hp, () => process.kill(child.pid!, 'SIGUSR1'));
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
    const sp = await freePort();
    const sf = path.join(dir, 'icor-switchyard.cfg');
    fs.writeFileSync(sf, text(sp));
    const gw = await startTestGateway(fs.readFileSync(sf, 'utf8'), { file: sf });
    let stopped: Promise<void> | undefined;
    let ours;
    try {
      ours = await script(sp, () => (stopped = gw.stop(5000)));
    } finally {
      await (stopped ?? gw.stop());
    }
    expect(theirs).toEqual({ first: true, second: '200 with Connection: close' });
    expect(ours).toEqual(theirs);
  }, 60000);
});

/**
 * Sample fetches of TCP content inspection: `req.payload(<offset>,<length>)` decides as soon
 * as the bytes are in; `WAIT_END` only once the inspect-delay has passed; `nbsrv(<backend>)`
 * counts the usable servers (0 for a backend without any).
 */
maybe('differential: req.payload, WAIT_END, nbsrv', () => {
  const ups: TcpUpstream[] = [];
  beforeAll(async () => {
    for (const name of ['ping', 'sorry', 'other']) ups.push(await startTcpUpstream(name));
  });
  afterAll(async () => {
    await Promise.all(ups.map((u) => u.close()));
  });

  const text = (fe: number): string => `defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend t
  bind 127.0.0.1:${fe}
  tcp-request inspect-delay 1500ms
  tcp-request content accept if { req.payload(0,4) -m str PING }
  tcp-request content accept if WAIT_END
  use_backend be_ping if { req.payload(0,4) -m str PING }
  use_backend be_sorry if { req.payload(0,4) -m str DEAD } { nbsrv(be_dead) lt 1 }
  default_backend be_other
backend be_ping
  server p ${ups[0]!.address}
backend be_dead
backend be_sorry
  server s ${ups[1]!.address}
backend be_other
  server o ${ups[2]!.address}
`;

  /** Sends `line`, reads the first line back: which server, and whether before the 1.5 s delay. */
  function send(port: number, line: string): Promise<{ server: string; waited: boolean }> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1');
      let got = '';
      c.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('\n')) {
          c.destroy();
          resolve({ server: got.split('\n')[0]!, waited: Date.now() - t0 >= 1400 });
        }
      });
      c.on('error', reject);
      c.setTimeout(8000, () => c.destroy(new Error('no answer in 8 s')));
      c.write(line);
    });
  }

  const script = async (port: number): Promise<Record<string, { server: string; waited: boolean }>> => ({
    ping: await send(port, 'PING\n'),
    dead: await send(port, 'DEAD\n'),
    hello: await send(port, 'HELLO\n'),
  });

  it('decides on the bytes as HAProxy does, and waits for WAIT_END', async () => {
    const hp = await freePort();
    const hf = path.join(dir, 'payload-haproxy.cfg');
    fs.writeFileSync(hf, text(hp));
    const child: ChildProcess = spawn(HAPROXY, ['-f', hf, '-db'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let theirs;
    try {
      if (!(await waitFor(() => listening('127.0.0.1', hp), 10000))) throw new Error(`haproxy did not start: ${err}`);
      theirs = await script(hp);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
    const sp = await freePort();
    const sf = path.join(dir, 'payload-switchyard.cfg');
    fs.writeFileSync(sf, text(sp));
    const gw = await startTestGateway(fs.readFileSync(sf, 'utf8'), { file: sf });
    let ours;
    try {
      ours = await script(sp);
    } finally {
      await gw.stop();
    }
    const expected = { ping: { server: 'ping', waited: false }, dead: { server: 'sorry', waited: true }, hello: { server: 'other', waited: true } };
    expect(theirs).toEqual(expected);
    expect(ours).toEqual(expected);
  }, 60000);
});
