import type * as net from 'node:net';
import type { BindConfig, Connection, FrontendState, TlsInfo } from '@switchyard/sdk';

const kConnection = Symbol('switchyard.connection');
type SocketWithConnection = net.Socket & { [kConnection]?: ConnectionImpl };

let nextConnectionId = 1;

/** One client connection: what the `accept` hook sees and every exchange on it shares. */
export class ConnectionImpl implements Connection {
  readonly id = nextConnectionId++;
  readonly frontend: FrontendState;
  socket: net.Socket;
  remoteAddress: string;
  remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  tls: TlsInfo | null = null;
  readonly data = new Map<string | symbol, unknown>();
  readonly bind: BindConfig;
  /** The connection's last request was seen (Connection: close, HTTP/1.0, a refusal): later pipelined ones are not run. */
  closing = false;

  constructor(frontend: FrontendState, socket: net.Socket, bind: BindConfig) {
    this.frontend = frontend;
    this.bind = bind;
    this.socket = socket;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = normalizeAddress(socket.localAddress ?? '');
    this.localPort = socket.localPort ?? 0;
    attach(socket, this);
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
