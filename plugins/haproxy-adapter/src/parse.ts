import { HaproxyErrors } from './errors';

/** One directive line, split into words the way HAProxy splits them. */
export interface Directive {
  readonly words: string[];
  readonly line: number;
}

export type SectionKind = 'global' | 'defaults' | 'frontend' | 'backend' | 'listen' | 'userlist' | 'cache' | 'other';

export interface Section {
  readonly keyword: string;
  readonly kind: SectionKind;
  readonly name: string;
  /** `from <defaults>` on the section line. */
  readonly from: string | undefined;
  /** Extra words on the section line (a listen's address: `listen x 0.0.0.0:80`). */
  readonly extra: string[];
  readonly line: number;
  readonly directives: Directive[];
}

const SECTIONS: Record<string, SectionKind> = {
  global: 'global',
  defaults: 'defaults',
  frontend: 'frontend',
  backend: 'backend',
  listen: 'listen',
  userlist: 'userlist',
  cache: 'cache',
  peers: 'other',
  resolvers: 'other',
  mailers: 'other',
  program: 'other',
  'http-errors': 'other',
  ring: 'other',
  'log-forward': 'other',
  crt_store: 'other',
  'crt-store': 'other',
  traces: 'other',
};

/**
 * Splits one line into words: blanks separate words, `#` starts a comment, double quotes
 * group (with backslash escapes and `$VAR`/`${VAR}` left as written), single quotes group
 * literally, a backslash escapes the next character.
 */
export function splitWords(text: string, file: string, line: number): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#') break;
    if (c === ' ' || c === '\t' || c === '\r') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === '\\' && i + 1 < text.length) {
      cur += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = c;
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === end) {
          closed = true;
          i++;
          break;
        }
        if (end === '"' && d === '\\' && i + 1 < text.length) {
          cur += text[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (!closed) throw HaproxyErrors.SYNTAX.with({ location: { file, line } }, `unterminated ${end === '"' ? 'double' : 'single'} quote`);
      continue;
    }
    cur += c;
    i++;
  }
  if (inWord) words.push(cur);
  return words;
}

/** Cuts a haproxy.cfg into sections of directives. */
export function parseConfig(text: string, file: string, extraSections: ReadonlyArray<string> = []): Section[] {
  const sections: Section[] = [];
  let current: Section | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const words = splitWords(lines[n]!, file, n + 1);
    if (words.length === 0) continue;
    const kind = SECTIONS[words[0]!] ?? (extraSections.includes(words[0]!) ? 'other' : undefined);
    if (kind !== undefined) {
      let name = words[1] ?? '';
      let from: string | undefined;
      const extra: string[] = [];
      const rest = words.slice(2);
      if (words[0] === 'defaults' && name === 'from') {
        name = '';
        rest.unshift('from');
      }
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === 'from' && rest[i + 1] !== undefined) {
          from = rest[i + 1];
          i++;
        } else extra.push(rest[i]!);
      }
      if (['frontend', 'backend', 'listen', 'userlist', 'cache'].includes(kind) && name === '') {
        throw HaproxyErrors.SYNTAX.with({ location: { file, line: n + 1 } }, `section "${words[0]}" needs a name`);
      }
      current = { keyword: words[0]!, kind, name, from, extra, line: n + 1, directives: [] };
      sections.push(current);
      continue;
    }
    if (!current) {
      throw HaproxyErrors.SYNTAX.with({ location: { file, line: n + 1 } }, `"${words[0]}" outside of any section (global, defaults, frontend, backend, listen…)`);
    }
    current.directives.push({ words, line: n + 1 });
  }
  return sections;
}

/** Joins words back into one string, quoting those with blanks (for ACL lines and conditions). */
export function joinWords(words: ReadonlyArray<string>): string {
  return words.map((w) => (/[\s"]/.test(w) || w === '' ? `"${w.replace(/(["\\])/g, '\\$1')}"` : w)).join(' ');
}
