import type { Exchange } from './exchange';

/** Bytes of one exchange as they crossed the client connection. */
export interface WireBytes {
  /** From the client: request line, headers and body (HAProxy's `bin`). */
  in: number;
  /** To the client: status line, headers and body (HAProxy's `bout`). */
  out: number;
}

interface Mark {
  read: number;
  written: number;
}

/**
 * Counts bytes the way HAProxy's stats do (`bin` / `bout`: everything received from and
 * sent to the client, heads included, not only bodies). For each exchange it takes the
 * client socket's byte counters since the previous exchange on the same connection ended,
 * so a keep-alive connection's requests each get their own share. Call it from the `log`
 * hook (the exchange is over). One counter per consumer: each keeps its own mark.
 *
 * HTTP/2 streams share one socket, so a stream gets the connection's bytes since the last
 * stream ended (the totals per frontend are exact, the split between streams is not). A
 * TCP session is its whole socket.
 */
export function createWireCounter(name: string): (ex: Exchange, into: WireBytes) => void {
  const key = Symbol(`${name}.wire-bytes`);
  // Writes into the caller's object: nothing is allocated per exchange (one mark per connection).
  return (ex: Exchange, into: WireBytes): void => {
    const socket = ex.connection.socket;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    const data = ex.connection.data;
    let mark = data.get(key) as Mark | undefined;
    if (mark === undefined) {
      mark = { read: 0, written: 0 };
      data.set(key, mark);
    }
    into.in = Math.max(0, read - mark.read);
    into.out = Math.max(0, written - mark.written);
    mark.read = read;
    mark.written = written;
    // A TCP exchange may end before its forwarder copied the counters: take the larger.
    if (ex.kind === 'tcp') {
      if (ex.bytesIn > into.in) into.in = ex.bytesIn;
      if (ex.bytesOut > into.out) into.out = ex.bytesOut;
    }
  };
}
