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
