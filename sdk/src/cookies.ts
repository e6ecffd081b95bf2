/**
 * The one Cookie-header parser of Switchyard (ACL `req.cook`, rate-limit `cookie(name)` keys,
 * stickiness). It reads a header as the `cookie` npm package's `parse` does (v1.x/2.x):
 * pairs split at `;`, name and value trimmed of spaces and tabs, the first pair of a name
 * wins, a part without `=` is skipped, `name=` is an empty value, and nothing is
 * URL-decoded (HAProxy compares raw values too). One thing more, as RFC 6265's
 * `cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )` says: a value in double
 * quotes is returned without them. Several Cookie headers (HTTP/2 sends one per pair) read
 * as one joined with `; `, in order.
 *
 * `cookieValue` scans without building a map or slicing names, so it allocates only the
 * value it returns; `test/cookies.test.ts` checks it against the `cookie` package.
 */

const SPACE = 32;
const TAB = 9;
const DQUOTE = 34;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** `s` without leading and trailing spaces and tabs (what the cookie grammar trims; not `trim()`). */
export function trimCookieBlanks(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isBlank(s.charCodeAt(a))) a++;
  while (b > a && isBlank(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Value of cookie `name` in one header string, or undefined. */
function scan(str: string, name: string): string | undefined {
  const len = str.length;
  if (len < 2) return undefined;
  let index = 0;
  do {
    const eq = str.indexOf('=', index);
    if (eq === -1) return undefined;
    let end = str.indexOf(';', index);
    if (end === -1) end = len;
    if (eq > end) {
      // This part has no `=`: go on from the last `;` before the next `=`.
      index = str.lastIndexOf(';', eq - 1) + 1;
      continue;
    }
    let ks = index;
    let ke = eq;
    while (ks < ke && isBlank(str.charCodeAt(ks))) ks++;
    while (ke > ks && isBlank(str.charCodeAt(ke - 1))) ke--;
    if (ke - ks === name.length && str.startsWith(name, ks)) {
      let vs = eq + 1;
      let ve = end;
      while (vs < ve && isBlank(str.charCodeAt(vs))) vs++;
      while (ve > vs && isBlank(str.charCodeAt(ve - 1))) ve--;
      if (ve - vs >= 2 && str.charCodeAt(vs) === DQUOTE && str.charCodeAt(ve - 1) === DQUOTE) {
        vs++;
        ve--;
      }
      return str.slice(vs, ve);
    }
    index = end + 1;
  } while (index < len);
  return undefined;
}

/**
 * The value of cookie `name` in a request's Cookie header(s): undefined when absent, `''`
 * when sent empty (`name=`). The first occurrence wins, across headers too.
 */
export function cookieValue(header: string | ReadonlyArray<string> | undefined, name: string): string | undefined {
  if (header === undefined || name === '') return undefined;
  if (typeof header === 'string') return scan(header, name);
  for (const h of header) {
    const v = scan(h, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Every `name=value` pair of the header(s), in order, duplicates kept, values as
 * `cookieValue` returns them (trimmed, quotes removed). For plugins that rewrite the header.
 */
export function cookiePairs(header: string | ReadonlyArray<string> | undefined): Array<[string, string]> {
  if (header === undefined) return [];
  const out: Array<[string, string]> = [];
  for (const str of typeof header === 'string' ? [header] : header) {
    const len = str.length;
    let index = 0;
    while (index < len) {
      const eq = str.indexOf('=', index);
      if (eq === -1) break;
      let end = str.indexOf(';', index);
      if (end === -1) end = len;
      if (eq > end) {
        index = str.lastIndexOf(';', eq - 1) + 1;
        continue;
      }
      const name = trimCookieBlanks(str.slice(index, eq));
      let value = trimCookieBlanks(str.slice(eq + 1, end));
      if (value.length >= 2 && value.charCodeAt(0) === DQUOTE && value.charCodeAt(value.length - 1) === DQUOTE) value = value.slice(1, -1);
      out.push([name, value]);
      index = end + 1;
    }
  }
  return out;
}
