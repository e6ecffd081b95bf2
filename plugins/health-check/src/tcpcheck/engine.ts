import * as net from 'node:net';
import * as tls from 'node:tls';
import type { CheckResult, CheckTarget } from '../types';
import { connectionInfo } from '../tcp-check';
import { asBuffer, asInt, readVar, writeVar, type CheckContext, type Sample } from './sample';
import {
  CHECK_STATUS, PASSING, WITH_CODE, describeStep, expectFailureText, stepOf,
  type CheckStatus, type ConnectRule, type ExpectRule, type Rule, type Ruleset,
} from './rules';

/** HAProxy's tune.bufsize: the most a check reads; a full buffer is conclusive. */
export const CHECK_BUFFER_SIZE = 16384;

/** Settings a `connect default` (and the implicit first connect) takes from the server's check line. */
export interface ConnectDefaults {
  /** TLS options when the check runs over TLS (check-ssl), else null. */
  readonly tls: tls.ConnectionOptions | null;
  /** The server sends a PROXY header (send-proxy / send-proxy-v2 on the server line). */
  readonly sendProxy: 'v1' | 'v2' | null;
}

/** Variables with the `proc.` scope live as long as the process (per gateway here). */
export type ProcVars = Map<string, Sample>;

/** What the result of one check carries beyond CheckResult: HAProxy's short status and the last step. */
export interface TcpCheckResult extends CheckResult {
  readonly status: CheckStatus;
  /** Step number of the rule the check ended on (0 = the implicit connect). */
  readonly step: number;
}

function result(status: CheckStatus, step: number, info: string | undefined, code: number | undefined): TcpCheckResult {
  const r: { ok: boolean; reason: string; status: CheckStatus; step: number; code?: number; info?: string } = {
    ok: PASSING.has(status),
    reason: CHECK_STATUS[status],
    status,
    step,
  };
  if (WITH_CODE.has(status)) r.code = code ?? 0;
  if (info !== undefined && info !== '') r.info = info;
  return r;
}

/** Cuts a message at its first NUL, as HAProxy's C strings do. */
function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return (z === -1 ? b : b.subarray(0, z)).toString('latin1');
}

function proxyHeader(version: 'v1' | 'v2', socket: net.Socket): Buffer {
  if (version === 'v2') {
    // A LOCAL command: what HAProxy's checks send (no client behind them).
    return Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0x00, 0x00]);
  }
  const src = socket.localAddress;
  const dst = socket.remoteAddress;
  if (!src || !dst) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const v6 = net.isIPv6(src) || net.isIPv6(dst);
  const fam = v6 ? 'TCP6' : 'TCP4';
  const six = (a: string): string => (v6 && net.isIPv4(a) ? `::ffff:${a}` : a);
  return Buffer.from(`PROXY ${fam} ${six(src)} ${six(dst)} ${socket.localPort} ${socket.remotePort}\r\n`, 'latin1');
}

/**
 * One run of a compiled tcp-check ruleset against a server, step by step as HAProxy's
 * tcpcheck_main() does: a connect opens a connection (closing the previous one), a send
 * clears what was received and writes, an expect reads until its pattern decides (or
 * min-recv bytes, the end of the stream, a full buffer, or the check's timeout).
 */
class TcpCheckRun {
  readonly #rs: Ruleset;
  readonly #target: CheckTarget;
  readonly #defaults: ConnectDefaults;
  readonly #ctx: { vars: Map<string, Sample>; procVars: ProcVars; input: Buffer; server: CheckContext['server'] };
  #socket: net.Socket | null = null;
  /** Transport state of the current connection. */
  #phase: 'none' | 'connecting' | 'handshake' | 'open' = 'none';
  #eof = false;
  #error: (Error & { code?: string }) | null = null;
  #wake: (() => void) | null = null;
  #current: Rule | null = null;
  #timedOut = false;
  /** Set once the run has its result: late socket events must not move it on. */
  #done = false;
  #code: number | undefined;

  constructor(rs: Ruleset, target: CheckTarget, defaults: ConnectDefaults, procVars: ProcVars) {
    this.#rs = rs;
    this.#target = target;
    this.#defaults = defaults;
    const s = target.server;
    this.#ctx = { vars: new Map(), procVars, input: Buffer.alloc(0), server: { name: s.name, backend: s.backend, host: target.host, port: target.port } };
    for (const [k, v] of rs.presetVars) this.#ctx.vars.set(k, v);
  }

  get #isTcpCheck(): boolean {
    return this.#rs.protocol === 'tcp-check';
  }

  run(): Promise<TcpCheckResult> {
    return new Promise<TcpCheckResult>((resolve) => {
      let settled = false;
      const finish = (r: TcpCheckResult): void => {
        if (settled) return;
        settled = true;
        this.#done = true;
        clearTimeout(timer);
        this.#close();
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.#timedOut = true;
        finish(this.#timeoutResult());
      }, this.#target.timeout);
      this.#steps().then(finish, (err: unknown) => finish(result('SOCKERR', this.#stepNow(), err instanceof Error ? err.message : String(err), undefined)));
    });
  }

  #stepNow(): number {
    return this.#current ? stepOf(this.#current) : 1;
  }

  /** " at step 3 of tcp-check (expect string 'role:master')" (tcp-check rulesets only). */
  #where(): string {
    if (!this.#isTcpCheck) return '';
    const r = this.#current;
    if (r === null) return ' at step 1 of tcp-check';
    const step = stepOf(r);
    if (step === 0) return ' at initial connection step of tcp-check';
    let t = ` at step ${step} of tcp-check${describeStep(r)}`;
    if (r.comment !== undefined) t += ` comment: '${r.comment}'`;
    return t;
  }

  #timeoutResult(): TcpCheckResult {
    let status: CheckStatus;
    if (this.#phase === 'connecting' || this.#phase === 'none') status = 'L4TOUT';
    else if (this.#phase === 'handshake') status = 'L6TOUT';
    else status = this.#current?.kind === 'expect' && this.#current.toutStatus ? this.#current.toutStatus : 'L7TOUT';
    return result(status, this.#stepNow(), this.#where(), undefined);
  }

  /** A transport error, reported like chk_report_conn_err(): errno text, then where. */
  #connError(err: Error & { code?: string }): TcpCheckResult {
    const where = this.#where();
    if (this.#phase === 'connecting') return result('L4CON', this.#stepNow(), connectionInfo(err) + where, undefined);
    if (this.#phase === 'handshake') {
      const what = err.code === 'ECONNRESET' || err.code === 'EPIPE' ? connectionInfo(err) : 'SSL handshake failure';
      return result('L6RSP', this.#stepNow(), what + where, undefined);
    }
    return result('SOCKERR', this.#stepNow(), connectionInfo(err) + where, undefined);
  }

  #close(): void {
    const s = this.#socket;
    if (s === null) return;
    this.#socket = null;
    s.removeAllListeners('data');
    s.on('error', () => undefined);
    // HAProxy closes a check without `linger` with an RST; Node's resetAndDestroy() can leave
    // the handle open when the peer closed first, so every check closes cleanly (as with linger).
    s.destroy();
    this.#phase = 'none';
  }

  #notify(): void {
    if (this.#done) return;
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Resolves on the next data, end, error or connect event (or at once if the run timed out). */
  #event(): Promise<void> {
    if (this.#done) return new Promise(() => undefined);
    return new Promise<void>((r) => (this.#wake = r));
  }

  async #connect(rule: ConnectRule): Promise<TcpCheckResult | null> {
    this.#close();
    this.#ctx.input = Buffer.alloc(0);
    this.#eof = false;
    this.#error = null;
    let port = this.#target.port;
    if (typeof rule.port === 'number') port = rule.port;
    else if (rule.port !== undefined) {
      const p = asInt(rule.port(this.#ctx));
      if (p === undefined || p < 1 || p > 65535) return result('SOCKERR', stepOf(rule), `TCPCHK invalid port at step ${stepOf(rule)}`, undefined);
      port = p;
    }
    const host = rule.addr ?? this.#target.host;
    const d = rule.useDefault ? this.#defaults : null;
    let tlsOpts: tls.ConnectionOptions | null = null;
    if (rule.ssl || (d && d.tls)) {
      tlsOpts = { ...(d?.tls ?? { rejectUnauthorized: false }) };
      if (rule.sni !== undefined) tlsOpts.servername = rule.sni;
      else if (tlsOpts.servername === undefined && !net.isIP(host)) tlsOpts.servername = host;
      if (rule.alpn !== undefined) tlsOpts.ALPNProtocols = rule.alpn;
    }
    const proxy = rule.sendProxy ? (this.#target.server.config.sendProxy ?? 'v1') : (d?.sendProxy ?? null);
    this.#phase = 'connecting';
    const raw = net.connect({ host, port, noDelay: true });
    this.#socket = raw;
    let sock: net.Socket = raw;
    const onError = (err: Error & { code?: string }): void => {
      if (this.#error === null) this.#error = err;
      this.#notify();
    };
    raw.on('error', onError);
    await new Promise<void>((r) => {
      raw.once('connect', () => r());
      raw.once('error', () => r());
    });
    if (this.#done) return result('SOCKERR', stepOf(rule), 'check ended', undefined);
    if (this.#error) return this.#connError(this.#error);
    if (proxy) raw.write(proxyHeader(proxy, raw));
    if (tlsOpts) {
      this.#phase = 'handshake';
      const t = tls.connect({ ...tlsOpts, socket: raw });
      this.#socket = t;
      sock = t;
      t.on('error', onError);
      await new Promise<void>((r) => {
        t.once('secureConnect', () => r());
        t.once('error', () => r());
        t.once('close', () => r());
      });
      if (this.#done) return result('SOCKERR', stepOf(rule), 'check ended', undefined);
      if (this.#error) return this.#connError(this.#error);
      if (t.destroyed) return this.#connError(Object.assign(new Error('closed'), { code: 'ECONNRESET' }));
    }
    this.#phase = 'open';
    sock.on('data', (chunk: Buffer) => {
      const room = CHECK_BUFFER_SIZE - this.#ctx.input.length;
      if (room > 0) this.#ctx.input = this.#ctx.input.length === 0 ? chunk.subarray(0, room) : Buffer.concat([this.#ctx.input, chunk.subarray(0, room)]);
      this.#notify();
    });
    sock.once('end', () => {
      this.#eof = true;
      this.#notify();
    });
    sock.once('close', () => {
      this.#eof = true;
      this.#notify();
    });
    return null;
  }

  #lastRead(): boolean {
    return this.#eof || this.#error !== null || this.#ctx.input.length >= CHECK_BUFFER_SIZE;
  }

  /** The expect rule's verdict on the bytes received so far. */
  #evalExpect(rule: ExpectRule, lastRead: boolean, isLast: boolean): 'continue' | 'wait' | TcpCheckResult {
    const input = this.#ctx.input;
    const m = rule.match;
    const step = stepOf(rule);
    if (m.type === 'custom') {
      const v = m.fn(input, lastRead, isLast);
      if (v.ret === 'continue' || v.ret === 'wait') return v.ret;
      if (v.ret === 'pass') return result(rule.okStatus ?? v.status, step, v.info, this.#code);
      this.#code = v.code;
      return this.#failure(rule, v.status, false, v.info);
    }
    if (!lastRead) {
      if ((m.type === 'string' || m.type === 'binary') && input.length < m.needle.length) return 'wait';
      if (rule.minRecv > 0 && input.length < rule.minRecv) return 'wait';
    }
    let matched: boolean;
    switch (m.type) {
      case 'string':
      case 'binary':
        matched = input.indexOf(m.needle) !== -1;
        break;
      case 'rstring':
        matched = m.regex.test(input.toString('latin1'));
        break;
      case 'rbinary':
        matched = m.regex.test(input.toString('hex').toUpperCase());
        break;
      case 'string-lf':
      case 'binary-lf': {
        let needle = m.format(this.#ctx);
        if (needle.length === 0) return this.#failure(rule, 'L7RSP', false, 'log-format string evaluated to an empty string');
        if (m.type === 'binary-lf') {
          const h = needle.toString('latin1');
          if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return this.#failure(rule, 'L7RSP', false, 'Failed to parse hexastring resulting of eval of a log-format string');
          needle = Buffer.from(h, 'hex');
        }
        if (input.length < needle.length) {
          if (!lastRead) return 'wait';
          matched = false;
          break;
        }
        matched = input.indexOf(needle) !== -1;
        break;
      }
    }
    // Without min-recv a mismatch is not conclusive while more may come.
    if (!matched && !lastRead && rule.minRecv === -1) return 'wait';
    if (matched !== rule.negate) return 'continue';
    return this.#failure(rule, rule.errorStatus ?? 'L7RSP', matched, undefined);
  }

  /** tcpcheck_expect_onerror_message(): given info, else on-error, else (tcp-check only) the generic text; then the comment. */
  #failure(rule: ExpectRule, status: CheckStatus, matched: boolean, info: string | undefined): TcpCheckResult {
    let msg: string;
    if (info !== undefined && info !== '') msg = info;
    else if (rule.onError) msg = cstr(rule.onError(this.#ctx));
    else if (this.#isTcpCheck) msg = expectFailureText(rule, matched);
    else msg = '';
    if (rule.comment !== undefined) msg += ` comment: ${rule.comment}`;
    if (rule.statusCode) {
      const c = asInt(rule.statusCode(this.#ctx));
      if (c !== undefined) this.#code = c;
    }
    return result(status, stepOf(rule), msg, this.#code);
  }

  async #steps(): Promise<TcpCheckResult> {
    const rules = this.#rs.rules;
    let mustRead = true;
    let lastRead = false;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      switch (rule.kind) {
        case 'set-var': {
          const v = rule.value(this.#ctx);
          writeVar(this.#ctx, rule.name, rule.isFormat ? asBuffer(v) : v);
          continue;
        }
        case 'unset-var':
          writeVar(this.#ctx, rule.name, undefined);
          continue;
        case 'connect': {
          this.#current = rule;
          this.#code = undefined;
          const failed = await this.#connect(rule);
          if (failed) return failed;
          lastRead = false;
          mustRead = true;
          continue;
        }
        case 'send': {
          this.#current = rule;
          this.#code = undefined;
          this.#ctx.input = Buffer.alloc(0);
          let data: Buffer;
          if (Buffer.isBuffer(rule.data)) data = rule.data;
          else {
            data = rule.data(this.#ctx);
            if (rule.hexFormat) {
              const h = data.toString('latin1');
              if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) {
                return result('L7RSP', stepOf(rule), `tcp-check send : failed to build binary data at step ${stepOf(rule)}`, undefined);
              }
              data = Buffer.from(h, 'hex');
            }
          }
          if (data.length >= CHECK_BUFFER_SIZE) {
            return result('L7RSP', stepOf(rule), `tcp-check send : string too large (${data.length}) for buffer size (${CHECK_BUFFER_SIZE}) at step ${stepOf(rule)}`, undefined);
          }
          if (this.#socket === null || this.#error) return this.#connError(this.#error ?? Object.assign(new Error('closed'), { code: 'EPIPE' }));
          if (data.length > 0) this.#socket.write(data);
          mustRead = true;
          continue;
        }
        case 'expect': {
          this.#current = rule;
          this.#code = undefined;
          if (mustRead) {
            while (this.#ctx.input.length === 0 && !this.#eof && this.#error === null) await this.#event();
            if (this.#ctx.input.length === 0) {
              if (this.#error) return this.#connError(this.#error);
              const step = stepOf(rule);
              let info = `TCPCHK got an empty response at step ${step}`;
              if (rule.comment !== undefined) info += ` comment: '${rule.comment}'`;
              return result(rule.errorStatus ?? 'L7RSP', step, info, undefined);
            }
            lastRead = this.#lastRead();
            mustRead = false;
          }
          const isLast = rules.slice(i + 1).every((r) => r.kind === 'set-var' || r.kind === 'unset-var');
          const v = this.#evalExpect(rule, lastRead, isLast);
          if (v === 'continue') continue;
          if (v === 'wait') {
            await this.#event();
            lastRead = this.#lastRead();
            i = rule.head - 1;
            continue;
          }
          return v;
        }
      }
    }
    return this.#success();
  }

  #success(): TcpCheckResult {
    const r = this.#current;
    if (r === null) return result('L7OK', 1, '(tcp-check)', undefined);
    if (r.kind === 'expect') {
      let msg = '';
      if (r.onSuccess) msg = cstr(r.onSuccess(this.#ctx));
      else if (this.#isTcpCheck) msg = '(tcp-check)';
      if (r.statusCode) {
        const c = asInt(r.statusCode(this.#ctx));
        if (c !== undefined) this.#code = c;
      }
      return result(r.okStatus ?? 'L7OK', stepOf(r), msg, this.#code);
    }
    if (r.kind === 'connect') {
      const ssl = this.#socket instanceof tls.TLSSocket;
      return result(ssl ? 'L6OK' : 'L4OK', stepOf(r), r.implicit ? undefined : '(tcp-check)', undefined);
    }
    return result('L7OK', stepOf(r), '(tcp-check)', undefined);
  }
}

/** Runs a ruleset once against a target; never rejects. */
export function runTcpCheck(rs: Ruleset, target: CheckTarget, defaults: ConnectDefaults, procVars: ProcVars): Promise<TcpCheckResult> {
  return new TcpCheckRun(rs, target, defaults, procVars).run();
}

export { readVar };
