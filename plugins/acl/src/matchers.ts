import { AddressSet } from '@switchyard/sdk';
import type { ConverterDefinition, MatchDefinition, Sample } from './types';
import type { FetchValue } from '@switchyard/sdk';

const str = (v: Sample): string => (typeof v === 'string' ? v : String(v));

function m(description: string, compile: MatchDefinition['compile'], noPatterns = false, compileString?: MatchDefinition['compileString']): MatchDefinition {
  return Object.freeze({ description, compile, noPatterns, ...(compileString ? { compileString } : {}) });
}

/** A string test without conversions: one pattern is compared directly, several in a loop. */
function direct(test: (value: string, pat: string) => boolean): MatchDefinition['compileString'] {
  return (patterns, { ignoreCase }) => {
    const pats = ignoreCase ? patterns.map((p) => p.toLowerCase()) : [...patterns];
    if (pats.length === 1) {
      const p = pats[0]!;
      return ignoreCase ? (v) => test(v.toLowerCase(), p) : (v) => test(v, p);
    }
    return (v) => {
      const s = ignoreCase ? v.toLowerCase() : v;
      for (const p of pats) if (test(s, p)) return true;
      return false;
    };
  };
}

/** True when `pat` occurs in `value` bounded on both sides by the start/end or a delimiter. */
function delimited(value: string, pat: string, delims: string): boolean {
  if (pat === '') return false;
  let from = 0;
  for (;;) {
    const i = value.indexOf(pat, from);
    if (i === -1) return false;
    const before = i === 0 || delims.includes(value[i - 1]!);
    const j = i + pat.length;
    const after = j === value.length || delims.includes(value[j]!);
    if (before && after) return true;
    from = i + 1;
  }
}

type Range = { lo: number; hi: number };

/** `80`, `80:90`, `:1024`, `1024:`, or `gt 5` / `ge` / `lt` / `le` / `eq` followed by a number. */
function parseRanges(patterns: ReadonlyArray<string>): Range[] {
  const out: Range[] = [];
  const num = (s: string): number => {
    if (!/^-?\d+$/.test(s)) throw new Error('not an integer');
    return Number(s);
  };
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i]!;
    const op = p.toLowerCase();
    if (op === 'gt' || op === 'ge' || op === 'lt' || op === 'le' || op === 'eq') {
      const next = patterns[++i];
      if (next === undefined) throw new Error(`${op} needs a number after it`);
      const n = num(next);
      out.push(op === 'gt' ? { lo: n + 1, hi: Infinity } : op === 'ge' ? { lo: n, hi: Infinity } : op === 'lt' ? { lo: -Infinity, hi: n - 1 } : op === 'le' ? { lo: -Infinity, hi: n } : { lo: n, hi: n });
      continue;
    }
    const colon = p.indexOf(':');
    if (colon === -1) {
      const n = num(p);
      out.push({ lo: n, hi: n });
    } else {
      const a = p.slice(0, colon);
      const b = p.slice(colon + 1);
      out.push({ lo: a === '' ? -Infinity : num(a), hi: b === '' ? Infinity : num(b) });
    }
  }
  return out;
}

function toInt(v: Sample): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (!/^\s*-?\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

function rangeTest(ranges: Range[]): (n: number) => boolean {
  if (ranges.length === 1) {
    const { lo, hi } = ranges[0]!;
    return (n) => n >= lo && n <= hi;
  }
  return (n) => {
    for (const r of ranges) if (n >= r.lo && n <= r.hi) return true;
    return false;
  };
}

function stringMatcher(test: (value: string, pat: string) => boolean): MatchDefinition['compile'] {
  return (patterns, { ignoreCase }) => {
    const pats = ignoreCase ? patterns.map((p) => p.toLowerCase()) : [...patterns];
    if (pats.length === 1) {
      const p = pats[0]!;
      return ignoreCase ? (v) => test(str(v).toLowerCase(), p) : (v) => test(str(v), p);
    }
    return (v) => {
      const s = ignoreCase ? str(v).toLowerCase() : str(v);
      for (const p of pats) if (test(s, p)) return true;
      return false;
    };
  };
}

/** The match methods this plugin registers in the `acl.match` slot. */
export const MATCHERS: Readonly<Record<string, MatchDefinition>> = Object.freeze({
  str: m(
    'Exact string match (a hash set lookup).',
    (patterns, { ignoreCase }) => {
      if (patterns.length === 1) {
        const p = ignoreCase ? patterns[0]!.toLowerCase() : patterns[0]!;
        return ignoreCase ? (v) => str(v).toLowerCase() === p : (v) => str(v) === p;
      }
      const set = new Set(ignoreCase ? patterns.map((p) => p.toLowerCase()) : patterns);
      return ignoreCase ? (v) => set.has(str(v).toLowerCase()) : (v) => set.has(str(v));
    },
    false,
    (patterns, { ignoreCase }) => {
      if (patterns.length === 1) {
        const p = ignoreCase ? patterns[0]!.toLowerCase() : patterns[0]!;
        return ignoreCase ? (v) => v.toLowerCase() === p : (v) => v === p;
      }
      const set = new Set(ignoreCase ? patterns.map((p) => p.toLowerCase()) : patterns);
      return ignoreCase ? (v) => set.has(v.toLowerCase()) : (v) => set.has(v);
    },
  ),
  beg: m('The value begins with a pattern.', stringMatcher((v, p) => v.startsWith(p)), false, direct((v, p) => v.startsWith(p))),
  end: m('The value ends with a pattern.', stringMatcher((v, p) => v.endsWith(p)), false, direct((v, p) => v.endsWith(p))),
  sub: m('The value contains a pattern.', stringMatcher((v, p) => v.includes(p)), false, direct((v, p) => v.includes(p))),
  dir: m('A pattern is a slash-delimited part of the value (`/api` in `/v1/api/x`).', stringMatcher((v, p) => delimited(v, p, '/?'))),
  dom: m('A pattern is a dot-delimited part of the value (`example.com` in `www.example.com:8080`).', stringMatcher((v, p) => delimited(v, p, '/?.:'))),
  reg: m('A regular expression (JavaScript syntax, compiled once; -i adds the i flag).', (patterns, { ignoreCase }) => {
    const res = patterns.map((p) => {
      try {
        return new RegExp(p, ignoreCase ? 'i' : '');
      } catch (err) {
        throw new Error((err as Error).message);
      }
    });
    if (res.length === 1) {
      const re = res[0]!;
      return (v) => re.test(str(v));
    }
    return (v) => {
      const s = str(v);
      for (const re of res) if (re.test(s)) return true;
      return false;
    };
  }),
  len: m('The value\'s length is in an integer range (`len 0:64`).', (patterns) => {
    const t = rangeTest(parseRanges(patterns));
    return (v) => t(str(v).length);
  }),
  int: m('The value is an integer in a range: `80`, `8000:8999`, `:1023`, `1024:`, `gt 5`, `le 10`.', (patterns) => {
    const t = rangeTest(parseRanges(patterns));
    return (v) => {
      const n = toInt(v);
      return n !== undefined && t(n);
    };
  }),
  ip: m('The value is an address inside one of the CIDR blocks or equal to one of the addresses (IPv4 and IPv6; IPv4 netmasks such as 10.0.0.0/255.0.0.0 too).', (patterns) => {
    const set = new AddressSet();
    for (const p of patterns) set.add(p);
    return (v) => typeof v === 'string' && set.has(v);
  }),
  found: m('The fetch returned a value (header present, cookie set…); takes no pattern.', () => () => true, true),
  bool: m('The value is true or a non-zero number; takes no pattern.', () => (v) => v === true || (typeof v === 'number' && v !== 0) || v === 'true' || v === '1', true),
});

/** Suffixes of HAProxy's derived fetch names (`path_beg`, `hdr_dom(host)`, `hdr_val(x)`). */
export const METHOD_SUFFIXES: Readonly<Record<string, string>> = Object.freeze({
  beg: 'beg', end: 'end', sub: 'sub', dir: 'dir', dom: 'dom', reg: 'reg', len: 'len', ip: 'ip', val: 'int', str: 'str', found: 'found',
});

const conv = (description: string, arg: ConverterDefinition['arg'], compile: ConverterDefinition['compile']): ConverterDefinition =>
  Object.freeze({ description, arg, compile });

const mapValue = (v: FetchValue, f: (s: string) => string): FetchValue =>
  typeof v === 'string' ? f(v) : Array.isArray(v) ? (v as string[]).map(f) : v;

/** Converters this plugin registers in the `acl.converter` slot. */
export const CONVERTERS: Readonly<Record<string, ConverterDefinition>> = Object.freeze({
  lower: conv('Lower-cases the value.', 'none', () => (v) => mapValue(v, (s) => s.toLowerCase())),
  upper: conv('Upper-cases the value.', 'none', () => (v) => mapValue(v, (s) => s.toUpperCase())),
  url_dec: conv('Percent-decodes the value (an invalid escape leaves it as is). Decoded values may hold CR/LF: rules check before use.', 'none', () => (v) =>
    mapValue(v, (s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    }),
  ),
  first: conv('Keeps the first of several values (a header seen twice).', 'none', () => (v) => (Array.isArray(v) ? (v as string[])[0] : v)),
  last: conv('Keeps the last of several values.', 'none', () => (v) => (Array.isArray(v) ? (v as string[])[(v as string[]).length - 1] : v)),
});
