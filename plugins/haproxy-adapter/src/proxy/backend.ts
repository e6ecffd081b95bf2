import { AdaptModel, P, aliases, BALANCE_PLUGIN, type Ctx, type KeyPath, type Obj } from '../model';
import { type Directive } from '../parse';

export function balance(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
  let algo = w[1] ?? '';
  let arg: string | undefined;
  const m = /^([a-z_-]+)\((.*)\)$/.exec(algo);
  if (m) {
    algo = m[1]!;
    arg = m[2];
  }
  if (algo === 'hash' && w[2] !== undefined) arg = w.slice(2).join(' ');
  if (!(algo in BALANCE_PLUGIN)) return ad.problem(d.line, w.join(' '), `balance "${algo}" is not supported (rdp-cookie, log-*)`);
  const plugin = BALANCE_PLUGIN[algo];
  if (plugin) ad.use(plugin);
  ad.set(be('balance'), algo, d.line);
  switch (algo) {
    case 'random':
      if (arg !== undefined) {
        const n = ad.int(arg, d);
        if (n !== undefined) ad.set(be('randomDraws'), n, d.line);
      }
      return;
    case 'uri':
      for (let i = 2; i < w.length; i++) {
        if (w[i] === 'whole') ad.set(be('uriWhole'), true, d.line);
        else if (w[i] === 'path-only') ad.set(be('uriPathOnly'), true, d.line);
        else if (w[i] === 'len' || w[i] === 'depth') {
          const n = ad.int(w[i + 1], d);
          if (n !== undefined) ad.set(be(w[i] === 'len' ? 'uriLen' : 'uriDepth'), n, d.line);
          i++;
        } else return ad.problem(d.line, w.join(' '), `unknown balance uri option "${w[i]}"`);
      }
      return;
    case 'url_param':
      if (!w[2]) return ad.problem(d.line, w.join(' '), 'balance url_param needs a parameter name');
      if (w.length > 3) return ad.problem(d.line, w.join(' '), 'balance url_param: check_post and max_wait are not supported');
      ad.set(be('urlParam'), w[2], d.line);
      return;
    case 'hdr':
      if (!arg) return ad.problem(d.line, w.join(' '), 'balance hdr(<name>) needs a header name');
      ad.set(be('hashHeader'), arg, d.line);
      if (w[2] === 'use_domain_only') ad.set(be('hashUseDomainOnly'), true, d.line);
      else if (w[2] !== undefined) return ad.problem(d.line, w.join(' '), `unknown balance hdr option "${w[2]}"`);
      return;
    case 'hash':
      if (!arg) return ad.problem(d.line, w.join(' '), 'balance hash needs an expression');
      ad.use(P('acl'));
      ad.set(be('hashKey'), aliases(arg), d.line);
      return;
    default:
      if (w.length > 2) ad.problem(d.line, w.join(' '), `balance ${algo} takes no arguments`);
  }
}

export function cookie(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  const c: Obj = { name: w[1] };
  for (let i = 2; i < w.length; i++) {
    const o = w[i]!;
    switch (o) {
      case 'insert':
      case 'rewrite':
      case 'prefix':
        c.mode = o;
        break;
      case 'indirect':
      case 'nocache':
      case 'httponly':
      case 'secure':
        c[o] = true;
        break;
      case 'domain':
      case 'path':
        c[o] = w[++i];
        break;
      case 'maxidle':
      case 'maxlife': {
        const v = ad.duration(w[++i], d);
        if (v !== undefined) c[o] = v;
        break;
      }
      case 'attr':
        ((c.attributes ??= []) as string[]).push(w[++i] ?? '');
        break;
      case 'preserve':
      case 'postonly':
        ad.warn(d.line, `cookie "${o}" ignored`);
        break;
      default:
        return ad.problem(d.line, w.join(' '), `unsupported cookie option "${o}"`);
    }
  }
  if (c.mode === undefined) c.mode = 'rewrite';
  ad.use(P('stickiness'));
  ad.set(['backends', ctx.beName!, 'cookie'], c, d.line);
  ctx.cookieLine = d.line;
}

export function compression(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  ad.use(P('compression'));
  switch (w[1]) {
    case 'algo': {
      const enc = w.slice(2).map((x) => (x === 'br' ? 'br' : x)).filter((x) => x !== 'identity');
      const bad = enc.filter((x) => !['gzip', 'deflate', 'br'].includes(x));
      if (bad.length > 0) return ad.problem(d.line, w.join(' '), `compression algo ${bad.join(', ')} is not supported (gzip, deflate, br)`);
      if (w.slice(2).some((x) => x === 'raw-deflate')) return;
      ad.set(['compression', 'encodings'], enc, d.line);
      break;
    }
    case 'type':
      ad.set(['compression', 'types'], w.slice(2), d.line);
      break;
    case 'offload':
      ad.warn(d.line, '"compression offload" approximated: Accept-Encoding is still sent to servers');
      break;
    default:
      return ad.problem(d.line, w.join(' '), `compression ${w[1] ?? ''} is not supported (algo, type)`);
  }
  ctx.compression = true;
}

export function stats(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  if (!ctx.fe) {
    if (!ctx.fromDefaults) ad.problem(d.line, w.join(' '), 'stats in a backend-only section is not supported (use a frontend or listen)');
    return;
  }
  ad.use(P('stats'));
  const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
  switch (w[1]) {
    case 'enable':
      if (ad.get(fe('stats', 'path')) === undefined) ad.set(fe('stats', 'path'), '/haproxy?stats', d.line);
      ad.set(['stats', 'enabled'], false, d.line);
      return;
    case 'uri':
      ad.set(fe('stats', 'path'), w[2], d.line);
      ad.set(['stats', 'enabled'], false, d.line);
      return;
    case 'auth': {
      const [user, ...pass] = (w[2] ?? '').split(':');
      ad.set(['stats', 'auth', 'username'], user, d.line);
      ad.set(['stats', 'auth', 'password'], pass.join(':'), d.line);
      return;
    }
    case 'realm':
      ad.set(['stats', 'auth', 'realm'], w.slice(2).join(' '), d.line);
      return;
    case 'admin':
      // `stats admin if <cond>`: the page's admin forms where the condition holds (needs stats auth).
      if (w.length < 4) return ad.problem(d.line, w.join(' '), 'stats admin needs a condition (stats admin if <cond>)');
      ad.set(fe('stats', 'admin'), ad.cond(w.slice(2), d), d.line);
      return;
    case 'refresh':
    case 'hide-version':
    case 'show-legends':
    case 'show-node':
    case 'show-desc':
      ad.warn(d.line, `"stats ${w[1]}" ignored: the page updates live (server-sent events)`);
      return;
    default:
      ad.problem(d.line, w.join(' '), `stats ${w[1] ?? ''} is not supported`);
  }
}
