import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';
import pino from 'pino';

/** Where access-log lines go. `write` takes a line without its newline. */
export interface Sink {
  write(line: string): void;
  /** Reopens the file (after logrotate moved it); a no-op where there is no file. */
  reopen(): void;
  close(): Promise<void>;
}

type SonicBoom = ReturnType<typeof pino.destination>;

/** stdout or a file, through pino's SonicBoom (asynchronous writes, `reopen()`). */
export class StreamSink implements Sink {
  readonly #boom: SonicBoom;
  readonly #file: string | null;

  constructor(file: string | null) {
    this.#file = file;
    this.#boom = file === null ? pino.destination({ dest: 1, sync: false }) : pino.destination({ dest: file, append: true, mkdir: true, sync: false });
  }

  write(line: string): void {
    this.#boom.write(line + '\n');
  }

  reopen(): void {
    if (this.#file !== null) this.#boom.reopen();
  }

  close(): Promise<void> {
    if (this.#file === null) {
      // Never close fd 1; just let pending writes go out.
      return new Promise((resolve) => {
        try {
          this.#boom.flush(() => resolve());
        } catch {
          resolve();
        }
      });
    }
    return new Promise((resolve) => {
      this.#boom.once('close', () => resolve());
      this.#boom.once('error', () => resolve());
      this.#boom.end();
    });
  }
}

export const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface SyslogOptions {
  host: string;
  port: number;
  facility: string;
  tag: string;
  protocol: 'rfc3164' | 'rfc5424';
  maxLength: number;
  hostname: string;
}

/** Syslog over UDP, one datagram per line (severity info), as HAProxy sends it. */
export class SyslogSink implements Sink {
  readonly #socket: dgram.Socket;
  readonly #o: SyslogOptions;
  readonly #pri: string;
  readonly #host: string;

  constructor(options: SyslogOptions) {
    this.#o = options;
    this.#socket = dgram.createSocket(net.isIPv6(options.host) ? 'udp6' : 'udp4');
    this.#socket.unref();
    // Nothing listening gives ECONNREFUSED on some systems: a log line is not worth a crash.
    this.#socket.on('error', () => undefined);
    this.#pri = `<${(FACILITIES[options.facility] ?? 16) * 8 + 6}>`;
    this.#host = (options.hostname || os.hostname()).replace(/\s/g, '');
  }

  header(now: Date): string {
    if (this.#o.protocol === 'rfc5424') return `${this.#pri}1 ${now.toISOString()} ${this.#host} ${this.#o.tag} ${process.pid} - - `;
    const d = now.getDate();
    const ts = `${MONTHS[now.getMonth()]} ${d < 10 ? ' ' : ''}${d} ${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}:${String(now.getSeconds()).padStart(2, '0')}`;
    return `${this.#pri}${ts} ${this.#host} ${this.#o.tag}[${process.pid}]: `;
  }

  write(line: string): void {
    let msg = Buffer.from(this.header(new Date()) + line);
    if (msg.length > this.#o.maxLength) msg = msg.subarray(0, this.#o.maxLength);
    this.#socket.send(msg, this.#o.port, this.#o.host);
  }

  reopen(): void {}

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
