import { FETCH_SLOT } from '@switchyard/sdk';
import { CONVERTER_SLOT, MATCH_SLOT } from '@switchyard/plugin-acl/contract';
import { AdaptModel, P, type Obj } from './model';

export function finish(ad: AdaptModel): void {
  for (const fn of ad.finishers) fn();
  useSamplePlugins(ad);
  if (ad.statsRealm && ad.get(['stats', 'auth', 'username']) !== undefined) ad.set(['stats', 'auth', 'realm'], ad.statsRealm.realm, ad.statsRealm.line);
  else if (ad.statsRealm) ad.warn(ad.statsRealm.line, '"stats realm" ignored: without "stats auth" the page asks for no password');
  if (Object.keys(ad.config.frontends as Record<string, Obj>).length === 0) {
    // HAProxy 2.6: "Configuration file has no error but will not start (no listener)" (exit 2)
    ad.problem(1, '(whole file)', 'no frontend or listen section: HAProxy refuses to start a configuration without a listener');
  }
  // Only the plugins the file uses: the forwarders of the modes it has, the default balancer.
  const modes = new Set<unknown>([...Object.values(ad.config.frontends as Record<string, Obj>), ...Object.values(ad.config.backends as Record<string, Obj>)].map((x) => x.mode));
  if (modes.has('http')) ad.use(P('http-forwarder'));
  if (modes.has('tcp')) ad.use(P('tcp-forwarder'));
  if (Object.values(ad.config.backends as Record<string, Obj>).some((b) => b.balance === undefined || b.balance === 'roundrobin')) ad.use(P('roundrobin'));
  // Rules of a backend run after the backend is chosen. They become rules of the frontends
  // that reach it, which is exact when such a frontend reaches no other backend.
  for (const [b, rules] of ad.backendRules) {
    const reaching: Array<[string, Set<string>]> = [];
    for (const [name, f] of Object.entries(ad.config.frontends as Record<string, Obj>)) {
      const reach = new Set<string>(((f.useBackend as Obj[] | undefined) ?? []).map((r) => String(r.backend)));
      if (f.defaultBackend !== undefined) reach.add(String(f.defaultBackend));
      if (reach.has(b)) reaching.push([name, reach]);
    }
    const ownAcls = (ad.config.backends as Record<string, Obj>)[b]?.acls !== undefined;
    if (ownAcls || reaching.some(([, reach]) => reach.size > 1 || [...reach].some((x) => x.includes('%[')))) {
      // a frontend also routes elsewhere, or the conditions name the backend's own ACLs: the
      // rules stay the backend's, run once it is chosen
      for (const r of rules) ad.push(['backends', b, r.kind], { ...r.rule }, r.line);
      continue;
    }
    // each frontend reaching it reaches only it: the rules run with the frontend's (earlier, same effect)
    for (const [name] of reaching) for (const r of rules) ad.push(['frontends', name, r.kind], { ...r.rule }, r.line);
  }
  // Readable output: a backend's mode and policy first, its servers last.
  for (const [name, b] of Object.entries(ad.config.backends as Record<string, Obj>)) {
    const { mode, balance, servers, ...rest } = b;
    (ad.config.backends as Record<string, Obj>)[name] = { mode, ...(balance !== undefined ? { balance } : {}), ...rest, servers };
  }
  // compression declared in a backend: enable it on the frontends that can reach it
  if (ad.get(['compression']) !== undefined) {
    // only the frontends whose own or reached backend's section asks for compression compress
    for (const f of Object.values(ad.config.frontends as Record<string, Obj>)) if (f.compression === undefined && f.mode === 'http') f.compression = false;
  }
  for (const b of ad.compressedBackends) {
    for (const [name, f] of Object.entries(ad.config.frontends as Record<string, Obj>)) {
      const rules = (f.useBackend as Obj[] | undefined) ?? [];
      if (f.defaultBackend === b || rules.some((r) => r.backend === b)) {
        f.compression = true;
        ad.warn(ad.lines.get(JSON.stringify(['backends', b])) ?? 1, `compression of backend ${b} applies to all of frontend ${name}`);
      }
    }
  }
  if (ad.logFrontends.length > 0) {
    if (!ad.logTarget) ad.warn(1, 'log format given but no log target: access log goes to stdout');
    ad.use(P('access-log'));
    const line = ad.logFrontends[0]!.option.line;
    const al: Obj = { ...(ad.logTarget?.obj ?? { output: 'stdout' }) };
    // HAProxy's tag unless log-tag says otherwise: syslog rules that match on it keep working
    if (al.syslog) al.syslog = { ...(al.syslog as Obj), tag: ad.logTag ?? 'haproxy' };
    const formats = new Set(ad.logFrontends.map((x) => (x.option.format === 'custom' ? `custom:${x.option.template}` : 'auto')));
    if (formats.size > 1) ad.warn(line, 'different log formats per frontend are not supported: the first one applies to all');
    const first = ad.logFrontends[0]!.option;
    al.format = first.format === 'custom' ? 'custom' : 'auto';
    if (first.format === 'custom') al.template = first.template;
    al.frontends = ad.logFrontends.map((x) => x.fe);
    ad.set(['accessLog'], al, line);
  }
}

/** Keys whose string values are conditions or sample expressions. */
const EXPRESSION_KEYS = new Set(['if', 'unless', 'key', 'hashKey', 'acls', 'monitorFail']);

/**
 * The plugins behind the fetches, converters and matchers the adapted config names (in
 * conditions, ACLs, keys and %[…] expressions): loaded too, since the config lists only the
 * plugins it uses.
 */
function useSamplePlugins(ad: AdaptModel): void {
  const slots = ad.slots;
  if (!slots?.ownerOf) return;
  const texts: string[] = [];
  const walk = (v: unknown, key: string | undefined): void => {
    if (typeof v === 'string') {
      if (key !== undefined && EXPRESSION_KEYS.has(key)) texts.push(v);
      for (const m of v.matchAll(/%\[([^\]]*)\]/g)) texts.push(m[1]!);
    } else if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, key === 'acls' ? 'acls' : k);
  };
  walk(ad.config.frontends, undefined);
  walk(ad.config.backends, undefined);
  const words = new Set<string>();
  for (const t of texts) for (const m of t.matchAll(/[A-Za-z_][A-Za-z0-9_.]*/g)) words.add(m[0]);
  for (const slot of [FETCH_SLOT, CONVERTER_SLOT, MATCH_SLOT] as string[]) {
    for (const w of words) {
      const owner = slots.get(slot, w) !== undefined ? slots.ownerOf(slot, w) : undefined;
      if (owner !== undefined && owner !== '@switchyard/core') ad.use(owner);
    }
  }
}

/** The ACL names a condition refers to (words outside `{ … }`, without `!`). */
function aclNamesIn(cond: string): string[] {
  const out: string[] = [];
  const outside = cond.replace(/\{[^{}]*\}/g, ' ');
  for (const w of outside.split(/\s+/)) {
    const n = w.replace(/^!/, '');
    if (n !== '' && !['or', '||', 'and', '&&'].includes(n)) out.push(n);
  }
  return out;
}

/**
 * --lenient never leaves a dangling reference: a rule whose condition names an ACL the adapter
 * dropped, a useBackend rule or defaultBackend naming a backend that is not there, go too,
 * each with a warning naming what it depended on.
 */
export function dropDangling(ad: AdaptModel): void {
  const frontends = ad.config.frontends as Record<string, Obj>;
  const backends = ad.config.backends as Record<string, Obj>;
  const lineOf = (p: Array<string | number>): number => ad.lines.get(JSON.stringify(p)) ?? 1;
  for (const [fname, fe] of Object.entries(frontends)) {
    const defined = new Set(Object.keys((fe.acls as Obj | undefined) ?? {}));
    const missing = (rule: Obj): string | undefined => {
      for (const key of ['if', 'unless'] as const) {
        const c = rule[key];
        if (typeof c !== 'string') continue;
        const gone = aclNamesIn(c).find((n) => ad.droppedAcls.has(n) && !defined.has(n));
        if (gone !== undefined) return `ACL ${gone} (line ${ad.droppedAcls.get(gone)}) was not taken`;
      }
      return undefined;
    };
    const prune = (path: Array<string | number>, list: unknown, extra?: (r: Obj) => string | undefined): void => {
      if (!Array.isArray(list)) return;
      for (let i = list.length - 1; i >= 0; i--) {
        const r = list[i] as Obj;
        const why = missing(r) ?? extra?.(r);
        if (why === undefined) continue;
        ad.warn(lineOf([...path, i]), `dropped ${path.slice(2).join('.')}[${i}] of frontend ${fname}: ${why}`);
        list.splice(i, 1);
      }
    };
    prune(['frontends', fname, 'httpRequest'], fe.httpRequest);
    prune(['frontends', fname, 'httpResponse'], fe.httpResponse);
    prune(['frontends', fname, 'track'], fe.track);
    const tcp = fe.tcpRequest as Obj | undefined;
    if (tcp) {
      prune(['frontends', fname, 'tcpRequest', 'connection'], tcp.connection);
      prune(['frontends', fname, 'tcpRequest', 'content'], tcp.content);
    }
    prune(['frontends', fname, 'useBackend'], fe.useBackend, (r) =>
      typeof r.backend === 'string' && !r.backend.includes('%[') && backends[r.backend] === undefined ? `backend ${r.backend} is not there` : undefined,
    );
    if (typeof fe.defaultBackend === 'string' && backends[fe.defaultBackend] === undefined) {
      ad.warn(lineOf(['frontends', fname, 'defaultBackend']), `dropped default_backend of frontend ${fname}: backend ${fe.defaultBackend} is not there`);
      delete fe.defaultBackend;
    }
  }
}
