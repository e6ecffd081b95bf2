import { runContributed } from '../contributed';
import { AdaptModel, P, OPTION_NOOP, type Ctx, type KeyPath, type Obj } from '../model';
import { type Directive } from '../parse';

export function option(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const negate = d.words[0] === 'no';
  const w = negate ? d.words.slice(1) : d.words;
  if (negate && w[0] === 'log' && w.length === 1) {
    // `no log`: this proxy logs nothing, whatever defaults said
    ctx.logEnabled = false;
    return;
  }
  if (w[0] !== 'option') return ad.problem(d.line, d.words.join(' '), `"no ${w[0] ?? ''}" is not supported (no option <name>, no log)`);
  const name = w[1] ?? '';
  const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
  const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
  const own = ad.contributed('option', name);
  if (own) {
    runContributed(ad, own, { d, ctx, args: w.slice(2), negated: negate });
    return;
  }
  if (OPTION_NOOP[name] !== undefined) return;
  switch (name) {
    case 'redispatch': {
      if (!ctx.be) return;
      ad.use(P('retries'));
      const interval = w[2] !== undefined ? ad.int(w[2], d) : undefined;
      ad.set(be('retries', 'redispatch'), negate ? false : interval !== undefined ? (interval === -1 ? true : interval) : true, d.line);
      return;
    }
    case 'httplog':
      if (ctx.fe) ctx.logOption = negate ? undefined : { format: 'httplog', line: d.line };
      return;
    case 'tcplog':
      if (ctx.fe) ctx.logOption = negate ? undefined : { format: 'tcplog', line: d.line };
      return;
    case 'httpchk': {
      if (!ctx.be) return;
      const c: NonNullable<Ctx['httpchk']> = { line: d.line };
      const args = w.slice(2);
      if (args.length === 1) c.path = args[0];
      else if (args.length >= 2) {
        c.method = args[0];
        c.path = args[1];
        // HAProxy's old form packs headers into the version: "HTTP/1.1\r\nHost:\ x"
        const ver = args.slice(2).join(' ');
        const host = /\\r\\nHost:\s*([^\\]+)/i.exec(ver);
        if (host) c.host = host[1]!.trim();
      }
      ctx.httpchk = negate ? undefined : c;
      return;
    }
    case 'allbackups':
      if (ctx.be) ad.set(be('allBackups'), !negate, d.line);
      return;
    case 'http-server-close':
    case 'httpclose':
    case 'forceclose':
    case 'http-pretend-keepalive':
      ad.warn(d.line, `"option ${name}" approximated: Switchyard keeps client and server connections alive independently`);
      return;
    case 'tcp-check':
      if (ctx.be) ad.warn(d.line, '"option tcp-check" approximated: a plain connect check (tcp-check send/expect rules are not supported)');
      return;
    case 'ssl-hello-chk':
      if (ctx.be) ad.warn(d.line, '"option ssl-hello-chk" approximated: a plain connect check');
      return;
    case 'http-use-htx':
      return;
    case 'idle-close-on-response':
      // What Switchyard's graceful stop always does: an idle keep-alive connection is not cut
      // at once; its next request is answered with "Connection: close" (until the keep-alive
      // timeout, or half the grace period). Without the option HAProxy 2.6 closes idle
      // connections at soft-stop; Switchyard waits either way.
      if (negate) ad.warn(d.line, '"no option idle-close-on-response" approximated: idle keep-alive connections are still kept until their next request (answered with Connection: close) or the keep-alive timeout during a graceful stop');
      return;
    case 'prefer-last-server':
      if (ctx.be) ad.warn(d.line, '"option prefer-last-server" approximated: the balancing policy picks the server for every request; idle server connections are still reused');
      return;
    case 'persist':
      if (ctx.be) ad.warn(d.line, '"option persist" ignored: a request whose persistence cookie names a DOWN server goes to another server');
      return;
    case 'http-ignore-probes':
      if (ctx.fe) ad.warn(d.line, '"option http-ignore-probes" approximated: connections closed before sending a request are never logged');
      return;
    case 'checkcache':
      if (ctx.be) ad.warn(d.line, '"option checkcache" ignored: responses with Set-Cookie are not blocked');
      return;
    case 'nolinger':
      return ad.warn(d.line, '"option nolinger" ignored: connections close with a FIN, never an RST');

    default:
      if (ctx.fromDefaults && (name === '' || !ctx.fe || !ctx.be)) {
        // still report unknown options once per proxy using the defaults
      }
      ad.problem(d.line, d.words.join(' '), `unknown option "${name}"`);
  }
  void fe;
}

export function httpCheck(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  if (!ctx.be) return;
  const w = d.words;
  if (w[1] === 'expect') {
    let i = 2;
    if (w[i] === '!') return ad.problem(d.line, w.join(' '), 'negated http-check expect is not supported');
    const kind = w[i];
    const arg = w[i + 1];
    if (arg === undefined) return ad.problem(d.line, w.join(' '), 'http-check expect needs a pattern');
    const expect: Obj = {};
    switch (kind) {
      case 'status': {
        const list = arg.split(',');
        const single = list.map((x) => /^(\d{3})-(\d{3})$/.exec(x));
        if (list.length === 1 && single[0]) expect.statusRange = arg;
        else if (list.every((x) => /^\d{3}$/.test(x))) expect.status = list.length === 1 ? Number(list[0]) : list.map(Number);
        else return ad.problem(d.line, w.join(' '), 'status must be a code, a list of codes or one range');
        break;
      }
      case 'rstatus':
        return ad.problem(d.line, w.join(' '), 'rstatus is not supported (use status with codes or a range)');
      case 'string':
        expect.body = arg;
        break;
      case 'rstring':
        expect.bodyRegex = arg;
        break;
      default:
        return ad.problem(d.line, w.join(' '), `unsupported http-check expect "${kind}"`);
    }
    ctx.httpExpect = { value: expect, line: d.line };
    return;
  }
  if (w[1] === 'send') {
    const c: NonNullable<Ctx['httpchk']> = ctx.httpchk ?? { line: d.line };
    for (let i = 2; i < w.length; i++) {
      const a = w[i + 1];
      switch (w[i]) {
        case 'meth':
          c.method = a;
          i++;
          break;
        case 'uri':
          c.path = a;
          i++;
          break;
        case 'ver':
          i++;
          break;
        case 'hdr': {
          const v = w[i + 2] ?? '';
          if (a?.toLowerCase() === 'host') c.host = v;
          else (c.headers ??= {})[a ?? ''] = v;
          i += 2;
          break;
        }
        default:
          return ad.problem(d.line, w.join(' '), `unsupported http-check send argument "${w[i]}"`);
      }
    }
    ctx.httpchk = c;
    return;
  }
  if (w[1] === 'disable-on-404') return ad.warn(d.line, '"http-check disable-on-404" ignored');
  ad.problem(d.line, w.join(' '), `unsupported http-check "${w[1] ?? ''}" (expect and send are supported)`);
}
