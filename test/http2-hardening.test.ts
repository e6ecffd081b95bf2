/**
 * HTTP/2 at the session level, with a raw node:http2 client, a hand-framed client for what
 * node:http2 will not send (frames after GOAWAY, a CONTINUATION flood), and nghttp / h2load:
 * GOAWAY on graceful stop and on reload, RST_STREAM in the middle of a streamed body, 1 000
 * concurrent streams, a client that stalls flow control, rapid-reset and CONTINUATION floods.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import pino from 'pino';
import type { Logger } from '@switchyard/sdk';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { startReloadable, type Reloader } from '@switchyard/core';
import { until } from './helpers';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

// ------------------------------------------------------------------ a hand-framed client

const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, CONTINUATION: 9 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK "literal header field without indexing, new name", no Huffman (RFC 7541 §6.2.2); short strings only. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

function requestBlock(p: string, authority: string): Buffer {
  return Buffer.concat([literal(':method', 'GET'), literal(':scheme', 'https'), literal(':authority', authority), literal(':path', p)]);
}

/** TLS + ALPN h2, the client preface and an empty SETTINGS; frames read as they come, SETTINGS acknowledged. */
class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  readonly socket: tls.TLSSocket;
  #buf = Buffer.alloc(0);
  #waiters: Array<() => void> = [];

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      while (this.#buf.length >= 9) {
        const len = this.#buf.readUIntBE(0, 3);
        if (this.#buf.length < 9 + len) break;
        const f: Frame = { type: this.#buf[3]!, flags: this.#buf[4]!, stream: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: this.#buf.subarray(9, 9 + len) };
        this.#buf = this.#buf.subarray(9 + len);
        this.frames.push(f);
        if (f.type === FRAME.SETTINGS && (f.flags & 0x1) === 0 && !socket.destroyed) socket.write(frame(FRAME.SETTINGS, 0x1, 0));
      }
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static connect(port: number): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'localhost' }, () => {
        if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN ${socket.alpnProtocol}`));
        socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.SETTINGS, 0, 0)]));
        resolve(new RawH2(socket));
      });
      socket.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves with the first frame matching `pred` (or when the connection closes: undefined). */
  waitFrame(pred: (f: Frame) => boolean, ms = 10_000): Promise<Frame | undefined> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), ms);
      const check = (): void => {
        const f = this.frames.find(pred);
        if (f || this.closed) {
          clearTimeout(timer);
          resolve(f);
        } else this.#waiters.push(check);
      };
      check();
    });
  }

  get(stream: number, p: string, authority: string): void {
    this.socket.write(frame(FRAME.HEADERS, END_STREAM | END_HEADERS, stream, requestBlock(p, authority)));
  }

  close(): void {
    this.socket.destroy();
  }
}

const goawayOf = (f: Frame): { lastStreamId: number; code: number } => ({ lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) });

// ------------------------------------------------------------------ the gateway under test

const logger = pino({ level: process.env.SWY_TEST_LOG ?? 'silent' }) as unknown as Logger;
let dir: string;
let up: Upstream;
/** Requests the upstream holds until released, by path. */
const held = new Map<string, http.ServerResponse>();
/** What happened to /upload requests. */
const uploads: Array<{ bytes: number; ended: boolean; aborted: boolean; closed: boolean }> = [];
const gate: http.ServerResponse[] = [];
/** The /big response's writer: bytes written and whether it waits for 'drain'. */
const big = { written: 0, blocked: false, closed: false };

function configText(extra = ''): string {
  return [
    'global: { gracePeriod: 5s, logLevel: warn, tune: { h2: { maxConcurrentStreams: 1000 } } }',
    'frontends:',
    '  h2:',
    '    bind: [{ host: 127.0.0.1, port: 0, tls: { cert: cert.pem, key: key.pem } }]',
    '    defaultBackend: app',
    '  h2default:',
    '    bind: [{ host: 127.0.0.1, port: 0, tls: { cert: cert.pem, key: key.pem } }]',
    '    defaultBackend: app',
    'backends:',
    // Generous timeouts: 1 000 upstream connections opened at once on a busy machine are slow.
    `  app: { timeouts: { connect: 30s, server: 100s }, servers: [{ name: s1, address: "${up.address}" }] }`,
    extra,
  ].join('\n');
}

async function start(text = configText()): Promise<Reloader> {
  const file = path.join(dir, 'gw.yaml');
  fs.writeFileSync(file, text);
  return startReloadable({ file, logger });
}

function port(r: Reloader, frontend = 'h2'): number {
  return r.gateway.address(frontend).port;
}

function connect(p: number, options: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  const s = http2.connect(`https://localhost:${p}`, { rejectUnauthorized: false, host: '127.0.0.1', ...options } as http2.SecureClientSessionOptions);
  s.on('error', () => undefined);
  return s;
}

/** One GET on a session: status and body. */
function get(session: http2.ClientHttp2Session, p: string): Promise<{ status: number; body: string; id: number | undefined }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': p });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve({ status, body, id: req.id }));
    req.on('error', reject);
    req.end();
  });
}

/** A GET on a new session, timed: what another client sees while one misbehaves. */
async function timedGet(p: number): Promise<{ status: number; ms: number }> {
  const s = connect(p);
  const t0 = Date.now();
  try {
    const r = await get(s, '/fast');
    return { status: r.status, ms: Date.now() - t0 };
  } finally {
    s.close();
  }
}

function sessionClosed(s: http2.ClientHttp2Session): Promise<{ goaway: number | null }> {
  return new Promise((resolve) => {
    let goaway: number | null = null;
    s.on('goaway', (code: number) => (goaway = code));
    if (s.closed || s.destroyed) return resolve({ goaway });
    s.once('close', () => resolve({ goaway }));
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-h2-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { cwd: dir, stdio: 'ignore' });
  up = await startUpstream({
    name: 'app',
    handler: (req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/hold')) {
        req.resume();
        held.set(url, res);
        return;
      }
      if (url === '/gate') {
        // Answers nobody until 1 000 requests wait at once: proof that they are concurrent.
        req.resume();
        gate.push(res);
        if (gate.length === 1000) for (const g of gate.splice(0)) g.end('through\n');
        return;
      }
      if (url === '/upload') {
        const u = { bytes: 0, ended: false, aborted: false, closed: false };
        uploads.push(u);
        req.on('data', (c: Buffer) => (u.bytes += c.length));
        req.on('end', () => {
          u.ended = true;
          res.end(`got ${u.bytes}\n`);
        });
        req.on('aborted', () => (u.aborted = true));
        req.on('close', () => (u.closed = true));
        return;
      }
      if (url === '/big') {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 120);
        const total = 20 * 1024 * 1024;
        const pump = (): void => {
          while (big.written < total) {
            big.written += chunk.length;
            if (!res.write(chunk)) {
              big.blocked = true;
              res.once('drain', () => {
                big.blocked = false;
                pump();
              });
              return;
            }
          }
          res.end();
        };
        res.on('close', () => (big.closed = true));
        pump();
        return;
      }
      req.resume();
      res.end('fast\n');
    },
  });
});

afterAll(async () => {
  for (const res of held.values()) res.destroy();
  await up.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function release(p: string, body = 'released\n'): void {
  const res = held.get(p);
  held.delete(p);
  res?.end(body);
}

// ------------------------------------------------------------------ the tests

describe('GOAWAY', () => {
  it.each(['stop', 'reload'])('on graceful %s: the open stream finishes, the GOAWAY names it as the last stream, a newer stream is not served', async (how) => {
    const r = await start();
    const raw = await RawH2.connect(port(r));
    raw.get(1, '/hold/stop', 'localhost');
    await until('the upstream to hold stream 1', () => held.has('/hold/stop'));
    const stopping = how === 'stop' ? r.stop(5_000) : r.reload().then((res) => expect(res).toMatchObject({ ok: true }));
    const goaway = goawayOf((await raw.waitFrame((f) => f.type === FRAME.GOAWAY))!);
    expect(goaway).toEqual({ lastStreamId: 1, code: NGHTTP2_NO_ERROR });
    const hits = up.hits;
    raw.get(3, '/fast', 'localhost');
    release('/hold/stop');
    const end = await raw.waitFrame((f) => f.stream === 1 && f.type === FRAME.DATA && (f.flags & END_STREAM) !== 0);
    expect(end).toBeDefined();
    expect(raw.frames.filter((f) => f.stream === 1 && f.type === FRAME.DATA).map((f) => f.payload.toString()).join('')).toBe('released\n');
    // Stream 3 came after the GOAWAY: never forwarded; refused if answered at all.
    const rst3 = raw.frames.find((f) => f.stream === 3 && f.type === FRAME.RST_STREAM);
    if (rst3) expect(rst3.payload.readUInt32BE(0)).toBe(NGHTTP2_REFUSED_STREAM);
    expect(raw.frames.some((f) => f.stream === 3 && (f.type === FRAME.HEADERS || f.type === FRAME.DATA))).toBe(false);
    expect(up.hits).toBe(hits);
    await stopping;
    raw.close();
    if (how === 'reload') {
      // The port stayed open: a new connection is served by generation 2.
      expect(r.generation).toBe(2);
      expect((await timedGet(port(r))).status).toBe(200);
      await r.stop(1_000);
    }
  });

  it('on reload: the old generation GOAWAYs its sessions, in-flight streams finish, new sessions reach the new generation (node:http2 client)', async () => {
    const r = await start();
    const p = port(r);
    const session = connect(p);
    const goaway = new Promise<{ code: number; last: number }>((resolve) => session.once('goaway', (code: number, last: number) => resolve({ code, last })));
    const first = await get(session, '/fast');
    expect(first.status).toBe(200);
    const inflight = get(session, '/hold/reload');
    await until('the upstream to hold the request', () => held.has('/hold/reload'));
    fs.writeFileSync(path.join(dir, 'gw.yaml'), configText().replace('logLevel: warn', 'logLevel: error'));
    const result = await r.reload();
    expect(result).toMatchObject({ ok: true });
    expect(r.generation).toBe(2);
    const g = await goaway;
    expect(g.code).toBe(NGHTTP2_NO_ERROR);
    // Client stream ids are 1, 3, 5…: the in-flight one is the second.
    expect(g.last).toBe(3);
    // A new request on the old session is refused by the client itself after GOAWAY…
    await expect(get(session, '/fast')).rejects.toMatchObject({ code: 'ERR_HTTP2_GOAWAY_SESSION' });
    release('/hold/reload', 'finished after reload\n');
    expect(await inflight).toMatchObject({ status: 200, body: 'finished after reload\n', id: 3 });
    // …and a new session, on the same port, is served by generation 2.
    const fresh = await timedGet(p);
    expect(fresh.status).toBe(200);
    expect(port(r)).toBe(p);
    session.close();
    await r.stop(1_000);
  });

  it('on graceful stop, seen by nghttp: GOAWAY with the request\'s stream as last-stream-id, and the response completes', async () => {
    const r = await start();
    const child = execFile('nghttp', ['-v', '-n', `https://localhost:${port(r)}/hold/nghttp`], { timeout: 20_000 });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until('nghttp\'s request to reach the upstream', () => held.has('/hold/nghttp'));
    const stopping = r.stop(5_000);
    await until('nghttp to see the GOAWAY', () => /recv GOAWAY frame/.test(out));
    release('/hold/nghttp');
    expect(await exited).toBe(0);
    await stopping;
    const stream = Number(/send HEADERS frame <[^>]*stream_id=(\d+)>/.exec(out)![1]);
    expect(out).toMatch(new RegExp(`recv GOAWAY frame <[^>]*>\\s*\\(last_stream_id=${stream}, error_code=NO_ERROR\\(0x00\\)`));
    expect(out).toMatch(new RegExp(`recv \\(stream_id=${stream}\\) :status: 200`));
    expect(out).toMatch(new RegExp(`recv DATA frame <length=9, flags=0x0[01], stream_id=${stream}>`));
    expect(out).toMatch(new RegExp(`recv DATA frame <length=\\d+, flags=0x01, stream_id=${stream}>`));
  });
});

describe('streams', () => {
  let r: Reloader;
  beforeAll(async () => {
    r = await start();
  });
  afterAll(async () => {
    await r.stop(0);
  });

  it('RST_STREAM in the middle of a streamed request body aborts the upstream request; nothing is left held', async () => {
    const raw = await RawH2.connect(port(r));
    await raw.waitFrame((f) => f.type === FRAME.SETTINGS);
    const head = Buffer.concat([literal(':method', 'POST'), literal(':scheme', 'https'), literal(':authority', 'localhost'), literal(':path', '/upload')]);
    raw.socket.write(frame(FRAME.HEADERS, END_HEADERS, 1, head));
    const chunk = Buffer.alloc(16 * 1024, 97);
    raw.socket.write(Buffer.concat([frame(FRAME.DATA, 0, 1, chunk), frame(FRAME.DATA, 0, 1, chunk)]));
    await until('the upstream to receive part of the body', () => (uploads.at(-1)?.bytes ?? 0) >= chunk.length);
    const u = uploads.at(-1)!;
    // RST_STREAM(CANCEL) with the body unfinished (no END_STREAM was sent).
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(NGHTTP2_CANCEL);
    raw.socket.write(frame(FRAME.RST_STREAM, 0, 1, cancel));
    await until('the upstream request to be closed', () => u.closed);
    expect(u.ended).toBe(false);
    expect(u.aborted).toBe(true);
    const server = r.gateway.backends.get('app')!.server('s1')!;
    await until('the server slot to be released', () => server.active === 0);
    // The connection itself is fine: a client that cancels one stream is not punished for it.
    raw.get(3, '/fast', 'localhost');
    expect(await raw.waitFrame((f) => f.stream === 3 && f.type === FRAME.DATA && f.payload.toString() === 'fast\n')).toBeDefined();
    raw.close();
  });

  it('1 000 concurrent streams on one connection (h2load -m 1000): all 1 000 wait at the upstream at once, all answered', async () => {
    // Asynchronously: the gateway runs in this process.
    const out = await new Promise<string>((resolve, reject) =>
      execFile('h2load', ['-n', '1000', '-c', '1', '-m', '1000', `https://localhost:${port(r)}/gate`], { encoding: 'utf8', timeout: 110_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(out).toMatch(/requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored, 0 timeout/);
    expect(out).toMatch(/status codes: 1000 2xx/);
  }, 120_000);

  it('the default max-concurrent-streams is advertised (100); a client asking for 1 000 at once still gets every answer', async () => {
    const d = await start(configText().replace(', tune: { h2: { maxConcurrentStreams: 1000 } }', ''));
    const session = connect(port(d, 'h2default'));
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    const answers = await Promise.all(Array.from({ length: 1000 }, () => get(session, '/fast')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1000);
    session.close();
    await d.stop(0);
  }, 60_000);

  it('a client that stalls flow control holds back only its own stream: the upstream is paused, other clients are served', async () => {
    big.written = 0;
    // A window of 0: the gateway may send no DATA until the client says so (it never does).
    const staller = connect(port(r), { settings: { initialWindowSize: 0 } });
    const req = staller.request({ ':path': '/big' });
    req.on('error', () => undefined);
    req.pause();
    await until('the upstream to be held back', () => big.blocked && big.written > 0);
    const others = await Promise.all(Array.from({ length: 20 }, () => timedGet(port(r))));
    expect(others.every((o) => o.status === 200)).toBe(true);
    // Backpressure all the way: of 20 MB, only what socket buffers and one bounded
    // buffer per hop hold has left the upstream.
    expect(big.blocked).toBe(true);
    expect(big.written).toBeLessThan(8 * 1024 * 1024);
    console.log(`flow-control stall: the upstream wrote ${big.written} of ${20 * 1024 * 1024} bytes, then waited; 20 other clients: max ${Math.max(...others.map((o) => o.ms))} ms`);
    staller.destroy();
    await until('the upstream response to be closed', () => big.closed);
    const server = r.gateway.backends.get('app')!.server('s1')!;
    await until('the server slot to be released', () => server.active === 0);
  }, 60_000);
});

describe('floods', () => {
  let r: Reloader;
  beforeAll(async () => {
    r = await start(configText().replace('maxConcurrentStreams: 1000', 'maxConcurrentStreams: 100, glitchesThreshold: 100'));
  });
  afterAll(async () => {
    for (const res of held.values()) res.destroy();
    await r.stop(0);
  });

  it('rapid reset (CVE-2023-44487): the session is closed with ENHANCE_YOUR_CALM, few requests reach the upstream, others stay fast', async () => {
    const hits = up.hits;
    const raw = await RawH2.connect(port(r));
    await raw.waitFrame((f) => f.type === FRAME.SETTINGS);
    // HEADERS then RST_STREAM(CANCEL) at once, stream after stream, in batches of 100.
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(NGHTTP2_CANCEL);
    let sent = 0;
    for (let batch = 0; batch < 50 && !raw.closed; batch++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 100; i++, sent++) {
        const id = 2 * sent + 1;
        frames.push(frame(FRAME.HEADERS, END_STREAM | END_HEADERS, id, requestBlock(`/hold/rr${sent}`, 'localhost')), frame(FRAME.RST_STREAM, 0, id, cancel));
      }
      raw.socket.write(Buffer.concat(frames));
      await new Promise((res) => setImmediate(res));
    }
    await until('the gateway to close the connection', () => raw.closed, 10_000);
    const goaway = raw.frames.find((f) => f.type === FRAME.GOAWAY);
    expect(goaway && goawayOf(goaway).code).toBe(NGHTTP2_ENHANCE_YOUR_CALM);
    expect(sent).toBeGreaterThanOrEqual(100);
    expect(sent).toBeLessThan(5000);
    // The budget (glitchesThreshold 100) bounds the work done for the attacker.
    expect(up.hits - hits).toBeLessThan(300);
    console.log(`rapid reset: ${sent} HEADERS+RST_STREAM pairs sent before the close, ${up.hits - hits} reached the upstream`);
    for (const [k, res] of held) if (k.startsWith('/hold/rr')) (res.destroy(), held.delete(k));
    const other = await timedGet(port(r));
    expect(other.status).toBe(200);
    expect(other.ms).toBeLessThan(2_000);
  }, 60_000);

  it('CONTINUATION flood (CVE-2024-27316): the connection is closed quickly, memory does not grow, others stay fast', async () => {
    const raw = await RawH2.connect(port(r));
    await raw.waitFrame((f) => f.type === FRAME.SETTINGS);
    const rss0 = process.memoryUsage().rss;
    // A HEADERS frame without END_HEADERS, then CONTINUATION frames that never end.
    raw.socket.write(frame(FRAME.HEADERS, END_STREAM, 1, requestBlock('/', 'localhost')));
    const junk = literal('x-flood', 'y'.repeat(100));
    const many = Buffer.concat(Array.from({ length: 100 }, () => frame(FRAME.CONTINUATION, 0, 1, junk)));
    const t0 = Date.now();
    for (let i = 0; i < 100 && !raw.closed; i++) {
      raw.socket.write(many);
      await new Promise((res) => setImmediate(res));
    }
    await until('the gateway to close the connection', () => raw.closed, 5_000);
    const closedMs = Date.now() - t0;
    expect(closedMs).toBeLessThan(5_000);
    const goaway = raw.frames.find((f) => f.type === FRAME.GOAWAY);
    if (goaway) expect(goawayOf(goaway).code).not.toBe(NGHTTP2_NO_ERROR);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 * 1024);
    const other = await timedGet(port(r));
    expect(other.status).toBe(200);
    expect(other.ms).toBeLessThan(2_000);
    console.log(`CONTINUATION flood: closed after ${closedMs} ms; another client answered in ${other.ms} ms`);
  }, 30_000);

  it('a SETTINGS flood and a PING flood close the session; others stay fast', async () => {
    for (const flood of [frame(FRAME.SETTINGS, 0, 0), frame(FRAME.PING, 0, 0, Buffer.alloc(8))]) {
      const raw = await RawH2.connect(port(r));
      raw.socket.pause(); // read nothing: the gateway's acks and pongs pile up unanswered
      const many = Buffer.concat(Array.from({ length: 1000 }, () => flood));
      for (let i = 0; i < 20 && !raw.closed; i++) raw.socket.write(many);
      raw.socket.resume();
      await until('the gateway to close the connection', () => raw.closed, 5_000);
      const other = await timedGet(port(r));
      expect(other.status).toBe(200);
      expect(other.ms).toBeLessThan(2_000);
    }
  }, 30_000);

  it('an idle session (no stream) gets GOAWAY and is closed after the frontend\'s timeouts.client', async () => {
    const r2 = await start(configText().replace('    defaultBackend: app\n  h2default:', '    defaultBackend: app\n    timeouts: { client: 300ms }\n  h2default:'));
    try {
      const raw = await RawH2.connect(port(r2));
      raw.get(1, '/fast', 'localhost');
      await raw.waitFrame((f) => f.stream === 1 && f.type === FRAME.DATA && (f.flags & END_STREAM) !== 0);
      const t0 = Date.now();
      const goaway = await raw.waitFrame((f) => f.type === FRAME.GOAWAY, 5_000);
      expect(goaway && goawayOf(goaway)).toEqual({ lastStreamId: 1, code: NGHTTP2_NO_ERROR });
      await until('the connection to close', () => raw.closed, 5_000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    } finally {
      await r2.stop(0);
    }
  });

  it('a client that never acknowledges SETTINGS is closed after settingsTimeout', async () => {
    const r2 = await start(configText().replace('maxConcurrentStreams: 1000', 'settingsTimeout: 300ms'));
    try {
      // Preface without reading anything back: our SETTINGS is never acknowledged.
      const socket = tls.connect({ host: '127.0.0.1', port: port(r2), ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'localhost' });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.SETTINGS, 0, 0)]));
      let closed = false;
      socket.on('close', () => (closed = true));
      socket.resume();
      await until('the gateway to close the session', () => closed, 5_000);
    } finally {
      await r2.stop(0);
    }
  });
});
