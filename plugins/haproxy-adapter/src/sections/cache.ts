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


export function cacheUse(ad: AdaptModel, name: string | undefined, d: Directive, ctx: Ctx): void {
  if (!name) return ad.problem(d.line, d.words.join(' '), 'cache-use/cache-store need a cache name');
  ad.use(P('cache'));
  ad.set(['frontends', ctx.feName!, 'cache'], true, d.line);
  const c = ad.caches.get(name);
  if (!c) return ad.problem(d.line, d.words.join(' '), `no cache section named "${name}" before this line`);
  for (const [k, v] of Object.entries(c.obj)) ad.set(['cache', k], v, c.line);
}
