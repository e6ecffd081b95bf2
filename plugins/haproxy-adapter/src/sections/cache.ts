import { AdaptModel, P, type Ctx, type Obj } from '../model';
import { type Directive, type Section } from '../parse';

export function cache(ad: AdaptModel, s: Section): void {
  const obj: Obj = {};
  for (const d of s.directives) {
    const [k, a] = d.words;
    switch (k) {
      case 'total-max-size': {
        const n = ad.int(a, d);
        if (n !== undefined) obj.maxSize = `${n}mb`;
        break;
      }
      case 'max-object-size': {
        const n = ad.int(a, d);
        if (n !== undefined) obj.maxObjectSize = n;
        break;
      }
      case 'max-age':
        ad.warn(d.line, `cache "max-age" ignored: freshness comes from the response (Cache-Control, Expires, heuristic)`);
        break;
      case 'process-vary':
      case 'max-secondary-entries':
        ad.warn(d.line, `cache "${k}" ignored: Vary is always honoured`);
        break;
      default:
        ad.problem(d.line, d.words.join(' '), `unknown cache directive "${k}"`);
    }
  }
  ad.caches.set(s.name, { line: s.line, obj });
}


/** The cache section whose settings a file's gateway uses (the first one named by a rule). */
const CHOSEN = new WeakMap<AdaptModel, string>();

/**
 * `http-request cache-use <name>` / `http-response cache-store <name>`: the cache on the
 * frontend, or on the backend (looked up once it is chosen). The cache section may come later
 * in the file; frontends that use no cache get `cache: false`.
 */
export function cacheUse(ad: AdaptModel, name: string | undefined, d: Directive, ctx: Ctx): void {
  if (!name) return ad.problem(d.line, d.words.join(' '), 'cache-use/cache-store need a cache name');
  ad.use(P('cache'));
  const fe = ctx.feName;
  const be = ctx.beName;
  if (fe) ad.set(['frontends', fe, 'cache'], true, d.line);
  // in a backend: looked up once the backend is chosen, so its response rules see hits too
  else if (be) {
    ad.set(['backends', be, 'cache'], true, d.line);
    ad.set(['backends', be, 'cacheName'], name, d.line);
  }
  ad.finishers.push(() => {
    const c = ad.caches.get(name);
    if (!c) return ad.problem(d.line, d.words.join(' '), `no cache section named "${name}"`);
    const used = CHOSEN.get(ad);
    if (used !== undefined && used !== name) ad.warn(d.line, `cache "${name}": one cache per gateway, the settings of cache "${used}" apply`);
    else {
      CHOSEN.set(ad, name);
      for (const [k, v] of Object.entries(c.obj)) ad.set(['cache', k], v, c.line);
      ad.set(['cache', 'name'], name, c.line);
    }
    for (const [f, obj] of Object.entries(ad.config.frontends as Record<string, Obj>)) if (obj.cache === undefined) ad.set(['frontends', f, 'cache'], false, d.line);
  });
}
