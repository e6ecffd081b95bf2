import type * as net from 'node:net';
import type { BindConfig, Connection, FrontendState, TlsInfo } from '@switchyard/sdk';

const kConnection = Symbol('switchyard.connection');
type SocketWithConnection = net.Socket & { [kConnection]?: ConnectionImpl };

let nextConnectionId = 1;

/**
 * One client connection: what the `accept` hook sees and every exchange on it shares. The
 * addresses are read from the socket on first use (getpeername / getsockname are syscalls,
 * and a TCP session or a request often needs neither); a tap may overwrite the client's
 * (PROXY protocol).
 */
export class ConnectionImpl implements Connection {
  readonly id = nextConnectionId++;
  readonly frontend: FrontendState;
  socket: net.Socket;
  tls: TlsInfo | null = null;
  readonly data = new Map<string | symbol, unknown>();
  readonly bind: BindConfig;
  /** The connection's last request was seen (Connection: close, HTTP/1.0, a refusal): later pipelined ones are not run. */
  closing = false;
  #remoteAddress: string | undefined;
  #remotePort: number | undefined;
  #localAddress: string | undefined;
  #localPort: number | undefined;
  /** The socket the addresses are read from: the raw one (a TLS socket over it answers the same). */
  readonly #raw: net.Socket;

  constructor(frontend: FrontendState, socket: net.Socket, bind: BindConfig) {
    this.frontend = frontend;
    this.bind = bind;
    this.socket = socket;
    this.#raw = socket;
    attach(socket, this);
  }

  /**
   * Reads both addresses now, while the socket is open: Node cannot ask a closed socket, and
   * `log` taps run once it closed.
   */
  readAddresses(): void {
    void this.remoteAddress;
    void this.remotePort;
    void this.localAddress;
    void this.localPort;
  }

  get remoteAddress(): string {
    return (this.#remoteAddress ??= normalizeAddress(this.#raw.remoteAddress ?? ''));
  }
  set remoteAddress(a: string) {
    this.#remoteAddress = a;
  }
  get remotePort(): number {
    return (this.#remotePort ??= this.#raw.remotePort ?? 0);
  }
  set remotePort(p: number) {
    this.#remotePort = p;
  }
  get localAddress(): string {
    return (this.#localAddress ??= normalizeAddress(this.#raw.localAddress ?? ''));
  }
  get localPort(): number {
    return (this.#localPort ??= this.#raw.localPort ?? 0);
  }
}

/** Marks a socket (the raw one, then the TLS one) as carrying a connection. */
export function attach(socket: net.Socket, conn: ConnectionImpl): void {
  (socket as SocketWithConnection)[kConnection] = conn;
}

export function connectionOf(socket: net.Socket): ConnectionImpl {
  return (socket as SocketWithConnection)[kConnection]!;
}

/** "::ffff:127.0.0.1" → "127.0.0.1", so ACLs and logs see the address people write. */
export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
