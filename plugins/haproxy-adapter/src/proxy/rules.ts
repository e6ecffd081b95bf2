import { runContributed } from '../contributed';
import { AdaptModel, P, aliases, boolInline, type Ctx, type KeyPath, type Obj } from '../model';
import { joinWords, type Directive } from '../parse';
import { cacheUse } from '../sections/cache';

/** Rule bodies shared by http-request and http-response. */
/** The rule, undefined for an action it does not know, null when it reported a problem. */
export function headerRule(ad: AdaptModel, action: string, head: string[], d: Directive): Obj | null | undefined {
  const rule: Obj = { action };
  switch (action) {
    case 'set-header':
    case 'add-header':
      if (head.length < 2) break;
      rule.name = head[0];
      rule.value = head.slice(1).join(' ');
      return rule;
    case 'del-header':
      if (head.length !== 1) break;
      rule.name = head[0];
      return rule;
    case 'replace-header':
    case 'replace-value':
      if (head.length !== 3) break;
      rule.action = 'replace-header';
      rule.name = head[0];
      rule.match = head[1];
      rule.replace = head[2];
      if (action === 'replace-value') ad.warn(d.line, 'replace-value approximated as replace-header (the whole value, not each comma-separated item)');
      return rule;
    default:
      return undefined;
  }
  ad.problem(d.line, d.words.join(' '), `wrong arguments for ${action}`);
  return null;
}

export function httpRequest(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const { head, cond } = ad.splitCond(d.words.slice(1));
  const action = head[0] ?? '';
  const args = head.slice(1);
  if (!ctx.fe && (ctx.fromDefaults || !ctx.be)) return;
  const onBackend = !ctx.fe;
  const add = (rule: Obj): void => {
    ad.use(P('http-rules'));
    const full = { ...rule, ...ad.cond(cond, d) };
    if (onBackend) backendRule(ad, ctx.beName!, 'httpRequest', full, d.line);
    else ad.push(['frontends', ctx.feName!, 'httpRequest'], full, d.line);
  };
  const own = ad.contributed('http-request', action.replace(/\(.*$/, ''));
  if (own) {
    const place = (r: Obj): void => (onBackend ? backendRule(ad, ctx.beName!, 'httpRequest', r, d.line) : ad.push(['frontends', ctx.feName!, 'httpRequest'], r, d.line));
    runContributed(ad, own, { d, ctx, args, condition: cond, addRule: place });
    return;
  }
  if (action.startsWith('lua.') || (action === 'use-service' && (args[0] ?? '').startsWith('lua.'))) {
    return ad.problem(d.line, d.words.join(' '), `http-request ${action}: Lua scripts do not run in Switchyard (no Lua engine on npm runs HAProxy\'s core.register_* API): port the script to a JavaScript plugin (definePlugin, tap the route or respond hook; docs/plugin-authoring.md)`);
  }
  const m = /^track-sc(\d)$/.exec(action);
  if (onBackend && (m || action === 'auth')) {
    return ad.problem(d.line, d.words.join(' '), `http-request ${action} in a backend is not supported (put it in the frontend)`);
  }
  if (m) {
    if (!args[0]) return ad.problem(d.line, d.words.join(' '), 'track-sc needs a key');
    const t: Obj = { counter: Number(m[1]), key: aliases(args[0]) };
    if (args[1] === 'table' && args[2]) t.table = args[2];
    const period = tablePeriod(ad, ctx, d, args[1] === 'table' ? args[2] : undefined);
    if (period !== undefined) t.period = period;
    ad.use(P('rate-limit'));
    ad.push(['frontends', ctx.feName!, 'track'], { ...t, ...ad.cond(cond, d) }, d.line);
    return;
  }
  switch (action) {
    case 'allow':
      return add({ action });
    case 'reject':
    case 'silent-drop':
      if (args.length > 0) return ad.problem(d.line, d.words.join(' '), `http-request ${action} takes no argument${action === 'silent-drop' ? ' (rst-ttl is HAProxy 2.9)' : ''}`);
      return add({ action });
    case 'deny': {
      const r: Obj = { action };
      for (let i = 0; i < args.length; i++) {
        if (args[i] === 'deny_status') r.status = Number(args[++i]);
        else if (args[i] === 'content-type') r.contentType = args[++i];
        else if (args[i] === 'string' || args[i] === 'lf-string') r.body = args[++i];
        else return ad.problem(d.line, d.words.join(' '), `unsupported deny argument "${args[i]}"`);
      }
      return add(r);
    }
    case 'redirect': {
      const r: Obj = { action };
      const kind = args[0];
      if (kind !== 'location' && kind !== 'prefix' && kind !== 'scheme') return ad.problem(d.line, d.words.join(' '), 'redirect needs location, prefix or scheme');
      r[kind] = args[1];
      for (let i = 2; i < args.length; i++) {
        if (args[i] === 'code') r.code = Number(args[++i]);
        else return ad.problem(d.line, d.words.join(' '), `unsupported redirect option "${args[i]}"`);
      }
      return add(r);
    }
    case 'return': {
      const r: Obj = { action };
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === 'status') r.status = Number(args[++i]);
        else if (a === 'content-type') r.contentType = args[++i];
        else if (a === 'string' || a === 'lf-string') r.body = args[++i];
        else if (a === 'file' || a === 'lf-file') r.file = args[++i];
        else if (a === 'hdr') {
          ((r.headers ??= {}) as Obj)[args[i + 1] ?? ''] = args[i + 2];
          i += 2;
        } else return ad.problem(d.line, d.words.join(' '), `unsupported return argument "${a}"`);
      }
      return add(r);
    }
    case 'set-path':
    case 'set-query':
    case 'set-method':
      if (args.length < 1) return ad.problem(d.line, d.words.join(' '), `${action} needs a value`);
      return add({ action, value: args.join(' ') });
    case 'replace-path':
    case 'replace-uri':
      if (args.length !== 2) return ad.problem(d.line, d.words.join(' '), `${action} needs a regex and a replacement`);
      return add({ action, match: args[0], replace: args[1] });
    case 'cache-use':
      return cacheUse(ad, args[0], d, ctx);
    case 'use-service':
      return useService(ad, args, cond, d, ctx);
    case 'auth':
      return auth(ad, args, cond, d, ctx);
    case 'set-log-level':
    case 'capture':
      return ad.warn(d.line, `http-request ${action} ignored`);
    default: {
      const sv = /^set-var\(([^)]+)\)$/.exec(action);
      // set-var takes a sample expression (set-var-fmt a format): evaluate it, don't store its text.
      if (sv) return add({ action: 'set-var', name: sv[1], value: `%[${args.join(' ')}]` });
      const h = headerRule(ad, action, args, d);
      if (h === null) return;
      if (h) return add(h);
      ad.problem(d.line, d.words.join(' '), `http-request action "${action}" is not supported`);
    }
  }
}

/**
 * `http-request use-service prometheus-exporter [if …]` → @switchyard/plugin-prometheus served on
 * this frontend with HAProxy's metric names (`prometheus.naming: haproxy`) and no listener of its own.
 */
function useService(ad: AdaptModel, args: string[], cond: string[], d: Directive, ctx: Ctx): void {
  if (args[0] !== 'prometheus-exporter') {
    return ad.problem(d.line, d.words.join(' '), `http-request use-service ${args[0] ?? ''} is not supported (only prometheus-exporter)`);
  }
  if (!ctx.fe) return ad.problem(d.line, d.words.join(' '), 'use-service in a backend is not supported (put it in the frontend)');
  ad.use(P('prometheus'));
  ad.set(['prometheus', 'naming'], 'haproxy', d.line);
  if (ad.get(['prometheus', 'enabled']) === undefined) ad.set(['prometheus', 'enabled'], false, d.line);
  // The usual `if { path /metrics }` needs no ACL engine.
  if (cond.length === 5 && cond[0] === 'if' && cond[1] === '{' && cond[2] === 'path' && cond[4] === '}') {
    ad.set(['frontends', ctx.feName!, 'prometheus', 'path'], cond[3], d.line);
    return;
  }
  // No condition: every request of this frontend gets the metrics, as in HAProxy.
  if (cond.length === 0) return ad.set(['frontends', ctx.feName!, 'prometheus'], {}, d.line);
  const c = ad.cond(cond, d);
  for (const [k, v] of Object.entries(c)) ad.set(['frontends', ctx.feName!, 'prometheus', k], v, d.line);
}

export function httpResponse(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const { head, cond } = ad.splitCond(d.words.slice(1));
  const action = head[0] ?? '';
  const args = head.slice(1);
  if (!ctx.fe && (ctx.fromDefaults || !ctx.be)) return;
  const add = (rule: Obj): void => {
    ad.use(P('http-rules'));
    const full = { ...rule, ...ad.cond(cond, d) };
    if (!ctx.fe) backendRule(ad, ctx.beName!, 'httpResponse', full, d.line);
    else ad.push(['frontends', ctx.feName!, 'httpResponse'], full, d.line);
  };
  const own = ad.contributed('http-response', action.replace(/\(.*$/, ''));
  if (own) {
    const place = (r: Obj): void => (ctx.fe ? ad.push(['frontends', ctx.feName!, 'httpResponse'], r, d.line) : backendRule(ad, ctx.beName!, 'httpResponse', r, d.line));
    runContributed(ad, own, { d, ctx, args, condition: cond, addRule: place });
    return;
  }
  if (action === 'cache-store') return cacheUse(ad, args[0], d, ctx);
  if (action === 'set-status') {
    const r: Obj = { action, status: Number(args[0]) };
    if (args[1] === 'reason') r.reason = args[2];
    return add(r);
  }
  const h = headerRule(ad, action, args, d);
  if (h === null) return;
  if (!h) return ad.problem(d.line, d.words.join(' '), `http-response action "${action}" is not supported`);
  add(h);
}

/** A backend's rule, moved to its frontends once every section is read (see #finish). */
export function backendRule(ad: AdaptModel, backend: string, kind: 'httpRequest' | 'httpResponse', rule: Obj, line: number): void {
  let list = ad.backendRules.get(backend);
  if (!list) ad.backendRules.set(backend, (list = []));
  list.push({ kind, rule, line });
}

export function tcpRequest(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  if (!ctx.fe) {
    if (ctx.fromDefaults) return;
    if (w[1] === 'inspect-delay') {
      return ad.warn(d.line, '"tcp-request inspect-delay" in a backend ignored: the backend\'s tcp-request content rules Switchyard takes (track-sc…) run on the request once it is routed, with nothing more to wait for');
    }
    const { head, cond } = ad.splitCond(w.slice(2));
    const own = w[1] === 'content' ? ad.contributed('tcp-request', `content ${(head[0] ?? '').replace(/\(.*$/, '')}`) : undefined;
    if (own) {
      runContributed(ad, own, { d, ctx, args: head.slice(1), condition: cond, addRule: () => ad.problem(d.line, w.join(' '), 'this tcp-request content rule is not supported in a backend') });
      return;
    }
    if (w[1] === 'content') return ad.problem(d.line, w.join(' '), `tcp-request content ${w[2] ?? ''} in a backend (run once the backend is chosen) is not supported: put the rule in the frontend that routes here`.replace('  ', ' '));
    return ad.problem(d.line, w.join(' '), `tcp-request ${w[1] ?? ''} belongs in a frontend or listen section`);
  }
  const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
  if (w[1] === 'inspect-delay') {
    const v = ad.duration(w[2], d);
    if (v === undefined) return;
    ad.use(P('http-rules'));
    ad.set(fe('tcpRequest', 'inspectDelay'), v, d.line);
    return;
  }
  if (w[1] === 'connection' || w[1] === 'content') {
    const { head, cond } = ad.splitCond(w.slice(2));
    const action = head[0];
    const own = ad.contributed('tcp-request', `${w[1]} ${(action ?? '').replace(/\(.*$/, '')}`);
    if (own) {
      runContributed(ad, own, { d, ctx, args: head.slice(1), condition: cond, addRule: (r) => ad.push(fe('tcpRequest', w[1]!), r, d.line) });
      return;
    }
    const tm = /^track-sc(\d)$/.exec(action ?? '');
    if (tm && w[1] === 'content' && head[1]) {
      const t: Obj = { counter: Number(tm[1]), key: head[1] };
      const period = tablePeriod(ad, ctx, d);
      if (period !== undefined) t.period = period;
      ad.use(P('rate-limit'));
      ad.push(fe('track'), { ...t, ...ad.cond(cond, d) }, d.line);
      return;
    }
    if ((action !== 'accept' && action !== 'reject') || head.length > 1) {
      return ad.problem(d.line, w.join(' '), `tcp-request ${w[1]} action "${head.join(' ')}" is not supported (accept, reject)`);
    }
    ad.use(P('http-rules'));
    ad.push(fe('tcpRequest', w[1]), { action, ...ad.cond(cond, d) }, d.line);
    return;
  }
  ad.problem(d.line, w.join(' '), `tcp-request ${w[1] ?? ''} is not supported`);
}

/** The http_req_rate period of this proxy's stick-table, for track-sc. */
export function tablePeriod(ad: AdaptModel, ctx: Ctx, d: Directive, table?: string): string | number | undefined {
  const t = table !== undefined ? ad.tables.get(table) : ctx.stickTable;
  if (!t) {
    if (table !== undefined) ad.problem(d.line, d.words.join(' '), `no backend "${table}" holding a stick-table before this line`);
    return undefined;
  }
  const store = t.words[t.words.indexOf('store') + 1] ?? '';
  const m = /http_req_rate\(([^)]+)\)/.exec(store);
  return m ? ad.duration(m[1], d) : undefined;
}

/**
 * `http-request auth [realm R] if !{ http_auth(L) }` (or `unless { http_auth(L) }`,
 * `http_auth_group(L) g1 g2`, with other ACLs beside) → frontends.<f>.basicAuth.
 */
export function auth(ad: AdaptModel, args: string[], cond: string[], d: Directive, ctx: Ctx): void {
  const realm = args[0] === 'realm' ? args[1] : undefined;
  if (args.length > (realm === undefined ? 0 : 2)) return ad.problem(d.line, d.words.join(' '), 'auth takes only "realm <name>"');
  const kw = cond[0];
  // a named ACL that is only http_auth(...) is written inline, so it can be recognised
  const acls = (ad.get(['frontends', ctx.feName!, 'acls']) ?? {}) as Obj;
  const text = cond
    .slice(1)
    .map((t) => {
      const name = t.replace(/^!/, '');
      const def = acls[name];
      const bare = typeof def === 'string' ? def.replace(/ -m bool$/, '') : '';
      return /^http_auth(_group)?\(/.test(bare) ? `${t.startsWith('!') ? '!' : ''}{ ${bare} }` : joinWords([t]);
    })
    .join(' ');
  const neg = kw === 'if' ? '!' : '';
  const re = new RegExp(`(^|\\s)${neg === '!' ? '!\\s*' : '(?<!!)'}\\{\\s*(http_auth|http_auth_group)\\(([^)]+)\\)((?:\\s+[^\\s}]+)*)\\s*\\}`);
  const m = kw === 'if' || kw === 'unless' ? re.exec(text) : null;
  if (!m) {
    return ad.problem(d.line, d.words.join(' '), 'auth is supported as "http-request auth [realm R] if !{ http_auth(<userlist>) }" (or unless { http_auth… }), optionally with other ACLs');
  }
  const rest = (text.slice(0, m.index) + ' ' + text.slice(m.index + m[0].length)).trim();
  const cfg: Obj = { userlist: m[3] };
  if (realm !== undefined) cfg.realm = realm;
  if (m[2] === 'http_auth_group') {
    const groups = m[4]!.trim().split(/\s+/).filter((x) => x !== '' && !x.startsWith('-'));
    if (groups.length > 0) cfg.groups = groups;
  }
  if (rest !== '') {
    if (kw !== 'if') return ad.problem(d.line, d.words.join(' '), 'auth with "unless" may only test http_auth(...)');
    cfg.if = boolInline(rest);
  }
  ad.use(P('basic-auth'));
  ad.use(P('acl'));
  ad.set(['frontends', ctx.feName!, 'basicAuth'], cfg, d.line);
}

