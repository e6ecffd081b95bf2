import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, type HaproxyAdaptContext, type HaproxyDirective, type SlotRegistry } from '@switchyard/sdk';
import type { TcpCheckConnectConfig, TcpCheckExpectConfig, TcpCheckRuleConfig } from './tcpcheck/rules';

/*
 * The haproxy.cfg directives this plugin understands, taught to the adapter through the
 * `haproxy.directive` slot: `option tcp-check` with its `tcp-check` lines, the protocol
 * checks (`option redis-check`, `mysql-check`, `pgsql-check`, `smtpchk`, `ldap-check`,
 * `ssl-hello-chk`), and the server options `on-marked-down` / `on-marked-up`.
 */

interface ProxyChecks {
  /** The last `option …-chk` line: the kind and its options (HAProxy: the last one wins). */
  kind?: { type: string; options: Record<string, unknown>; line: number };
  /** `tcp-check` lines of the proxy itself, and those replayed from its defaults section. */
  own: TcpCheckRuleConfig[];
  inherited: TcpCheckRuleConfig[];
  firstRuleLine?: number;
  finishing: boolean;
  /** `http-check expect` (the last one wins) and `http-check send`, own or from defaults. */
  httpExpect?: { own?: Record<string, unknown>; inherited?: Record<string, unknown> };
  httpSend?: { own?: Record<string, unknown>; inherited?: Record<string, unknown> };
}

const STATE = 'health-check.proxy';

function state(ctx: HaproxyAdaptContext): ProxyChecks {
  const s = ctx.local<ProxyChecks>(STATE, () => ({ own: [], inherited: [], finishing: false }));
  if (!s.finishing && ctx.backend !== undefined) {
    s.finishing = true;
    const backend = ctx.backend;
    const sectionLine = ctx.section.line;
    // After every proxy is closed: the adapter writes healthCheck (type tcp, timeout, jitter)
    // when a server has `check`; the kind and its rules go on top of that.
    ctx.onFinish(() => {
      const hcPath = ['backends', backend, 'healthCheck'];
      const hc = ctx.get(hcPath) as Record<string, unknown> | undefined;
      const rules = s.own.length > 0 ? s.own : s.inherited;
      // option httpchk (the adapter) wrote type http; http-check send / expect go on top.
      if (hc !== undefined && hc.type === 'http') {
        const send = s.httpSend?.own ?? s.httpSend?.inherited;
        for (const [k, v] of Object.entries(send ?? {})) ctx.set([...hcPath, 'http', k], v);
        const exp = s.httpExpect?.own ?? s.httpExpect?.inherited;
        if (exp !== undefined) ctx.set([...hcPath, 'http', 'expect'], exp);
      }
      if (s.kind === undefined) {
        if (rules.length > 0) ctx.warn(`backend ${backend}: tcp-check rules ignored without "option tcp-check" (as in HAProxy)`);
        return;
      }
      if (hc === undefined) return; // no server has `check`: HAProxy runs no check either
      ctx.set([...hcPath, 'type'], s.kind.type);
      for (const [k, v] of Object.entries(s.kind.options)) ctx.set([...hcPath, k], v);
      if (s.kind.type === 'tcp-check') {
        if (rules.length === 0) ctx.warn(`backend ${backend} (line ${sectionLine}): "option tcp-check" without tcp-check rules checks the connection only`);
        ctx.set([...hcPath, 'tcpCheck'], rules);
      }
    });
  }
  return s;
}

function setKind(ctx: HaproxyAdaptContext, type: string, options: Record<string, unknown> = {}): void {
  if (ctx.backend === undefined) return; // a defaults section: replayed into each backend
  const s = state(ctx);
  if (ctx.negated) {
    if (s.kind?.type === type) s.kind = undefined;
    return;
  }
  s.kind = { type, options, line: ctx.line };
}

const STATUS = new Set(['L7OK', 'L7OKC', 'L6OK', 'L4OK', 'L7RSP', 'L7STS', 'L6RSP', 'L4CON', 'L7TOUT', 'L6TOUT', 'L4TOUT']);

/** Reads one `tcp-check …` line into a rule, or reports the problem. */
export function parseTcpCheckLine(args: ReadonlyArray<string>, problem: (why: string) => void): TcpCheckRuleConfig | undefined {
  const action = args[0] ?? '';
  const w = args.slice(1);
  const need = (i: number, what: string): string | undefined => {
    const v = w[i];
    if (v === undefined) problem(`"${what}" needs an argument`);
    return v;
  };
  switch (action) {
    case 'comment':
      if (w.length !== 1) {
        problem('tcp-check comment takes one argument (escape spaces)');
        return undefined;
      }
      return { comment: w[0]! };
    case 'connect': {
      const c: TcpCheckConnectConfig = {};
      let comment: string | undefined;
      for (let i = 0; i < w.length; i++) {
        const o = w[i]!;
        switch (o) {
          case 'default': c.default = true; break;
          case 'ssl': c.ssl = true; break;
          case 'send-proxy': c.sendProxy = true; break;
          case 'linger': c.linger = true; break;
          case 'port': {
            const v = need(i + 1, 'port');
            if (v === undefined) return undefined;
            c.port = /^\d+$/.test(v) ? Number(v) : v;
            i++;
            break;
          }
          case 'addr': { const v = need(i + 1, 'addr'); if (v === undefined) return undefined; c.addr = v; i++; break; }
          case 'sni': { const v = need(i + 1, 'sni'); if (v === undefined) return undefined; c.sni = v; i++; break; }
          case 'alpn': { const v = need(i + 1, 'alpn'); if (v === undefined) return undefined; c.alpn = v.split(','); i++; break; }
          case 'comment': { const v = need(i + 1, 'comment'); if (v === undefined) return undefined; comment = v; i++; break; }
          case 'via-socks4':
          case 'proto':
            problem(`tcp-check connect ${o} is not supported`);
            return undefined;
          default:
            problem(`unknown tcp-check connect option "${o}"`);
            return undefined;
        }
      }
      return comment === undefined ? { connect: c } : { connect: c, comment };
    }
    case 'send':
    case 'send-lf':
    case 'send-binary':
    case 'send-binary-lf': {
      const data = need(0, action);
      if (data === undefined) return undefined;
      let comment: string | undefined;
      if (w[1] === 'comment') comment = need(2, 'comment');
      else if (w.length > 1) {
        problem(`tcp-check ${action} takes one argument (escape spaces with "\\ ") and an optional comment`);
        return undefined;
      }
      const key = action === 'send' ? 'send' : action === 'send-lf' ? 'sendLf' : action === 'send-binary' ? 'sendBinary' : 'sendBinaryLf';
      const r: TcpCheckRuleConfig = { [key]: data };
      if (comment !== undefined) r.comment = comment;
      return r;
    }
    case 'expect': {
      const e: TcpCheckExpectConfig = {};
      let comment: string | undefined;
      let i = 0;
      for (; i < w.length; i++) {
        const o = w[i]!;
        const v = w[i + 1];
        if (o === 'min-recv') { if (v === undefined || !/^-?\d+$/.test(v)) { problem('min-recv needs an integer'); return undefined; } e.minRecv = Number(v); i++; continue; }
        if (o === 'comment') { if (v === undefined) { problem('comment needs a message'); return undefined; } comment = v; i++; continue; }
        if (o === 'ok-status' || o === 'error-status' || o === 'tout-status') {
          if (v === undefined || !STATUS.has(v)) { problem(`${o} needs a check status (L7OK, L7RSP, L7STS, L6RSP, L4CON, L7TOUT…)`); return undefined; }
          if (o === 'ok-status') e.okStatus = v as TcpCheckExpectConfig['okStatus'];
          else if (o === 'error-status') e.errorStatus = v as TcpCheckExpectConfig['errorStatus'];
          else e.toutStatus = v as TcpCheckExpectConfig['toutStatus'];
          i++;
          continue;
        }
        if (o === 'on-success' || o === 'on-error' || o === 'status-code') {
          if (v === undefined) { problem(`${o} needs an argument`); return undefined; }
          if (o === 'on-success') e.onSuccess = v;
          else if (o === 'on-error') e.onError = v;
          else e.statusCode = v;
          i++;
          continue;
        }
        break;
      }
      let m = w[i];
      if (m === '!') {
        e.negate = true;
        m = w[++i];
      } else if (m?.startsWith('!')) {
        e.negate = true;
        m = m.slice(1);
      }
      const pattern = w[i + 1];
      const key = ({ string: 'string', rstring: 'rstring', binary: 'binary', rbinary: 'rbinary', 'string-lf': 'stringLf', 'binary-lf': 'binaryLf' } as const)[m as 'string'];
      if (key === undefined) {
        problem(`tcp-check expect needs a match: string, rstring, binary, rbinary, string-lf or binary-lf (got "${m ?? ''}")`);
        return undefined;
      }
      if (pattern === undefined) {
        problem(`tcp-check expect ${m} needs a pattern`);
        return undefined;
      }
      // Options may also follow the pattern.
      for (let j = i + 2; j < w.length; j++) {
        if (w[j] === 'comment' && w[j + 1] !== undefined) comment = w[++j];
        else if (w[j] === 'min-recv' && w[j + 1] !== undefined) e.minRecv = Number(w[++j]);
        else {
          problem(`unexpected "${w[j]}" after the tcp-check expect pattern`);
          return undefined;
        }
      }
      e[key] = pattern;
      return comment === undefined ? { expect: e } : { expect: e, comment };
    }
    default: {
      const sv = /^set-var(-fmt)?\((.+)\)$/.exec(action);
      if (sv) {
        const name = sv[2]!.split(',')[0]!;
        const value = w[0];
        if (value === undefined) {
          problem(`tcp-check ${action} needs a value`);
          return undefined;
        }
        return sv[1] ? { setVarFmt: { name, format: value } } : { setVar: { name, expr: value } };
      }
      const uv = /^unset-var\((.+)\)$/.exec(action);
      if (uv) return { unsetVar: uv[1]! };
      problem(`tcp-check "${action}" is not one of comment, connect, send, send-lf, send-binary, send-binary-lf, expect, set-var, set-var-fmt, unset-var`);
      return undefined;
    }
  }
}

/** "200-399,404" → the native status / statusRange / rstatus that means the same. */
function statusList(arg: string): Record<string, unknown> | undefined {
  const parts = arg.split(',');
  if (parts.every((x) => /^\d{3}$/.test(x))) return { status: parts.length === 1 ? Number(parts[0]) : parts.map(Number) };
  if (parts.length === 1 && /^\d{3}-\d{3}$/.test(arg)) return { statusRange: arg };
  const alts: string[] = [];
  for (const x of parts) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(x);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    for (let c = lo; c <= hi; c++) alts.push(String(c));
  }
  return { rstatus: `^(?:${alts.join('|')})$` };
}

/** Reads one `http-check expect …` line (HAProxy 2.6 grammar) into healthCheck.http.expect. */
export function parseHttpCheckExpect(w: ReadonlyArray<string>, problem: (why: string) => void, warn: (text: string) => void): Record<string, unknown> | undefined {
  const e: Record<string, unknown> = {};
  let i = 0;
  for (; i < w.length; i++) {
    const o = w[i]!;
    const v = w[i + 1];
    if (o === 'min-recv') {
      if (v === undefined || !/^-?\d+$/.test(v)) return problem('min-recv needs an integer'), undefined;
      warn('http-check expect min-recv ignored: the whole body (up to healthCheck.http.maxBody) is read before matching');
      i++;
      continue;
    }
    const key = ({ comment: 'comment', 'ok-status': 'okStatus', 'error-status': 'errorStatus', 'tout-status': 'toutStatus', 'on-success': 'onSuccess', 'on-error': 'onError', 'status-code': 'statusCode' } as Record<string, string>)[o];
    if (key === undefined) break;
    if (v === undefined) return problem(`${o} needs an argument`), undefined;
    if (o === 'ok-status' && !['L7OK', 'L7OKC', 'L6OK', 'L4OK'].includes(v)) return problem('ok-status must be L7OK, L7OKC, L6OK or L4OK'), undefined;
    if (o === 'error-status' && !['L7OKC', 'L7RSP', 'L7STS', 'L6RSP', 'L4CON'].includes(v)) return problem('error-status must be L7OKC, L7RSP, L7STS, L6RSP or L4CON'), undefined;
    if (o === 'tout-status' && !['L7TOUT', 'L6TOUT', 'L4TOUT'].includes(v)) return problem('tout-status must be L7TOUT, L6TOUT or L4TOUT'), undefined;
    e[key] = v;
    i++;
  }
  let m = w[i];
  if (m === '!') {
    e.negate = true;
    m = w[++i];
  }
  const arg = w[i + 1];
  if (m === undefined) return problem('http-check expect needs a match (status, rstatus, string, rstring)'), undefined;
  if (arg === undefined) return problem(`http-check expect ${m} needs a pattern`), undefined;
  if (w.length > i + 2 && m !== 'hdr') return problem(`unexpected "${w[i + 2]}" after the http-check expect pattern`), undefined;
  switch (m) {
    case 'status': {
      const st = statusList(arg);
      if (st === undefined) return problem(`http-check expect status "${arg}" is not a list of codes and ranges`), undefined;
      Object.assign(e, st);
      break;
    }
    case 'rstatus':
      e.rstatus = arg;
      break;
    // HAProxy checks only the body with a body expect: any status passes the status part.
    case 'string':
      e.body = arg;
      e.statusRange = '100-599';
      break;
    case 'rstring':
      e.bodyRegex = arg;
      e.statusRange = '100-599';
      break;
    case 'hdr': {
      // hdr name [-m meth] <pattern> [value [-m meth] <pattern>]
      const METH = ['str', 'beg', 'end', 'sub', 'reg'];
      const h: Record<string, string> = {};
      let j = i + 1;
      const read = (what: 'name' | 'value'): boolean => {
        if (w[j] !== what) return false;
        j++;
        if (w[j] === '-m') {
          const how = w[j + 1];
          if (how === undefined || !METH.includes(how)) return problem(`http-check expect hdr ${what} -m: one of str, beg, end, sub, reg (dom is not supported)`), false;
          h[`${what}Match`] = how;
          j += 2;
        }
        const pat = w[j];
        if (pat === undefined) return problem(`http-check expect hdr ${what} needs a pattern`), false;
        h[what] = pat;
        j++;
        return true;
      };
      if (!read('name')) {
        if (h.name === undefined && w[i + 1] !== 'name') problem('http-check expect hdr needs "name <pattern>"');
        return undefined;
      }
      if (w[j] === 'value' && !read('value')) return undefined;
      if (w[j] === 'full') return problem('http-check expect hdr … full is not supported'), undefined;
      if (j < w.length) return problem(`unexpected "${w[j]}" after the http-check expect hdr pattern`), undefined;
      e.header = h;
      return e;
    }
    case 'fhdr':
    case 'string-lf':
    case 'rstring-lf':
      return problem(`http-check expect ${m} is not supported (status, rstatus, hdr, string, rstring are)`), undefined;
    default:
      return problem(`unsupported http-check expect "${m}"`), undefined;
  }
  return e;
}

/** Reads `http-check send meth … uri … ver … hdr <name> <value>` into healthCheck.http fields. */
function parseHttpCheckSend(w: ReadonlyArray<string>, problem: (why: string) => void): Record<string, unknown> | undefined {
  const c: Record<string, unknown> = {};
  for (let i = 0; i < w.length; i++) {
    const a = w[i + 1];
    switch (w[i]) {
      case 'meth':
        if (a === undefined) return problem('meth needs a method'), undefined;
        c.method = a;
        i++;
        break;
      case 'uri':
        if (a === undefined) return problem('uri needs a path'), undefined;
        c.path = a;
        i++;
        break;
      case 'ver':
        i++;
        break;
      case 'hdr': {
        const v = w[i + 2] ?? '';
        if (a?.toLowerCase() === 'host') c.host = v;
        else ((c.headers ??= {}) as Record<string, string>)[a ?? ''] = v;
        i += 2;
        break;
      }
      default:
        return problem(`unsupported http-check send argument "${w[i]}"`), undefined;
    }
  }
  return c;
}

export function haproxyDirectives(plugin: string): HaproxyDirective[] {
  const kindOption = (keyword: string, description: string, read: (ctx: HaproxyAdaptContext) => Record<string, unknown> | undefined = () => ({})): HaproxyDirective => ({
    scope: 'option',
    keyword,
    plugin,
    description,
    handle(ctx) {
      if (ctx.negated) return setKind(ctx, keyword);
      const options = read(ctx);
      if (options !== undefined) setKind(ctx, keyword, options);
    },
  });
  return [
    kindOption('tcp-check', 'tcp-check rule sequence health checks (with the tcp-check lines)', (ctx) => {
      if (ctx.args.length > 0) ctx.problem('option tcp-check takes no argument');
      return {};
    }),
    kindOption('redis-check', 'Redis PING / +PONG health check'),
    kindOption('ldap-check', 'LDAPv3 anonymous bind health check'),
    kindOption('ssl-hello-chk', 'SSLv3 CLIENT HELLO health check'),
    kindOption('mysql-check', 'MySQL/MariaDB handshake (and login without password) health check', (ctx) => {
      const a = ctx.args;
      if (a.length === 0) return {};
      if (a[0] !== 'user' || a[1] === undefined) {
        ctx.problem(`option mysql-check only supports "user <username> [post-41|pre-41]" (got "${a.join(' ')}")`);
        return undefined;
      }
      if (a[2] !== undefined && a[2] !== 'post-41' && a[2] !== 'pre-41') {
        ctx.problem(`option mysql-check user: only post-41 and pre-41 are supported (got "${a[2]}")`);
        return undefined;
      }
      return { mysql: { user: a[1], variant: a[2] ?? 'post-41' } };
    }),
    kindOption('pgsql-check', 'PostgreSQL StartupMessage health check', (ctx) => {
      const a = ctx.args;
      if (a[0] !== 'user' || a[1] === undefined || a.length > 2) {
        ctx.problem('option pgsql-check expects "user <username>"');
        return undefined;
      }
      return { pgsql: { user: a[1] } };
    }),
    kindOption('smtpchk', 'SMTP banner and HELO/EHLO health check', (ctx) => {
      const a = ctx.args;
      if (a.length >= 2 && (a[0] === 'EHLO' || a[0] === 'HELO')) return { smtp: { hello: a[0], domain: a[1] } };
      return {}; // HAProxy: anything else means HELO localhost
    }),
    {
      scope: 'proxy',
      keyword: 'tcp-check',
      plugin,
      description: 'one rule of a tcp-check sequence (connect, send*, expect, comment, set-var, unset-var)',
      handle(ctx) {
        if (ctx.backend === undefined) return; // defaults: replayed into each backend
        const rule = parseTcpCheckLine(ctx.args, (why) => ctx.problem(why));
        if (rule === undefined) return;
        const s = state(ctx);
        (ctx.fromDefaults ? s.inherited : s.own).push(rule);
      },
    },
    {
      scope: 'proxy',
      keyword: 'http-check',
      plugin,
      description: 'http-check expect (status, rstatus, string, rstring, with !, on-success, on-error, status-code, ok/error/tout-status, comment) and http-check send',
      handle(ctx) {
        if (ctx.backend === undefined) return; // defaults: replayed into each backend
        const [what, ...w] = ctx.args;
        if (what === 'disable-on-404') return ctx.warn('"http-check disable-on-404" ignored');
        if (what !== 'expect' && what !== 'send') return ctx.problem(`unsupported http-check "${what ?? ''}" (expect and send are supported)`);
        const read = what === 'expect' ? parseHttpCheckExpect(w, (why) => ctx.problem(why), (t) => ctx.warn(t)) : parseHttpCheckSend(w, (why) => ctx.problem(why));
        if (read === undefined) return;
        const s = state(ctx);
        const slot = what === 'expect' ? (s.httpExpect ??= {}) : (s.httpSend ??= {});
        if (ctx.fromDefaults) slot.inherited = what === 'send' ? { ...slot.inherited, ...read } : read;
        else slot.own = what === 'send' ? { ...slot.own, ...read } : read;
      },
    },
    {
      scope: 'server',
      keyword: 'on-marked-down',
      plugin,
      description: 'on-marked-down shutdown-sessions: close the server\'s sessions when it goes DOWN',
      handle(ctx) {
        const v = ctx.take();
        if (v === undefined) return;
        if (v !== 'shutdown-sessions') return ctx.problem(`'on-marked-down' expects 'shutdown-sessions' but got '${v}'`);
        ctx.target!.onMarkedDown = v;
      },
    },
    {
      scope: 'server',
      keyword: 'on-marked-up',
      plugin,
      description: 'on-marked-up shutdown-backup-sessions: close the backups\' sessions when this server comes UP',
      handle(ctx) {
        const v = ctx.take();
        if (v === undefined) return;
        if (v !== 'shutdown-backup-sessions') return ctx.problem(`'on-marked-up' expects 'shutdown-backup-sessions' but got '${v}'`);
        ctx.target!.onMarkedUp = v;
      },
    },
  ];
}

export function registerHaproxyDirectives(slots: SlotRegistry, plugin: string): void {
  for (const d of haproxyDirectives(plugin)) slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName(d.scope, d.keyword), d, { description: d.description });
}
