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
      // `algo identity` alone: HAProxy keeps the body as it is
      if (enc.length === 0) return;
      ad.set(['compression', 'encodings'], enc, d.line);
      break;
    }
    case 'type':
      // HAProxy compares each type as a prefix of the Content-Type: `text/` is every text type
      ad.set(['compression', 'types'], w.slice(2).map((x) => (x.endsWith('/') ? `${x}*` : x)), d.line);
      break;
    case 'offload':
      ad.warn(d.line, '"compression offload" approximated: Accept-Encoding is still sent to servers');
      break;
    default:
      return ad.problem(d.line, w.join(' '), `compression ${w[1] ?? ''} is not supported (algo, type)`);
  }
  ctx.compression = true;
  // HAProxy 2.6's choices (the compression plugin's rules: haproxy): no minimum size, every
  // type unless `compression type` lists some, Vary only when compressing, 200–203 only…
  ad.set(['compression', 'rules'], 'haproxy', d.line);
  ad.set(['compression', 'minSize'], 0, d.line);
  if (ad.get(['compression', 'types']) === undefined) ad.set(['compression', 'types'], [], d.line);
}

export function stats(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  if (!ctx.fe && ctx.fromDefaults) return;
  if (!ctx.fe) {
    // A backend's stats page answers the requests routed to it: serve it on the frontends
    // that reach this backend, at its URI.
    const be = ctx.beName!;
    if (w[1] === 'enable' || w[1] === 'uri') {
      const state = ctx.locals?.get('stats.backend') as { uri?: string } | undefined;
      const next = { uri: w[1] === 'uri' ? w[2] : state?.uri };
      (ctx.locals ??= new Map()).set('stats.backend', next);
      if (state === undefined) {
        ad.finishers.push(() => {
          const uri = ((ctx.locals?.get('stats.backend') as { uri?: string }).uri ?? '/haproxy?stats');
          for (const f of ad.frontendsReaching(be)) {
            if (ad.get(['frontends', f, 'stats', 'path']) !== undefined) continue;
            ad.use(P('stats'));
            ad.set(['frontends', f, 'stats', 'path'], statsPath(ad, d, uri), d.line);
            ad.set(['stats', 'enabled'], false, d.line);
            ad.warn(d.line, `stats of backend ${be} served on frontend ${f} at ${uri}, whichever backend the request would reach`);
          }
        });
      }
      return;
    }
  }
  ad.use(P('stats'));
  const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName ?? '', ...p];
  switch (w[1]) {
    case 'enable':
      if (ctx.fe && ad.get(fe('stats', 'path')) === undefined) ad.set(fe('stats', 'path'), statsPath(ad, d, '/haproxy?stats'), d.line);
      ad.set(['stats', 'enabled'], false, d.line);
      return;
    case 'uri':
      if (!w[2]) return ad.problem(d.line, w.join(' '), 'stats uri needs a URI prefix');
      if (ctx.fe) ad.set(fe('stats', 'path'), statsPath(ad, d, w[2]), d.line);
      ad.set(['stats', 'enabled'], false, d.line);
      return;
    case 'scope':
      ad.warn(d.line, `"stats scope ${w[2] ?? ''}" ignored: the page lists every frontend and backend`);
      return;
    case 'show-modules':
      ad.warn(d.line, '"stats show-modules" ignored: the page shows its own set of counters');
      return;
    case 'auth': {
      const [user, ...pass] = (w[2] ?? '').split(':');
      ad.set(['stats', 'auth', 'username'], user, d.line);
      ad.set(['stats', 'auth', 'password'], pass.join(':'), d.line);
      return;
    }
    case 'realm':
      // only meaningful with stats auth: kept aside until one is given (see closeProxy)
      ad.statsRealm = { realm: w.slice(2).join(' '), line: d.line };
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

/** HAProxy matches the stats URI as a prefix of the whole URI; the stats page matches a path. */
function statsPath(ad: AdaptModel, d: Directive, uri: string): string {
  const q = uri.search(/[?;#]/);
  if (q < 0) return uri;
  const path = uri.slice(0, q) || '/';
  ad.warn(d.line, `stats uri ${uri} approximated: the page answers ${path} with any query string`);
  return path;
}
