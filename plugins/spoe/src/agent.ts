import * as net from 'node:net';
import type { BackendState, Logger, ServerState } from '@switchyard/sdk';
import {
  FLAG_FIN, FrameSplitter, FrameType, Reader, SpopError, Status, STATUS_TEXT, decodeActions, decodeFrame, encodeFrame, kvPayload, messagesPayload,
  type SpopAction, type SpopMessage, type TypedValue,
} from './spop';

/** Why a NOTIFY got no answer: HAProxy's set-on-error values (1 timeout, 255 unknown, 256+N a SPOP status). */
export class NotifyError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export const ERR_TIMEOUT = 1;
export const ERR_UNKNOWN = 255;
export const spopError = (status: number): number => 256 + status;

interface Waiting {
  resolve(actions: SpopAction[]): void;
  reject(err: NotifyError): void;
}

export interface AgentOptions {
  engineId: string;
  helloMs: number;
  idleMs: number;
  maxFrameSize: number;
  pipelining: boolean;
  /** Frames in flight on one connection (HAProxy's max-waiting-frames). */
  maxWaiting: number;
}

/** HAPROXY-HELLO: what HAProxy 2.6 announces. */
export function helloFrame(maxFrameSize: number, capabilities: string, engineId: string | undefined, healthcheck: boolean): Buffer {
  const items: Array<[string, TypedValue]> = [
    ['supported-versions', { type: 'string', value: '2.0' }],
    ['max-frame-size', { type: 'uint32', value: BigInt(maxFrameSize) }],
    ['capabilities', { type: 'string', value: capabilities }],
  ];
  if (healthcheck) items.push(['healthcheck', { type: 'bool', value: true }]);
  if (engineId !== undefined) items.push(['engine-id', { type: 'string', value: engineId }]);
  return encodeFrame(FrameType.HAPROXY_HELLO, 0, 0, kvPayload(items));
}

/** Checks an AGENT-HELLO (version 2.x, max-frame-size 256..ours); returns the frame size agreed and the agent's capabilities. */
export function readAgentHello(payload: Buffer, ours: number): { maxFrameSize: number; capabilities: string[] } {
  const kv = new Reader(payload).kvList();
  const version = kv.get('version');
  if (version?.type !== 'string') throw new SpopError(Status.NO_VSN, STATUS_TEXT[Status.NO_VSN]!);
  const m = /^\s*(\d+)\.(\d+)\s*$/.exec(version.value);
  if (!m || m[1] !== '2') throw new SpopError(Status.BAD_VSN, `${STATUS_TEXT[Status.BAD_VSN]}: ${version.value}`);
  const size = kv.get('max-frame-size');
  if (size === undefined || !('value' in size) || typeof size.value !== 'bigint') throw new SpopError(Status.NO_FRAME_SIZE, STATUS_TEXT[Status.NO_FRAME_SIZE]!);
  const n = Number(size.value);
  if (n < 256 || n > ours) throw new SpopError(Status.BAD_FRAME_SIZE, `${STATUS_TEXT[Status.BAD_FRAME_SIZE]}: ${n}`);
  const caps = kv.get('capabilities');
  if (caps?.type !== 'string') throw new SpopError(Status.NO_CAP, STATUS_TEXT[Status.NO_CAP]!);
  return { maxFrameSize: n, capabilities: caps.value.split(',').map((c) => c.trim()).filter(Boolean) };
}

function disconnectFrame(status: number, message: string): Buffer {
  return encodeFrame(FrameType.HAPROXY_DISCONNECT, 0, 0, kvPayload([
    ['status-code', { type: 'uint32', value: BigInt(status) }],
    ['message', { type: 'string', value: message }],
  ]));
}

/** One TCP connection to an agent: HELLO, then NOTIFY/ACK (pipelined when both sides can). */
class AgentConnection {
  readonly #socket: net.Socket;
  readonly #opts: AgentOptions;
  readonly #logger: Logger;
  readonly #waiting = new Map<string, Waiting>();
  readonly ready: Promise<void>;
  #maxFrameSize: number;
  #pipelining = false;
  #closed = false;
  #idle: NodeJS.Timeout | null = null;
  readonly #onClose: (c: AgentConnection) => void;

  constructor(server: ServerState, opts: AgentOptions, logger: Logger, onClose: (c: AgentConnection) => void) {
    this.#opts = opts;
    this.#logger = logger;
    this.#onClose = onClose;
    this.#maxFrameSize = opts.maxFrameSize;
    this.#socket = net.connect({ host: server.host, port: server.port, noDelay: true });
    const splitter = new FrameSplitter(() => this.#maxFrameSize);
    let helloDone: (() => void) | undefined;
    let helloFail: ((e: Error) => void) | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      helloDone = resolve;
      helloFail = reject;
    });
    this.ready.catch(() => undefined);
    const helloTimer = opts.helloMs > 0 ? setTimeout(() => this.#fail(new SpopError(Status.TIMEOUT, 'timeout hello: no AGENT-HELLO')), opts.helloMs) : null;
    let helloed = false;
    this.#socket.on('connect', () => {
      const caps = opts.pipelining ? 'pipelining' : '';
      this.#socket.write(helloFrame(opts.maxFrameSize, caps, opts.engineId, false));
    });
    this.#socket.on('data', (chunk: Buffer) => {
      let bodies: Buffer[];
      try {
        bodies = splitter.push(chunk);
      } catch (err) {
        return this.#fail(err as Error);
      }
      for (const body of bodies) {
        try {
          const f = decodeFrame(body);
          if (!helloed) {
            if (f.type === FrameType.AGENT_DISCONNECT) throw this.#disconnectReason(f.payload);
            if (f.type !== FrameType.AGENT_HELLO) throw new SpopError(Status.INVALID, `expected AGENT-HELLO, got frame type ${f.type}`);
            const h = readAgentHello(f.payload, opts.maxFrameSize);
            this.#maxFrameSize = h.maxFrameSize;
            this.#pipelining = opts.pipelining && h.capabilities.includes('pipelining');
            helloed = true;
            if (helloTimer) clearTimeout(helloTimer);
            this.#armIdle();
            helloDone!();
            continue;
          }
          if (f.type === FrameType.ACK) {
            if ((f.flags & FLAG_FIN) === 0) throw new SpopError(Status.FRAG_NOT_SUPPORTED, STATUS_TEXT[Status.FRAG_NOT_SUPPORTED]!);
            const key = `${f.streamId}/${f.frameId}`;
            const w = this.#waiting.get(key);
            if (!w) continue; // an ACK for a NOTIFY given up on (timeout): ignored, as HAProxy does
            this.#waiting.delete(key);
            this.#armIdle();
            w.resolve(decodeActions(f.payload));
          } else if (f.type === FrameType.AGENT_DISCONNECT) {
            throw this.#disconnectReason(f.payload);
          }
          // unknown frames are skipped (doc/SPOE.txt 3.2.2)
        } catch (err) {
          return this.#fail(err as Error);
        }
      }
    });
    this.#socket.on('error', (err) => this.#fail(new SpopError(Status.IO, err.message)));
    this.#socket.on('close', () => this.#fail(new SpopError(Status.IO, 'connection closed by the agent')));
    helloFail = ((orig) => (e: Error) => {
      if (helloTimer) clearTimeout(helloTimer);
      orig!(e);
    })(helloFail);
    this.#helloFail = helloFail!;
  }

  #helloFail: (e: Error) => void;

  #disconnectReason(payload: Buffer): SpopError {
    try {
      const kv = new Reader(payload).kvList();
      const code = kv.get('status-code');
      const msg = kv.get('message');
      const status = code && 'value' in code && typeof code.value === 'bigint' ? Number(code.value) : Status.UNKNOWN;
      return new SpopError(status, `agent disconnected: ${msg?.type === 'string' ? msg.value : STATUS_TEXT[status] ?? status}`);
    } catch {
      return new SpopError(Status.INVALID, 'agent disconnected with an invalid frame');
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Can take one more NOTIFY now. */
  get free(): boolean {
    return !this.#closed && (this.#pipelining ? this.#waiting.size < this.#opts.maxWaiting : this.#waiting.size === 0);
  }

  get inFlight(): number {
    return this.#waiting.size;
  }

  #armIdle(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    if (this.#opts.idleMs > 0 && this.#waiting.size === 0) {
      this.#idle = setTimeout(() => this.close(Status.NORMAL, 'idle'), this.#opts.idleMs);
      this.#idle.unref();
    }
  }

  notify(streamId: number, frameId: number, messages: ReadonlyArray<SpopMessage>): Promise<SpopAction[]> {
    const frame = encodeFrame(FrameType.NOTIFY, streamId, frameId, messagesPayload(messages));
    if (frame.length - 4 > this.#maxFrameSize) return Promise.reject(new NotifyError(3, 'the NOTIFY frame is over max-frame-size and cannot be fragmented'));
    return new Promise<SpopAction[]>((resolve, reject) => {
      this.#waiting.set(`${streamId}/${frameId}`, { resolve, reject });
      if (this.#idle) clearTimeout(this.#idle);
      this.#idle = null;
      this.#socket.write(frame);
    });
  }

  forget(streamId: number, frameId: number): void {
    this.#waiting.delete(`${streamId}/${frameId}`);
    this.#armIdle();
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idle) clearTimeout(this.#idle);
    const status = err instanceof SpopError ? err.status : Status.UNKNOWN;
    this.#helloFail(err);
    for (const w of this.#waiting.values()) w.reject(new NotifyError(spopError(status), err.message));
    this.#waiting.clear();
    if (status !== Status.IO && !this.#socket.destroyed) {
      this.#socket.end(disconnectFrame(status, err.message));
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    } else this.#socket.destroy();
    this.#logger.debug({ err: err.message, status }, 'SPOE agent connection closed');
    this.#onClose(this);
  }

  close(status: number, message: string): void {
    this.#fail(new SpopError(status, message));
  }
}

/**
 * The connections to one agent's backend (`use-backend`): a free connection takes the next
 * NOTIFY, else a new one is opened on the next usable server (round robin).
 */
export class AgentPool {
  readonly #backend: BackendState;
  readonly #opts: AgentOptions;
  readonly #logger: Logger;
  readonly #conns = new Set<AgentConnection>();
  #next = 0;
  #stopped = false;

  constructor(backend: BackendState, opts: AgentOptions, logger: Logger) {
    this.#backend = backend;
    this.#opts = opts;
    this.#logger = logger;
  }

  #server(): ServerState | undefined {
    const list = this.#backend.servers.filter((s) => s.usable);
    if (list.length === 0) return undefined;
    return list[this.#next++ % list.length];
  }

  async #connection(): Promise<AgentConnection> {
    for (const c of this.#conns) if (c.free) return c;
    const server = this.#server();
    if (!server) throw new NotifyError(spopError(Status.IO), `no server available in backend ${this.#backend.name}`);
    const c = new AgentConnection(server, this.#opts, this.#logger, (x) => this.#conns.delete(x));
    this.#conns.add(c);
    try {
      await c.ready;
    } catch (err) {
      const status = err instanceof SpopError ? err.status : Status.UNKNOWN;
      throw new NotifyError(spopError(status), (err as Error).message);
    }
    return c;
  }

  /**
   * Sends one NOTIFY and resolves the ACK's actions; rejects with a NotifyError (timeout after
   * `timeoutMs`, which covers getting a connection, as HAProxy's timeout processing does).
   */
  notify(streamId: number, frameId: number, messages: ReadonlyArray<SpopMessage>, timeoutMs: number): Promise<SpopAction[]> {
    if (this.#stopped) return Promise.reject(new NotifyError(ERR_UNKNOWN, 'stopped'));
    return new Promise<SpopAction[]>((resolve, reject) => {
      let conn: AgentConnection | undefined;
      let over = false;
      const timer = timeoutMs > 0
        ? setTimeout(() => {
          over = true;
          conn?.forget(streamId, frameId);
          reject(new NotifyError(ERR_TIMEOUT, `timeout processing (${timeoutMs} ms)`));
        }, timeoutMs)
        : null;
      const done = (): void => {
        if (timer) clearTimeout(timer);
      };
      // No agent reachable yet: try again until the processing timeout, as HAProxy waits for
      // an applet (it then reports the timeout, not the connection error).
      const attempt = (): void => {
        this.#connection().then(
          (c) => {
            if (over) return;
            conn = c;
            c.notify(streamId, frameId, messages).then(
              (a) => {
                done();
                if (!over) resolve(a);
              },
              (e: NotifyError) => {
                done();
                if (!over) reject(e);
              },
            );
          },
          (e: NotifyError) => {
            if (over) return;
            if (timer === null || this.#stopped) {
              done();
              reject(e);
              return;
            }
            setTimeout(attempt, 50).unref();
          },
        );
      };
      attempt();
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const c of [...this.#conns]) c.close(Status.NORMAL, 'HAProxy is stopping');
  }
}
