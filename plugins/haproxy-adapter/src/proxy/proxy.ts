import { parseSize } from '@switchyard/sdk';
import { AdaptModel, P, aliases, boolInline, withBool, type Ctx, type KeyPath, type Obj } from '../model';
import { joinWords, type Directive, type Section } from '../parse';
import { balance, compression, cookie, stats } from './backend';
import { runContributed } from '../contributed';
import { bind } from './bind';
import { errorfile, errorfiles } from './errors';
import { httpCheck, option } from './options';
import { httpRequest, httpResponse, tcpRequest } from './rules';
import { server } from './server';
import { logTargetOf } from '../sections/global';

export function proxy(ad: AdaptModel, s: Section, inherited: Directive[]): void {
  const ctx: Ctx = { section: s, fromDefaults: false, defaultServer: [], logEnabled: false, compression: false, maxqueueFromServers: 0 };
  if (s.kind === 'frontend' || s.kind === 'listen') {
    ctx.feName = s.name;
    ctx.fe = {};
    ad.set(['frontends', s.name], ctx.fe, s.line);
  }
  const hasServers = s.directives.some((d) => d.words[0] === 'server' || d.words[0] === 'server-template');
  if (s.kind === 'backend' || (s.kind === 'listen' && hasServers)) {
    ctx.beName = s.name;
    ctx.be = {};
    ad.set(['backends', s.name], ctx.be, s.line);
    ad.set(['backends', s.name, 'servers'], [], s.line);
  }
  // HAProxy's default mode is tcp, Switchyard's http: always say which.
  if (ctx.fe) ad.set(['frontends', s.name, 'mode'], 'tcp', s.line);
  if (ctx.be) ad.set(['backends', s.name, 'mode'], 'tcp', s.line);
  if (s.kind === 'listen' && ctx.fe && ctx.be) ad.set(['frontends', s.name, 'defaultBackend'], s.name, s.line);
  if (s.kind === 'listen' && s.extra.length > 0) bind(ad, { words: ['bind', ...s.extra], line: s.line }, ctx);

  ctx.fromDefaults = true;
  for (const d of inherited) directive(ad, d, ctx);
  ctx.fromDefaults = false;
  for (const d of s.directives) directive(ad, d, ctx);
  closeProxy(ad, ctx);
}

/** One directive of a frontend/backend/listen (or inherited from defaults). */
export function directive(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const w = d.words;
  const k = w[0]!;
  const hasFe = ctx.fe !== undefined;
  const hasBe = ctx.be !== undefined;
  const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
  const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
  /** A directive in the wrong kind of section: fine when inherited from defaults. */
  const notHere = (why: string): void => {
    if (!ctx.fromDefaults) ad.problem(d.line, w.join(' '), why);
  };
  const own = ad.contributed('proxy', k);
  if (own) {
    if (k === 'stick-table') ctx.stickTable = { words: w.slice(1), line: d.line }; // `stick on` reads its expire too
    runContributed(ad, own, { d, ctx });
    return;
  }
  if (k === 'http-after-response' || k === 'tcp-response') {
    const { head, cond } = ad.splitCond(w.slice(1));
    const kw = k === 'tcp-response' ? `${head[0] ?? ''} ${(head[1] ?? '').replace(/\(.*$/, '')}` : (head[0] ?? '').replace(/\(.*$/, '');
    const rule = ad.contributed(k, kw);
    if (!rule) return ad.problem(d.line, w.join(' '), `${k} ${kw} is not supported`);
    const list = k === 'tcp-response' ? 'tcpResponse' : 'httpAfterResponse';
    const addRule = (r: Obj): void => {
      if (ctx.feName) ad.push(['frontends', ctx.feName, list], r, d.line);
      else if (ctx.beName) ad.push(['backends', ctx.beName, list], r, d.line);
    };
    runContributed(ad, rule, { d, ctx, args: head.slice(k === 'tcp-response' ? 2 : 1), condition: cond, addRule });
    return;
  }
  switch (k) {
    case 'mode': {
      const m = w[1];
      if (m !== 'http' && m !== 'tcp') return ad.problem(d.line, w.join(' '), 'mode must be http or tcp');
      if (hasFe) ad.set(fe('mode'), m, d.line);
      if (hasBe) ad.set(be('mode'), m, d.line);
      return;
    }
    case 'bind':
      if (!hasFe) return notHere('bind belongs in a frontend or listen section');
      return bind(ad, d, ctx);
    case 'maxconn': {
      if (!hasFe) return notHere('maxconn in a backend has no meaning (use server maxconn)');
      const n = ad.int(w[1], d);
      if (n !== undefined) ad.set(fe('maxconn'), n, d.line);
      return;
    }
    case 'fullconn':
      return ad.warn(d.line, '"fullconn" ignored: it only scales dynamic maxconn (minconn), which is not supported');
    case 'timeout':
      return timeout(ad, d, ctx);
    case 'retries': {
      if (!hasBe) return notHere('retries belongs in a backend');
      const n = ad.int(w[1], d);
      if (n === undefined) return;
      ad.use(P('retries'));
      ad.set(be('retries', 'count'), n, d.line);
      return;
    }
    case 'retry-on': {
      if (!hasBe) return notHere('retry-on belongs in a backend');
      ad.use(P('retries'));
      const list = w.slice(1);
      if (list.includes('none')) ad.set(be('retries', 'count'), 0, d.line);
      else ad.set(be('retries', 'retryOn'), list, d.line);
      return;
    }
    case 'option':
    case 'no':
      return option(ad, d, ctx);
    case 'http-check':
      return httpCheck(ad, d, ctx);
    case 'balance':
      if (!hasBe) return notHere('balance belongs in a backend');
      return balance(ad, d, ctx);
    case 'hash-type': {
      if (!hasBe) return notHere('hash-type belongs in a backend');
      const t = w[1];
      if (t !== 'map-based' && t !== 'consistent') return ad.problem(d.line, w.join(' '), 'hash-type must be map-based or consistent');
      ad.set(be('hashType'), t, d.line);
      // hash-type <method> [<function> [<modifier>]]: HAProxy's functions, the same placement.
      const fn = w[2];
      if (fn !== undefined) {
        if (!['sdbm', 'djb2', 'wt6', 'crc32'].includes(fn)) return ad.problem(d.line, w.join(' '), `hash function "${fn}" is not supported (sdbm, djb2, wt6, crc32)`);
        ad.set(be('hashFunction'), fn, d.line);
      }
      if (w[3] === 'avalanche') ad.set(be('hashAvalanche'), true, d.line);
      else if (w[3] !== undefined) return ad.problem(d.line, w.join(' '), `hash-type modifier "${w[3]}" is not supported (avalanche)`);
      return;
    }
    case 'server':
      if (!hasBe) return notHere('server belongs in a backend');
      return server(ad, d, ctx);
    case 'server-template': {
      // server-template <prefix> <num|low-high> <fqdn>[:port] [params]: one server per slot
      if (!hasBe) return notHere('server-template belongs in a backend');
      const [, prefix, count, addr, ...params] = w;
      const range = /^(\d+)(?:-(\d+))?$/.exec(count ?? '');
      if (!prefix || !range || !addr) return ad.problem(d.line, w.join(' '), 'server-template needs a prefix, a count (or low-high) and an address');
      const low = range[2] === undefined ? 1 : Number(range[1]);
      const high = range[2] === undefined ? Number(range[1]) : Number(range[2]);
      if (!(high >= low) || high - low > 1023) return ad.problem(d.line, w.join(' '), 'server-template: bad count');
      // With `resolvers`, @switchyard/plugin-resolvers gives each slot one address of the DNS answer.
      const resolved = [...ctx.defaultServer.map((x) => x.words), params].some((ws) => ws.includes('resolvers'));
      if (!resolved) ad.warn(d.line, `server-template ${prefix} approximated: its ${high - low + 1} servers all connect to ${addr} as the system resolver answers (add "resolvers <section>" for one address of the DNS answer each)`);
      for (let n = low; n <= high; n++) server(ad, { words: ['server', `${prefix}${n}`, addr, ...params], line: d.line }, ctx);
      return;
    }
    case 'default-server':
      if (!hasBe) return;
      ctx.defaultServer.push(d);
      return;
    case 'cookie':
      if (!hasBe) return notHere('cookie belongs in a backend');
      return cookie(ad, d, ctx);
    case 'acl': {
      if (!hasFe && !hasBe) return notHere('acl belongs in a frontend, listen or backend section');
      const name = w[1];
      if (!name || w.length < 3) {
        if (name && !ctx.fromDefaults) ad.droppedAcls.set(name, d.line);
        return ad.problem(d.line, w.join(' '), 'acl needs a name and a criterion');
      }
      ad.use(P('acl'));
      const line = withBool(aliases(joinWords(w.slice(2))));
      // a backend's ACLs are its own (its rules' conditions see them, a frontend's do not)
      const at = hasFe ? fe('acls', name) : ['backends', ctx.beName!, 'acls', name];
      const prev = ad.get(at);
      if (prev === undefined) ad.set(at, line, d.line);
      else ad.set(at, [...(Array.isArray(prev) ? prev : [prev]), line], d.line);
      return;
    }
    case 'use_backend': {
      if (!hasFe) return notHere('use_backend belongs in a frontend');
      const target = w[1];
      if (!target) return ad.problem(d.line, w.join(' '), 'use_backend needs a backend name');
      if (target.includes('%[')) return ad.problem(d.line, w.join(' '), 'dynamic backend names are not supported (use a map: frontends.<f>.useBackend[].map)');
      const rule: Obj = { backend: target, ...ad.cond(w.slice(2), d) };
      ad.use(P('acl'));
      ad.push(fe('useBackend'), rule, d.line);
      return;
    }
    case 'default_backend':
      if (!hasFe) return notHere('default_backend belongs in a frontend');
      ad.set(fe('defaultBackend'), w[1], d.line);
      return;
    case 'http-request':
      return httpRequest(ad, d, ctx);
    case 'http-response':
      return httpResponse(ad, d, ctx);
    case 'tcp-request':
      return tcpRequest(ad, d, ctx);
    case 'stick-table':
      ctx.stickTable = { words: w.slice(1), line: d.line };
      return;
    case 'stick': {
      if (!hasBe) return notHere('stick belongs in a backend');
      if (w[1] !== 'on' || !w[2] || w.length > 3) return ad.problem(d.line, w.join(' '), 'only "stick on <fetch>" is supported (no match/store rules, no conditions)');
      ctx.stickOn = { key: aliases(w[2]), line: d.line };
      return;
    }
    case 'compression':
      return compression(ad, d, ctx);
    case 'stats':
      return stats(ad, d, ctx);
    case 'log':
      if (w[1] === 'global') {
        ctx.logEnabled = true;
        return;
      }
      logTargetOf(ad, d);
      ctx.logEnabled = true;
      return;
    case 'log-format': {
      if (!hasFe) {
        if (!ctx.fromDefaults) ad.warn(d.line, '"log-format" in a backend ignored: HAProxy, too, logs with the frontend\'s format');
        return;
      }
      ctx.logOption = { format: 'custom', template: w.slice(1).join(' '), line: d.line };
      return;
    }
    case 'monitor-uri':
      if (!hasFe) return notHere('monitor-uri belongs in a frontend');
      ad.use(P('monitor'));
      ad.set(fe('monitorUri'), w[1], d.line);
      return;
    case 'monitor': {
      if (!hasFe) return notHere('monitor belongs in a frontend');
      if (w[1] !== 'fail' || w[2] !== 'if' || w.length < 4) return ad.problem(d.line, w.join(' '), 'only "monitor fail if <condition>" is supported');
      ad.use(P('monitor'));
      ad.set(fe('monitorFail'), boolInline(aliases(joinWords(w.slice(3)))), d.line);
      return;
    }
    case 'redirect': {
      // the pre-http-request form: redirect location|prefix|scheme X [code N] [if|unless cond]
      if (!hasFe) return notHere('redirect belongs in a frontend');
      return httpRequest(ad, { words: ['http-request', ...w], line: d.line }, ctx);
    }
    case 'capture':
      return ad.warn(d.line, `"${w.slice(0, 3).join(' ')}" ignored: captured headers are not logged (use %[req.hdr(name)] in log-format)`);
    case 'http-reuse':
      return ad.warn(d.line, '"http-reuse" ignored: the HTTP forwarder keeps and reuses idle server connections itself');
    case 'description':
      return;
    case 'id':
      return;
    case 'filter': {
      // the filters HAProxy needs declared explicitly are implied here by the rules using them
      const kind = w[1];
      if (kind === 'cache') return ad.warn(d.line, `"filter cache ${w[2] ?? ''}" implied: http-request cache-use / http-response cache-store enable the cache`);
      if (kind === 'compression') return ad.warn(d.line, '"filter compression" implied: the compression lines enable compression');
      if (kind === 'spoe') {
        // taught by @switchyard/plugin-spoe (haproxy.directive `proxy filter spoe`)
        const spoe = ad.contributed('proxy', 'filter spoe');
        if (spoe) return void runContributed(ad, spoe, { d, ctx });
        return ad.problem(d.line, w.join(' '), 'SPOE (filter spoe) needs @switchyard/plugin-spoe');
      }
      if (kind === 'trace') return ad.warn(d.line, '"filter trace" ignored: use --log-level debug');
      return ad.problem(d.line, w.join(' '), `filter ${kind ?? ''} is not supported (cache, compression, trace are implied or ignored)`);
    }
    case 'errorfile':
      return errorfile(ad, d, ctx);
    case 'errorfiles':
      return errorfiles(ad, d, ctx);
    default:
      ad.problem(d.line, w.join(' '), `unknown directive "${k}"`);
  }
}

export function timeout(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const [, what, v] = d.words;
  const feKeys: Record<string, string> = { client: 'client', 'http-request': 'httpRequest', 'http-keep-alive': 'keepAlive' };
  const beKeys: Record<string, string> = { connect: 'connect', server: 'server', queue: 'queue', tunnel: 'tunnel' };
  const val = ad.duration(v, d);
  if (val === undefined) return;
  if (what === 'check') {
    if (ctx.be) ctx.checkTimeout = { value: val, line: d.line };
    return;
  }
  if (what === 'client-fin' || what === 'server-fin' || what === 'tarpit') {
    ad.warn(d.line, `"timeout ${what}" ignored: half-closed connections follow the client and server timeouts`);
    return;
  }
  const fk = feKeys[what ?? ''];
  const bk = beKeys[what ?? ''];
  if (fk === undefined && bk === undefined) return ad.problem(d.line, d.words.join(' '), `unknown timeout "${what}"`);
  if (fk !== undefined && ctx.fe) ad.set(['frontends', ctx.feName!, 'timeouts', fk], val, d.line);
  if (bk !== undefined && ctx.be) ad.set(['backends', ctx.beName!, 'timeouts', bk], val, d.line);
  if (!ctx.fromDefaults && ((fk !== undefined && !ctx.fe) || (bk !== undefined && !ctx.be))) {
    ad.warn(d.line, `"timeout ${what}" has no effect in a ${ctx.section.kind} section`);
  }
}

/** What a proxy's collected options turn into once all its lines are read. */
export function closeProxy(ad: AdaptModel, ctx: Ctx): void {
  for (const fn of ctx.closers ?? []) fn();
  const s = ctx.section;
  if (ctx.be) {
    const be = (...p: KeyPath): KeyPath => ['backends', ctx.beName!, ...p];
    const servers = ad.get(be('servers')) as Obj[];
    const anyCheck = servers.some((x) => x.check !== false);
    const anyAgent = servers.some((x) => x.agentCheck !== undefined);
    if (anyCheck || ctx.httpchk) {
      const line = ctx.httpchk?.line ?? s.line;
      const hc: Obj = { type: ctx.httpchk ? 'http' : 'tcp' };
      if (ctx.httpchk) {
        const http: Obj = {};
        if (ctx.httpchk.method) http.method = ctx.httpchk.method;
        if (ctx.httpchk.path) http.path = ctx.httpchk.path;
        if (ctx.httpchk.host) http.host = ctx.httpchk.host;
        if (ctx.httpchk.headers) http.headers = ctx.httpchk.headers;
        if (ctx.httpExpect) http.expect = ctx.httpExpect.value;
        hc.http = http;
      }
      if (ctx.checkTimeout) hc.timeout = ctx.checkTimeout.value;
      if (ad.jitter !== undefined) hc.jitter = ad.jitter;
      if (anyCheck) {
        ad.use(P('health-check'));
        ad.set(be('healthCheck'), hc, line);
      }
    } else {
      for (const x of servers) delete x.check;
    }
    if (!anyCheck) for (const x of servers) delete x.check;
    void anyAgent;
    if (ctx.maxqueueFromServers > 0) ad.set(be('maxqueue'), ctx.maxqueueFromServers, s.line);
    if (ctx.stickOn) {
      const st: Obj = { key: ctx.stickOn.key };
      const t = ctx.stickTable?.words ?? [];
      for (let i = 0; i < t.length; i++) {
        if (t[i] === 'expire') st.expire = ad.duration(t[++i], { words: t, line: ctx.stickTable!.line });
        else if (t[i] === 'size') {
          const n = parseSize(t[++i]!.replace(/k$/i, '000').replace(/m$/i, '000000'));
          if (n !== undefined) st.size = n;
        }
      }
      ad.use(P('stickiness'));
      if (ctx.stickOn.key !== 'src') ad.use(P('acl'));
      ad.set(be('stickTable'), st, ctx.stickOn.line);
    }
    if (ctx.compression && !ctx.fe) ad.compressedBackends.add(ctx.beName!);
    if (servers.length === 0 && s.kind === 'backend') ad.warn(s.line, `backend ${s.name} has no servers`);
  }
  if (ctx.fe) {
    const fe = (...p: KeyPath): KeyPath => ['frontends', ctx.feName!, ...p];
    if (ctx.compression) ad.set(fe('compression'), true, s.line);
    if (ctx.logOption && ctx.logEnabled) ad.logFrontends.push({ fe: ctx.feName!, option: ctx.logOption });
    else if (ctx.logOption && !ctx.fromDefaults) ad.warn(ctx.logOption.line, `frontend ${ctx.feName}: a log format without a "log" target logs nothing (as in HAProxy)`);
    if (ctx.stickTable && !ctx.be && !(ad.get(fe('track')) as unknown[] | undefined)?.length && !ad.contributed('proxy', 'stick-table')) {
      ad.warn(ctx.stickTable.line, 'stick-table without track-sc or stick on ignored');
    }
    if (ad.get(fe('bind')) === undefined) ad.problem(s.line, `${s.keyword} ${s.name}`, 'has no bind line');
  }
}
