import type { AdaptModel, Ctx } from '../model';
import type { Directive, Section } from '../parse';

/** Statuses the core can answer with a page of its own (core errorFiles). */
const PAGE_STATUSES = ['400', '403', '404', '408', '429', '500', '502', '503', '504'];
/** Statuses HAProxy 2.6 accepts in errorfile / http-errors. */
const HAPROXY_STATUSES = ['200', '400', '401', '403', '404', '405', '407', '408', '410', '413', '425', '429', '500', '501', '502', '503', '504'];

function setPage(ad: AdaptModel, d: Directive, ctx: Ctx, status: string, file: string): void {
  if (!HAPROXY_STATUSES.includes(status)) return ad.problem(d.line, d.words.join(' '), `errorfile: HAProxy has no error status ${status}`);
  if (!PAGE_STATUSES.includes(status)) {
    return ad.problem(d.line, d.words.join(' '), `errorfile ${status}: Switchyard answers its own errors only with ${PAGE_STATUSES.join(', ')}`);
  }
  if (ctx.feName) ad.set(['frontends', ctx.feName, 'errorFiles', status], file, d.line);
  if (ctx.beName) ad.set(['backends', ctx.beName, 'errorFiles', status], file, d.line);
}

/** `errorfile <code> <file>`: the page (HAProxy's whole-response file) the gateway answers that error with. */
export function errorfile(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const [, status, file] = d.words;
  if (!status || !file || d.words.length > 3) return ad.problem(d.line, d.words.join(' '), 'errorfile needs a status and a file');
  setPage(ad, d, ctx, status, file);
}

/** `errorfiles <http-errors name> [code ...]`: the pages of an http-errors section. */
export function errorfiles(ad: AdaptModel, d: Directive, ctx: Ctx): void {
  const [, name, ...codes] = d.words;
  const set = name === undefined ? undefined : ad.httpErrors.get(name);
  if (!set) return ad.problem(d.line, d.words.join(' '), `no http-errors section named "${name ?? ''}" before this line`);
  for (const [status, file] of Object.entries(set.pages)) {
    if (codes.length === 0 || codes.includes(status)) setPage(ad, { words: d.words, line: set.lines[status] ?? d.line }, ctx, status, file);
  }
}

/** `http-errors <name>` with `errorfile <code> <file>` lines. */
export function httpErrorsSection(ad: AdaptModel, s: Section): void {
  const pages: Record<string, string> = {};
  const lines: Record<string, number> = {};
  for (const d of s.directives) {
    const [k, status, file] = d.words;
    if (k !== 'errorfile' || !status || !file || d.words.length > 3) {
      ad.problem(d.line, d.words.join(' '), 'an http-errors section holds "errorfile <status> <file>" lines');
      continue;
    }
    pages[status] = file;
    lines[status] = d.line;
  }
  ad.httpErrors.set(s.name, { pages, lines });
}
