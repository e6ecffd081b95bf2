import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { CheckResult, CheckTarget, HealthCheckKind, HealthCheckOptions, HealthProbe } from './types';
import { HealthErrors } from './errors';
import { connectionInfo, tlsClientOptions } from './tcp-check';

const INVALID_HEADER_VALUE = /[\r\n\0]/;
const STATUS_RANGE = /^([1-5]\d\d)\s*-\s*([1-5]\d\d)$/;

interface CompiledExpect {
  status: (code: number) => boolean;
  body: ((text: string) => boolean) | null;
  describe: string;
}

function compileExpect(expect: HealthCheckOptions['http']['expect'], where: string): CompiledExpect {
  let status: (code: number) => boolean;
  let describe: string;
  if (expect.status !== undefined) {
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
  return { status, body, describe };
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
    const readBody = expect.body !== null;
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
    const timer = setTimeout(() => done({ ok: false, reason: connected ? 'Layer7 timeout' : 'Layer4 timeout' }), target.timeout);
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
      if (!expect.status(code)) {
        res.resume();
        done({ ok: false, reason: 'Layer7 wrong status', code, info: `expected ${expect.describe}` });
        return;
      }
      if (!readBody) {
        res.resume();
        done({ ok: true, reason: 'Layer7 check passed', code });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (): void => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (expect.body!(text)) done({ ok: true, reason: 'Layer7 check passed', code });
        else done({ ok: false, reason: 'Layer7 wrong content', code, info: 'body did not match' });
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
