import { parse } from 'cookie';
import { cookiePairs, cookieValue } from '@switchyard/sdk';

/** The `cookie` package's reading, raw (no URL decoding), plus RFC 6265's quoted cookie-value. */
function reference(header: string, name: string): string | undefined {
  const v = parse(header, { decode: (s: string) => s })[name];
  return v !== undefined && v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

describe('cookieValue: one Cookie parser for acl, rate-limit and stickiness', () => {
  it('reads plain, spaced and tab-separated pairs', () => {
    expect(cookieValue('a=1; b=2; c=3', 'b')).toBe('2');
    expect(cookieValue('a=1;b=2', 'b')).toBe('2');
    expect(cookieValue(' a = 1 ;\tb=\t2\t', 'b')).toBe('2');
    expect(cookieValue('a=1', 'b')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
    // A name is matched whole, not as a prefix or suffix.
    expect(cookieValue('ab=1; b=2', 'b')).toBe('2');
    expect(cookieValue('b=1', 'ab')).toBeUndefined();
  });

  it('returns a quoted value without its quotes, and keeps inner or lone quotes', () => {
    expect(cookieValue('s="v1"', 's')).toBe('v1');
    expect(cookieValue('s="a b"; t=1', 's')).toBe('a b');
    expect(cookieValue('s=""', 's')).toBe('');
    expect(cookieValue('s="', 's')).toBe('"');
    expect(cookieValue('s=a"b"', 's')).toBe('a"b"');
  });

  it('tells an empty value from an absent one', () => {
    expect(cookieValue('s=; t=1', 's')).toBe('');
    expect(cookieValue('s=', 's')).toBe('');
    expect(cookieValue('s', 's')).toBeUndefined();
    expect(cookieValue('t=1; s; u=2', 's')).toBeUndefined();
    expect(cookieValue('t=1; s; u=2', 'u')).toBe('2');
  });

  it('first occurrence wins, within one header and across repeated headers', () => {
    expect(cookieValue('s=1; s=2', 's')).toBe('1');
    expect(cookieValue(['a=0', 's=1; x=9', 's=2'], 's')).toBe('1');
    expect(cookieValue(['a=0', 'b=1'], 'b')).toBe('1');
    expect(cookieValue(['s=; t=1', 's=2'], 's')).toBe('');
    expect(cookiePairs(['a=1; b="2"', 'a=3'])).toEqual([['a', '1'], ['b', '2'], ['a', '3']]);
  });

  it('does not URL-decode (HAProxy compares raw values)', () => {
    expect(cookieValue('s=a%20b', 's')).toBe('a%20b');
  });

  it('agrees with the cookie package on generated headers', () => {
    // A small deterministic generator over the characters that matter to the grammar.
    const alphabet = ['a', 'b', 's', '=', ';', ' ', '\t', '"', '%', '1', 'é'];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const mismatches: string[] = [];
    for (let i = 0; i < 20000; i++) {
      let h = '';
      const len = rnd(16);
      for (let k = 0; k < len; k++) h += alphabet[rnd(alphabet.length)];
      for (const name of ['a', 's', 'ab']) {
        const want = reference(h, name);
        const got = cookieValue(h, name);
        if (want !== got) mismatches.push(`${JSON.stringify(h)} ${name}: cookie ${JSON.stringify(want)}, ours ${JSON.stringify(got)}`);
        // Repeated headers read as one joined with "; ".
        const split = h.split(';');
        const joined = reference(split.join('; '), name);
        const many = cookieValue(split.map((x) => x), name);
        if (split.length > 1 && !split.some((x) => x.trim() === '' || !x.includes('=')) && joined !== many) {
          mismatches.push(`${JSON.stringify(split)} ${name}: joined ${JSON.stringify(joined)}, ours ${JSON.stringify(many)}`);
        }
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
