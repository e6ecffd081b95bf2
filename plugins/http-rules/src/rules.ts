import { errorFileFor } from './errorfiles';
import * as fs from 'node:fs';
import { Transform } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Exchange, HttpExchange, ResponseHead, TcpExchange } from '@switchyard/sdk';
import { INSPECTING, type AclCompiler, type CompiledCondition, type CompiledFormat } from '@switchyard/plugin-acl';
import { RuleErrors } from './errors';
import type { RuleConfig, TcpRequestConfig } from './schema';

/** One rule as written in the config (every action's options; each action reads its own). */
export type { RuleConfig, TcpRequestConfig };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

export const REQUEST_ACTIONS = [
  'allow', 'reject', 'silent-drop', 'deny', 'redirect', 'return', 'set-header', 'add-header', 'del-header', 'replace-header', 'set-path', 'replace-path', 'replace-uri',
  'set-query', 'set-var', 'set-method',
] as const;
export const RESPONSE_ACTIONS = ['set-header', 'add-header', 'del-header', 'replace-header', 'set-status', 'set-var'] as const;
/** http-after-response: the response actions, and allow (stop). */
export const AFTER_RESPONSE_ACTIONS = [...RESPONSE_ACTIONS, 'allow'] as const;
export const TCP_ACTIONS = ['accept', 'reject'] as const;

/** What a request rule did: go on, stop the rules (allow), or the exchange was answered. */
export const Verdict = Object.freeze({ Next: 0, Stop: 1, Handled: 2 } as const);
export type Verdict = 0 | 1 | 2;

export interface CompiledRule {
  readonly index: number;
  readonly action: string;
  readonly describe: string;
  readonly condition: CompiledCondition | undefined;
}

export interface CompiledRequestRule extends CompiledRule {
  /** Runs the action (the condition already held). */
  readonly run: (ex: HttpExchange) => Verdict;
}

export interface CompiledResponseRule extends CompiledRule {
  readonly run: (head: ResponseHead, ex: HttpExchange) => void;
}

export interface CompiledTcpRule extends CompiledRule {
  readonly accept: boolean;
}

const DEFAULT_BODIES: Record<number, string> = {
  400: 'Bad request.', 401: 'Unauthorized.', 403: 'Request forbidden by administrative rules.', 404: 'Not found.',
  405: 'Method not allowed.', 429: 'Too many requests.', 503: 'Service unavailable.',
};

function page(status: number, message: string): string {
  return `<html><body><h1>${status}</h1>\n${message}\n</body></html>\n`;
}

function invalid(where: string, message: string): Error {
  return RuleErrors.INVALID.with({ location: { path: where } }, where, message);
}

function need<T>(v: T | undefined, where: string, what: string, action: string): T {
  if (v === undefined || v === '') throw invalid(where, `${action} needs "${what}"`);
  return v;
}

function headerName(name: string | undefined, where: string, action: string): string {
  const n = need(name, where, 'name', action);
  if (!TOKEN.test(n)) throw RuleErrors.BAD_HEADER.with({ location: { path: where } }, where, `"${n}" is not a valid header name`);
  return n.toLowerCase();
}

/** A config value: no CR/LF/NUL in the text itself (a %[fetch] is checked per request). */
function format(compiler: AclCompiler, text: string | undefined, where: string, what: string, action: string): CompiledFormat {
  const t = need(text, where, what, action);
  if (BAD_VALUE.test(t)) throw RuleErrors.BAD_HEADER.with({ location: { path: `${where}.${what}` } }, `${where}.${what}`, 'the value contains CR, LF or NUL');
  return compiler.compileFormat(t, `${where}.${what}`);
}

/** `\1` (HAProxy) or `$1` (JavaScript) in a replacement both mean group 1. */
function replacement(text: string): string {
  return text.replace(/\\(\d)/g, '$$$1');
}

function regex(text: string | undefined, where: string, action: string): RegExp {
  const t = need(text, where, 'match', action);
  try {
    return new RegExp(t);
  } catch (err) {
    throw invalid(`${where}.match`, `not a valid regular expression: ${(err as Error).message}`);
  }
}

/** http-request reject / tcp-request content reject in HTTP mode: the client connection is closed, nothing is sent. */
export function closeConnection(ex: Exchange): void {
  ex.termination = 'local';
  ex.connection.socket.destroy();
}

/**
 * http-request silent-drop: the client is sent nothing, not even a FIN or RST. HAProxy closes
 * the socket with TCP_REPAIR (or IP_TTL 1) so that the client keeps waiting; Node can do
 * neither, so the socket stays open and unread, and is reset once the frontend's client
 * timeout has passed (the client has given up or is still waiting in vain).
 */
export function silentDrop(ex: Exchange): void {
  ex.termination = 'local';
  const socket = ex.connection.socket;
  socket.pause();
  socket.removeAllListeners('data');
  socket.on('error', () => undefined);
  const ms = ex.frontend.config.timeouts.client;
  const timer = setTimeout(() => socket.resetAndDestroy(), ms > 0 ? ms : 30_000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Refuses one request whose rule built a header value with CR/LF/NUL from client input. */
function injected(ex: HttpExchange, rule: string, header: string): Verdict {
  ex.fail(RuleErrors.HEADER_INJECTION(rule, header));
  return Verdict.Handled;
}

function setQuery(url: string, query: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return query === '' ? path : `${path}?${query}`;
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}

export function compileRequestRule(compiler: AclCompiler, frontend: string, rule: RuleConfig, index: number, list: string, owner = `frontends.${frontend}`): CompiledRequestRule {
  const where = `${owner}.${list}[${index}]`;
  const condition = compiler.compileRuleCondition(frontend, rule, where);
  const a = rule.action;
  const label = `${list}[${index}] ${a}`;
  let run: (ex: HttpExchange) => Verdict;
  let describe: string = a;
  switch (a) {
    case 'allow':
      run = () => Verdict.Stop;
      break;
    case 'reject':
      // HAProxy: the connection is closed at once, no response (curl: "Empty reply from server")
      run = (ex) => {
        closeConnection(ex);
        return Verdict.Handled;
      };
      break;
    case 'silent-drop':
      run = (ex) => {
        silentDrop(ex);
        return Verdict.Handled;
      };
      break;
    case 'deny': {
      const status = rule.status ?? 403;
      const body = rule.body ?? page(status, DEFAULT_BODIES[status] ?? 'Request denied.');
      const headers: OutgoingHttpHeaders = { 'content-type': rule.contentType ?? (rule.body === undefined ? 'text/html' : 'text/plain'), 'cache-control': 'no-cache' };
      if (rule.contentType && BAD_VALUE.test(rule.contentType)) throw RuleErrors.BAD_HEADER(where, 'contentType contains CR, LF or NUL');
      const custom = rule.body !== undefined;
      run = (ex) => {
        // HAProxy: the proxy's errorfile for that status, when there is one
        const file = custom ? undefined : errorFileFor(ex, status);
        if (file === null) ex.abort();
        else if (file !== undefined) ex.respond(file.status, file.body, file.headers);
        else ex.respond(status, body, headers);
        return Verdict.Handled;
      };
      describe = `deny ${status}`;
      break;
    }
    case 'redirect': {
      const code = rule.code ?? 302;
      if (![301, 302, 303, 307, 308].includes(code)) throw invalid(`${where}.code`, 'redirect code must be 301, 302, 303, 307 or 308');
      const given = [rule.location, rule.prefix, rule.scheme].filter((x) => x !== undefined).length;
      if (given !== 1) throw invalid(where, 'redirect takes exactly one of location, prefix, scheme');
      let target: (ex: HttpExchange) => string;
      if (rule.location !== undefined) {
        const f = format(compiler, rule.location, where, 'location', a);
        target = (ex) => f.render(ex);
        describe = `redirect ${code} location ${rule.location}`;
      } else if (rule.prefix !== undefined) {
        const f = format(compiler, rule.prefix, where, 'prefix', a);
        target = (ex) => {
          const p = f.render(ex);
          return (p.endsWith('/') ? p.slice(0, -1) : p) + ex.url;
        };
        describe = `redirect ${code} prefix ${rule.prefix}`;
      } else {
        const scheme = need(rule.scheme, where, 'scheme', a);
        if (!/^[a-z][a-z0-9+.-]*$/i.test(scheme)) throw invalid(`${where}.scheme`, `"${scheme}" is not a URI scheme`);
        target = (ex) => `${scheme}://${ex.host}${ex.url}`;
        describe = `redirect ${code} scheme ${scheme}`;
      }
      run = (ex) => {
        const location = target(ex);
        if (BAD_VALUE.test(location)) return injected(ex, label, 'location');
        ex.respond(code, '', { location, 'content-length': 0, 'cache-control': 'no-cache' });
        return Verdict.Handled;
      };
      break;
    }
    case 'return': {
      const status = rule.status ?? 200;
      if (rule.body !== undefined && rule.file !== undefined) throw invalid(where, 'return takes body or file, not both');
      let body: CompiledFormat | Buffer | undefined;
      if (rule.file !== undefined) {
        const full = compiler.resolvePath(rule.file);
        try {
          body = fs.readFileSync(full);
        } catch (err) {
          throw RuleErrors.FILE.with({ location: { path: `${where}.file` }, cause: err }, `${where}.file`, full, (err as Error).message);
        }
      } else if (rule.body !== undefined) {
        body = compiler.compileFormat(rule.body, `${where}.body`);
      }
      const headers: Array<[string, CompiledFormat]> = [];
      if (rule.contentType !== undefined) headers.push(['content-type', format(compiler, rule.contentType, where, 'contentType', a)]);
      for (const [k, v] of Object.entries(rule.headers ?? {})) headers.push([headerName(k, `${where}.headers`, a), format(compiler, v, `${where}.headers`, k, a)]);
      run = (ex) => {
        const out: OutgoingHttpHeaders = {};
        for (const [k, f] of headers) {
          const v = f.render(ex);
          if (BAD_VALUE.test(v)) return injected(ex, label, k);
          out[k] = v;
        }
        ex.respond(status, body === undefined ? '' : Buffer.isBuffer(body) ? body : body.render(ex), out);
        return Verdict.Handled;
      };
      describe = `return ${status}`;
      break;
    }
    case 'set-header':
    case 'add-header': {
      const name = headerName(rule.name, where, a);
      const value = format(compiler, rule.value, where, 'value', a);
      const add = a === 'add-header';
      run = (ex) => {
        const v = value.render(ex);
        if (BAD_VALUE.test(v)) return injected(ex, label, name);
        const h = ex.upstream.headers;
        const prev = h[name];
        if (!add || prev === undefined) h[name] = v;
        else if (Array.isArray(prev)) prev.push(v);
        else h[name] = [prev, v];
        return Verdict.Next;
      };
      describe = `${a} ${name}: ${rule.value}`;
      break;
    }
    case 'del-header': {
      const name = headerName(rule.name, where, a);
      run = (ex) => {
        delete ex.upstream.headers[name];
        return Verdict.Next;
      };
      describe = `del-header ${name}`;
      break;
    }
    case 'replace-header': {
      const name = headerName(rule.name, where, a);
      const re = regex(rule.match, where, a);
      const rep = replacement(need(rule.replace, where, 'replace', a));
      if (BAD_VALUE.test(rep)) throw RuleErrors.BAD_HEADER(`${where}.replace`, 'the value contains CR, LF or NUL');
      run = (ex) => {
        const h = ex.upstream.headers;
        const prev = h[name];
        if (prev === undefined) return Verdict.Next;
        const next = Array.isArray(prev) ? prev.map((v) => v.replace(re, rep)) : prev.replace(re, rep);
        for (const v of Array.isArray(next) ? next : [next]) if (BAD_VALUE.test(v)) return injected(ex, label, name);
        h[name] = next;
        return Verdict.Next;
      };
      describe = `replace-header ${name} ${rule.match} → ${rule.replace}`;
      break;
    }
    case 'set-path': {
      const value = format(compiler, rule.value, where, 'value', a);
      run = (ex) => {
        const v = value.render(ex);
        if (BAD_VALUE.test(v) || !v.startsWith('/')) return injected(ex, label, ':path');
        const up = ex.upstream;
        up.path = v + splitUrl(up.path)[1];
        return Verdict.Next;
      };
      describe = `set-path ${rule.value}`;
      break;
    }
    case 'replace-path': {
      const re = regex(rule.match, where, a);
      const rep = replacement(need(rule.replace, where, 'replace', a));
      run = (ex) => {
        const up = ex.upstream;
        const [p, q] = splitUrl(up.path);
        const next = p.replace(re, rep);
        if (BAD_VALUE.test(next)) return injected(ex, label, ':path');
        up.path = (next.startsWith('/') ? next : '/' + next) + q;
        return Verdict.Next;
      };
      describe = `replace-path ${rule.match} → ${rule.replace}`;
      break;
    }
    case 'replace-uri': {
      // HAProxy: the regex runs on the URI as received (origin form: path and query)
      const re = regex(rule.match, where, a);
      const rep = replacement(need(rule.replace, where, 'replace', a));
      run = (ex) => {
        const up = ex.upstream;
        const next = up.path.replace(re, rep);
        if (BAD_VALUE.test(next)) return injected(ex, label, ':path');
        up.path = next.startsWith('/') ? next : '/' + next;
        return Verdict.Next;
      };
      describe = `replace-uri ${rule.match} → ${rule.replace}`;
      break;
    }
    case 'set-query': {
      const value = compiler.compileFormat(rule.value ?? '', `${where}.value`);
      run = (ex) => {
        let v = value.render(ex);
        if (v.startsWith('?')) v = v.slice(1);
        if (BAD_VALUE.test(v) || /[\s#]/.test(v)) return injected(ex, label, ':query');
        const up = ex.upstream;
        up.path = setQuery(up.path, v);
        return Verdict.Next;
      };
      describe = `set-query ${rule.value ?? ''}`;
      break;
    }
    case 'set-method': {
      const value = format(compiler, rule.value, where, 'value', a);
      run = (ex) => {
        const v = value.render(ex).toUpperCase();
        if (!TOKEN.test(v)) return injected(ex, label, ':method');
        ex.upstream.method = v;
        return Verdict.Next;
      };
      describe = `set-method ${rule.value}`;
      break;
    }
    case 'set-var': {
      const name = need(rule.name, where, 'name', a);
      if (!/^(txn|req|res|sess|proc)\.[A-Za-z0-9_.]+$/.test(name)) throw invalid(`${where}.name`, 'a variable name looks like txn.<name> (scopes txn, req, res, sess, proc)');
      const value = compiler.compileFormat(need(rule.value, where, 'value', a), `${where}.value`);
      run = (ex) => {
        ex.vars.set(name, value.render(ex));
        return Verdict.Next;
      };
      describe = `set-var ${name} = ${rule.value}`;
      break;
    }
    default:
      throw invalid(`${where}.action`, `unknown http-request action "${a}" (actions: ${REQUEST_ACTIONS.join(', ')})`);
  }
  return Object.freeze({ index, action: a, describe, condition, run });
}

/** Replaces an upstream body with a short error text (a response rule failed). */
function errorBody(message: string): Transform {
  return new Transform({
    transform(_chunk, _enc, cb) {
      cb();
    },
    flush(cb) {
      this.push(message);
      cb();
    },
  });
}

function failResponse(head: ResponseHead, ex: HttpExchange, rule: string, header: string): void {
  const err = RuleErrors.RESPONSE_HEADER_INJECTION(rule, header);
  ex.error = err;
  ex.termination = 'internal-error';
  const body = page(500, 'An internal error occurred.');
  head.statusCode = 500;
  head.statusMessage = undefined;
  head.headers = { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-cache' };
  head.transforms.length = 0;
  head.transforms.push(errorBody(body));
}

export function compileResponseRule(compiler: AclCompiler, frontend: string, rule: RuleConfig, index: number, list = `frontends.${frontend}.httpResponse`): CompiledResponseRule {
  const where = `${list}[${index}]`;
  const condition = compiler.compileRuleCondition(frontend, rule, where);
  const a = rule.action;
  const label = `${list.slice(list.lastIndexOf('.') + 1)}[${index}] ${a}`;
  let run: (head: ResponseHead, ex: HttpExchange) => void;
  let describe: string = a;
  switch (a) {
    case 'set-header':
    case 'add-header': {
      const name = headerName(rule.name, where, a);
      const value = format(compiler, rule.value, where, 'value', a);
      const add = a === 'add-header';
      run = (head, ex) => {
        const v = value.render(ex);
        if (BAD_VALUE.test(v)) return failResponse(head, ex, label, name);
        const prev = head.headers[name];
        if (!add || prev === undefined) head.headers[name] = v;
        else if (Array.isArray(prev)) prev.push(v);
        else head.headers[name] = [prev, v];
      };
      describe = `${a} ${name}: ${rule.value}`;
      break;
    }
    case 'del-header': {
      const name = headerName(rule.name, where, a);
      run = (head) => {
        delete head.headers[name];
      };
      describe = `del-header ${name}`;
      break;
    }
    case 'replace-header': {
      const name = headerName(rule.name, where, a);
      const re = regex(rule.match, where, a);
      const rep = replacement(need(rule.replace, where, 'replace', a));
      run = (head, ex) => {
        const prev = head.headers[name];
        if (prev === undefined) return;
        const next = Array.isArray(prev) ? prev.map((v) => v.replace(re, rep)) : prev.replace(re, rep);
        for (const v of Array.isArray(next) ? next : [next]) if (BAD_VALUE.test(v)) return failResponse(head, ex, label, name);
        head.headers[name] = next;
      };
      describe = `replace-header ${name}`;
      break;
    }
    case 'set-status': {
      const status = need(rule.status, where, 'status', a);
      const reason = rule.reason;
      if (reason !== undefined && BAD_VALUE.test(reason)) throw RuleErrors.BAD_HEADER(`${where}.reason`, 'the reason contains CR, LF or NUL');
      run = (head) => {
        head.statusCode = status;
        head.statusMessage = reason;
      };
      describe = `set-status ${status}${reason ? ` ${reason}` : ''}`;
      break;
    }
    case 'set-var': {
      const name = need(rule.name, where, 'name', a);
      if (!/^(txn|req|res|sess|proc)\.[A-Za-z0-9_.]+$/.test(name)) throw invalid(`${where}.name`, 'a variable name looks like txn.<name> (scopes txn, req, res, sess, proc)');
      const value = compiler.compileFormat(need(rule.value, where, 'value', a), `${where}.value`);
      run = (_head, ex) => {
        ex.vars.set(name, value.render(ex));
      };
      describe = `set-var ${name} = ${rule.value}`;
      break;
    }
    case 'allow':
      // http-after-response allow: the rules after it are skipped (the caller stops on it).
      run = () => undefined;
      describe = 'allow';
      break;
    default:
      throw invalid(`${where}.action`, `unknown http-response action "${a}" (actions: ${RESPONSE_ACTIONS.join(', ')})`);
  }
  return Object.freeze({ index, action: a, describe, condition, run });
}

export function compileTcpRule(compiler: AclCompiler, frontend: string, rule: RuleConfig, index: number, list: 'connection' | 'content'): CompiledTcpRule {
  const where = `frontends.${frontend}.tcpRequest.${list}[${index}]`;
  if (rule.action !== 'accept' && rule.action !== 'reject') throw invalid(`${where}.action`, `tcp-request ${list} actions are accept and reject`);
  const condition = compiler.compileRuleCondition(frontend, rule, where);
  return Object.freeze({ index, action: rule.action, describe: rule.action, condition, accept: rule.action === 'accept' });
}

/** First tcp rule whose condition holds: true = accept, false = reject, undefined = none. */
export function tcpVerdict(rules: ReadonlyArray<CompiledTcpRule>, ex: Exchange): boolean | undefined {
  for (const r of rules) if (r.condition === undefined || r.condition.test(ex)) return r.accept;
  return undefined;
}

/**
 * Content inspection: re-evaluates the rules as client bytes arrive (kept in `buffered` for
 * the forwarder), until one decides; once `delay` ms pass (or the client stops sending, or
 * `maxBytes` are in) a last, final evaluation stands, in which `wait_end` (WAIT_END) is true.
 */
export function inspect(ex: TcpExchange, rules: ReadonlyArray<CompiledTcpRule>, delay: number, maxBytes: number): Promise<boolean | undefined> {
  const data = ex.connection.data;
  if (delay > 0) data.set(INSPECTING, true);
  const first = tcpVerdict(rules, ex);
  if (first !== undefined || delay <= 0) {
    data.delete(INSPECTING);
    return Promise.resolve(first);
  }
  const socket = ex.socket;
  return new Promise((resolve) => {
    let done = false;
    let bytes = 0;
    const final = (): void => {
      data.delete(INSPECTING);
      finish(tcpVerdict(rules, ex));
    };
    const finish = (v: boolean | undefined): void => {
      if (done) return;
      done = true;
      data.delete(INSPECTING);
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      ex.buffered.push(chunk);
      bytes += chunk.length;
      const v = tcpVerdict(rules, ex);
      if (v !== undefined) finish(v);
      else if (bytes >= maxBytes) final();
    };
    const onEnd = final;
    const timer = setTimeout(final, delay);
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}
