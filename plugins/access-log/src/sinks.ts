import { spawn, type ChildProcess } from 'node:child_process';
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

  /** `file` null: stdout; `fd` 2: stderr. */
  constructor(file: string | null, fd: 1 | 2 = 1) {
    this.#file = file;
    this.#boom = file === null ? pino.destination({ dest: fd, sync: false }) : pino.destination({ dest: file, append: true, mkdir: true, sync: false });
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
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, auth2: 10, ftp: 11, ntp: 12, audit: 13, alert: 14, cron2: 15,
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

export interface UnixSyslogOptions {
  path: string;
  facility: string;
  tag: string;
  maxLength: number;
}

/**
 * Syslog to a local Unix datagram socket (`/dev/log`, HAProxy's `log /dev/log local0`).
 * Node.js has no AF_UNIX datagram sockets, so one util-linux `logger` process per gateway
 * sends the lines: it writes HAProxy's local format (`<PRI>Mmm dd hh:mm:ss tag[pid]: msg`,
 * no host name) and, like HAProxy, drops lines while nothing listens on the socket and
 * delivers again once something does.
 */
export class UnixSyslogSink implements Sink {
  readonly #o: UnixSyslogOptions;
  readonly #pri: string;
  #child: ChildProcess | undefined;
  #failed = false;

  constructor(options: UnixSyslogOptions) {
    this.#o = options;
    this.#pri = `<${(FACILITIES[options.facility] ?? 16) * 8 + 6}>`;
  }

  #start(): ChildProcess | undefined {
    if (this.#child || this.#failed) return this.#child;
    const args = ['-u', this.#o.path, '-d', '--prio-prefix', '--socket-errors=off', `--id=${process.pid}`, '-t', this.#o.tag, '--size', String(this.#o.maxLength)];
    const child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {
      this.#failed = true; // no logger binary: lines are dropped, as with no syslog daemon
      this.#child = undefined;
    });
    child.on('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    child.stdin!.on('error', () => undefined);
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    this.#child = child;
    return child;
  }

  write(line: string): void {
    this.#start()?.stdin?.write(this.#pri + line.replace(/[\r\n]/g, ' ') + '\n');
  }

  reopen(): void {}

  close(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.end();
    });
  }
}
