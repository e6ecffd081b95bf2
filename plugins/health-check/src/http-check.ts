import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { CheckResult, CheckTarget, HealthCheckKind, HealthCheckOptions, HealthProbe } from './types';
import { HealthErrors } from './errors';
import { connectionInfo, tlsClientOptions } from './tcp-check';
import { asInt, compileExpr, compileFormat, SampleSyntaxError, type CheckContext, type Expr, type Format } from './tcpcheck/sample';
import { CHECK_STATUS, PASSING, WITH_CODE, type CheckStatus } from './tcpcheck/rules';

const INVALID_HEADER_VALUE = /[\r\n\0]/;
const STATUS_RANGE = /^([1-5]\d\d)\s*-\s*([1-5]\d\d)$/;

interface CompiledExpect {
  status: (code: number) => boolean;
  body: ((text: string) => boolean) | null;
  describe: string;
  /** HAProxy's `!`, rstatus, on-success/on-error, status-code, ok/error/tout-status, comment. */
  negate: boolean;
  /** Failure info is the reason phrase (HAProxy's) rather than "expected status …" (kept for plain status lists/ranges). */
  reasonPhrase: boolean;
  okStatus?: CheckStatus;
  errorStatus?: CheckStatus;
  toutStatus?: CheckStatus;
  onSuccess?: Format;
  onError?: Format;
  statusCode?: Expr;
  comment?: string;
  /** HAProxy `hdr`: matched over the response's raw header lines (replaces the status and body matches). */
  header: ((raw: string[]) => boolean) | null;
  /** Sample expressions or formats need the body (res.payload, res.len). */
  needsBody: boolean;
}

function sampleOf<T>(where: string, key: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SampleSyntaxError) throw HealthErrors.BAD_OPTION.with({ cause: err }, where, `healthCheck.http.expect.${key}: ${err.message}`);
    throw err;
  }
}

function compileExpect(expect: HealthCheckOptions['http']['expect'], where: string): CompiledExpect {
  let status: (code: number) => boolean;
  let describe: string;
  if (expect.rstatus !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(expect.rstatus);
    } catch (err) {
      throw HealthErrors.BAD_OPTION.with({ cause: err }, where, `healthCheck.http.expect.rstatus is not a valid regular expression: ${(err as Error).message}`);
    }
    status = (c) => re.test(String(c));
    describe = `status matching ${expect.rstatus}`;
  } else if (expect.status !== undefined) {
    const set = new Set(Array.isArray(expect.status) ? expect.status : [expect.status]);
    status = (c) => set.has(c);
    describe = `status ${[...set].join(',')}`;
  } else {
    const range = expect.statusRange ?? '200-399';
    const m = STATUS_RANGE.exec(range);
    if (!m) throw HealthErrors.BAD_OPTION(where, `healthCheck.http.expect.statusRange "${range}" is not "NNN-NNN"`);
    const lo = Number(m[1]);
    const hi = Number(m[2]);
    if (lo > hi) throw HealthErrors.BAD_OPTION(where, `healthCheck.http.expect.statusRange "${range}" is empty`);
    status = (c) => c >= lo && c <= hi;
    describe = `status ${lo}-${hi}`;
  }
  let body: ((text: string) => boolean) | null = null;
  if (expect.bodyRegex !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(expect.bodyRegex);
    } catch (err) {
      throw HealthErrors.BAD_OPTION.with({ cause: err }, where, `healthCheck.http.expect.bodyRegex is not a valid regular expression: ${(err as Error).message}`);
    }
    body = (t) => re.test(t);
  } else if (expect.body !== undefined) {
    const needle = expect.body;
    body = (t) => t.includes(needle);
  }
  let header: ((raw: string[]) => boolean) | null = null;
  if (expect.header !== undefined) {
    const h = expect.header;
    const nameOk = stringMatcher(h.name, h.nameMatch ?? 'str', true, where, 'header.name');
    const valueOk = h.value === undefined ? null : stringMatcher(h.value, h.valueMatch ?? 'str', false, where, 'header.value');
    header = (raw) => {
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (!nameOk(raw[i]!)) continue;
        if (valueOk === null) return true;
        for (const v of raw[i + 1]!.split(',')) if (valueOk(v.trim())) return true;
      }
      return false;
    };
    status = () => true;
    body = null;
  }
  const onSuccess = expect.onSuccess === undefined ? undefined : sampleOf(where, 'onSuccess', () => compileFormat(expect.onSuccess!));
  const onError = expect.onError === undefined ? undefined : sampleOf(where, 'onError', () => compileFormat(expect.onError!));
  const statusCode = expect.statusCode === undefined ? undefined : sampleOf(where, 'statusCode', () => compileExpr(expect.statusCode!));
  const uses = (t: string | undefined): boolean => t !== undefined && /res\.(payload|len)/.test(t);
  return {
    status,
    body,
    describe,
    negate: expect.negate === true,
    reasonPhrase: (expect.negate === true && body === null) || expect.rstatus !== undefined || expect.onError !== undefined,
    okStatus: expect.okStatus as CheckStatus | undefined,
    errorStatus: expect.errorStatus as CheckStatus | undefined,
    toutStatus: expect.toutStatus as CheckStatus | undefined,
    onSuccess,
    onError,
    statusCode,
    comment: expect.comment,
    header,
    needsBody: uses(expect.onSuccess) || uses(expect.onError) || uses(expect.statusCode),
  };
}

/** A header name/value matcher as HAProxy's `-m str|beg|end|sub|reg` (names case-insensitive), compiled once. */
function stringMatcher(pattern: string, how: 'str' | 'beg' | 'end' | 'sub' | 'reg', fold: boolean, where: string, key: string): (v: string) => boolean {
  if (how === 'reg') {
    let re: RegExp;
    try {
      re = new RegExp(pattern, fold ? 'i' : '');
    } catch (err) {
      throw HealthErrors.BAD_OPTION.with({ cause: err }, where, `healthCheck.http.expect.${key} is not a valid regular expression: ${(err as Error).message}`);
    }
    return (v) => re.test(v);
  }
  const p = fold ? pattern.toLowerCase() : pattern;
  const norm = fold ? (v: string): string => v.toLowerCase() : (v: string): string => v;
  switch (how) {
    case 'str': return (v) => norm(v) === p;
    case 'beg': return (v) => norm(v).startsWith(p);
    case 'end': return (v) => norm(v).endsWith(p);
    case 'sub': return (v) => norm(v).includes(p);
  }
}

/** The context sample fetches and log-formats of an http expect see: the body as `res.payload`. */
function sampleContext(target: CheckTarget, body: Buffer): CheckContext {
  const s = target.server;
  return { vars: new Map(), procVars: new Map(), input: body, server: { name: s.name, backend: s.backend, host: target.host, port: target.port } };
}

/** A passing reply, as tcpcheck_expect_onsuccess_message() words it (on-success, status-code, ok-status). */
function passed(expect: CompiledExpect, target: CheckTarget, code: number, body: Buffer): CheckResult {
  const status = expect.okStatus ?? 'L7OK';
  const ctx = expect.onSuccess || expect.statusCode ? sampleContext(target, body) : null;
  const info = expect.onSuccess ? cstring(expect.onSuccess(ctx!)) : undefined;
  const c = expect.statusCode ? (asInt(expect.statusCode(ctx!)) ?? code) : code;
  return { ok: PASSING.has(status), reason: CHECK_STATUS[status], status, code: c, ...(info ? { info } : {}) };
}

/** A failing reply, as tcpcheck_expect_onerror_message() words it: the info (or on-error), the comment, status-code. */
function failed(expect: CompiledExpect, target: CheckTarget, status: CheckStatus, code: number, info: string, body: Buffer): CheckResult {
  const st = expect.errorStatus ?? status;
  const ctx = expect.onError || expect.statusCode ? sampleContext(target, body) : null;
  let msg = expect.onError ? cstring(expect.onError(ctx!)) : info;
  if (expect.comment !== undefined) msg += ` comment: ${expect.comment}`;
  const c = expect.statusCode ? (asInt(expect.statusCode(ctx!)) ?? code) : code;
  // The legacy wording of a body mismatch is kept for configs without the HAProxy options.
  const reason = st === 'L7RSP' && expect.errorStatus === undefined && !expect.negate && !expect.onError && expect.comment === undefined ? 'Layer7 wrong content' : CHECK_STATUS[st];
  // HAProxy shows a code from L7OK on (L7OK, L7OKC, L7STS) only; the legacy body mismatch keeps its code.
  const withCode = WITH_CODE.has(st) || reason === 'Layer7 wrong content';
  return { ok: PASSING.has(st), reason, status: st, ...(withCode ? { code: c } : {}), ...(msg ? { info: msg } : {}) };
}

/** A log-format result as HAProxy prints it: up to the first NUL. */
function cstring(b: Buffer): string {
  const z = b.indexOf(0);
  return (z === -1 ? b : b.subarray(0, z)).toString('latin1');
}

/**
 * HAProxy's `option httpchk` + `http-check expect`: one request per check on a fresh
 * connection (no keep-alive, so a check also proves the server accepts connections),
 * status by list or range, body by substring or regex (compiled here, once).
 */
export class HttpHealthCheck implements HealthCheckKind {
  readonly description = 'HTTP request (method, path, Host, headers, TLS with SNI); passes on the expected status and body.';

  compile(options: HealthCheckOptions, where: string): HealthProbe {
    const h = options.http;
    const expect = compileExpect(h.expect, where);
    const headers: Record<string, string> = { 'user-agent': 'switchyard-health-check', connection: 'close' };
    for (const [k, v] of Object.entries(h.headers)) {
      if (INVALID_HEADER_VALUE.test(v)) throw HealthErrors.BAD_OPTION(where, `healthCheck.http.headers.${k} contains CR, LF or NUL`);
      headers[k.toLowerCase()] = v;
    }
    if (h.host !== undefined) {
      if (INVALID_HEADER_VALUE.test(h.host)) throw HealthErrors.BAD_OPTION(where, 'healthCheck.http.host contains CR, LF or NUL');
      headers.host = h.host;
    }
    const tlsOptions = tlsClientOptions(options.tls, where);
    const readBody = expect.body !== null || expect.needsBody;
    return (target) => probeHttp(target, h.method, h.path, headers, tlsOptions, expect, readBody, h.maxBody);
  }
}

function probeHttp(
  target: CheckTarget,
  method: string,
  path: string,
  headers: Record<string, string>,
  tlsOptions: tls.ConnectionOptions | null,
  expect: CompiledExpect,
  readBody: boolean,
  maxBody: number,
): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    let connected = false;
    const common = { host: target.host, port: target.port, method, path, headers, agent: false as const };
    const req = tlsOptions
      ? https.request({
          ...common,
          ...tlsOptions,
          servername: tlsOptions.servername ?? headers.host?.replace(/:\d+$/, '') ?? (net.isIP(target.host) ? undefined : target.host),
        })
      : http.request(common);
    const done = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => {
      if (!connected) return done({ ok: false, reason: 'Layer4 timeout' });
      const st = expect.toutStatus ?? 'L7TOUT';
      done({ ok: false, reason: CHECK_STATUS[st], status: st });
    }, target.timeout);
    req.once('socket', (s) => {
      s.once(tlsOptions ? 'secureConnect' : 'connect', () => (connected = true));
    });
    req.once('error', (err: Error & { code?: string }) => {
      if (connected) done({ ok: false, reason: 'Layer7 invalid response', info: err.code ?? err.message });
      else if (tlsOptions && err.code !== 'ECONNREFUSED' && err.code !== 'ECONNRESET') done({ ok: false, reason: 'Layer6 invalid response', info: err.code ?? err.message });
      else done({ ok: false, reason: 'Layer4 connection problem', info: connectionInfo(err) });
    });
    req.once('response', (res) => {
      const code = res.statusCode ?? 0;
      const empty = Buffer.alloc(0);
      if (expect.header !== null) {
        res.resume();
        const matched = expect.header(res.rawHeaders);
        if (matched !== expect.negate) done(passed(expect, target, code, empty));
        else done(failed(expect, target, 'L7STS', code, res.statusMessage ?? '', empty)); // HAProxy: the reason phrase
        return;
      }
      // `negate` applies to the body when there is a body match, else to the status (one HAProxy expect).
      const statusOk = expect.status(code) !== (expect.negate && expect.body === null && expect.header === null);
      if (!statusOk || !readBody) {
        res.resume();
        if (!statusOk) done(failed(expect, target, 'L7STS', code, expect.reasonPhrase ? (res.statusMessage ?? '') : `expected ${expect.describe}`, empty));
        else done(passed(expect, target, code, empty));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (): void => {
        const buf = Buffer.concat(chunks);
        if (expect.body === null) return done(passed(expect, target, code, buf));
        const matched = expect.body(buf.toString('utf8'));
        if (matched !== expect.negate) done(passed(expect, target, code, buf));
        else done(failed(expect, target, 'L7RSP', code, expect.negate ? 'HTTP check matched unwanted content' : expect.onError || expect.comment !== undefined || expect.errorStatus ? 'HTTP content check did not match' : 'body did not match', buf));
      };
      res.on('data', (c: Buffer) => {
        if (size >= maxBody) return;
        chunks.push(c.subarray(0, maxBody - size));
        size += c.length;
        if (size >= maxBody) finish();
      });
      res.once('end', finish);
      res.once('error', (err) => done({ ok: false, reason: 'Layer7 invalid response', code, info: err.message }));
    });
    req.end();
  });
}
