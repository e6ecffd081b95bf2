/** One word of a condition or ACL line; `quoted` words are never operators or braces. */
export interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * Splits a condition into words as HAProxy does: whitespace separates, '…' and "…" quote
 * (a backslash escapes the next character inside double quotes and outside quotes), and
 * `{` / `}` are split off the start / end of a word so `{path_beg /x}` reads like `{ path_beg /x }`.
 * Returns an error message instead of throwing.
 */
export function tokenize(text: string): Token[] | string {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    let word = '';
    let quoted = false;
    while (i < n) {
      const ch = text[i]!;
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') break;
      if (ch === "'") {
        const end = text.indexOf("'", i + 1);
        if (end === -1) return `unterminated ' quote at column ${i + 1}`;
        word += text.slice(i + 1, end);
        quoted = true;
        i = end + 1;
        continue;
      }
      if (ch === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const d = text[i]!;
          if (d === '\\' && i + 1 < n) {
            word += text[i + 1];
            i += 2;
            continue;
          }
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          word += d;
          i++;
        }
        if (!closed) return 'unterminated " quote';
        quoted = true;
        continue;
      }
      if (ch === '\\' && i + 1 < n) {
        word += text[i + 1];
        i += 2;
        continue;
      }
      word += ch;
      i++;
    }
    if (!quoted && word.length > 1 && word.startsWith('{')) {
      out.push({ text: '{', quoted: false });
      word = word.slice(1);
    }
    if (!quoted && word.length > 1 && word.endsWith('}')) {
      out.push({ text: word.slice(0, -1), quoted: false });
      out.push({ text: '}', quoted: false });
      continue;
    }
    out.push({ text: word, quoted });
  }
  return out;
}

/** Finds the matching `)` of a fetch call such as `hdr(x-forwarded-for)` in one word. */
export function splitCall(word: string): { name: string; arg: string | undefined; rest: string } | undefined {
  const m = /^([A-Za-z0-9_.]+)(?:\(([^()]*)\))?(.*)$/s.exec(word);
  if (!m) return undefined;
  return { name: m[1]!, arg: m[2], rest: m[3] ?? '' };
}
