/**
 * HAProxy's CLI line protocol (the stats socket): one request line holds one or more
 * commands separated by `;`; words are separated by blanks; a backslash escapes the next
 * character (`\;`, `\ `). A line ending in `<<` carries a payload: the lines after it, up
 * to an empty line. Each command's answer is followed by an empty line ("\n"), or by the
 * prompt "\n> " in interactive mode (`prompt`). Without `prompt`, the connection closes
 * after the first request line.
 */

export interface CliRequest {
  /** The commands of the line, each as words. */
  commands: string[][];
  /** Text after `<<` up to the empty line (only the last command gets it). */
  payload?: string;
}

/** Splits one request line into commands and words (HAProxy's cli_parse_request). */
export function splitCommands(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let cur = '';
  let inWord = false;
  const endWord = (): void => {
    if (inWord) words.push(cur);
    cur = '';
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === ';') {
      endWord();
      if (words.length > 0) commands.push(words);
      words = [];
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else {
      cur += c;
      inWord = true;
    }
  }
  endWord();
  if (words.length > 0) commands.push(words);
  return commands;
}

/**
 * Reassembles request lines from a byte stream: `push` data, get complete requests back.
 * A line ending with `<<` waits for its payload's terminating empty line.
 */
export class RequestReader {
  #buf = '';
  #pending: { line: string; payload: string[] } | null = null;
  /** Longest request (line plus payload) accepted, in characters. */
  constructor(readonly maxLength = 1024 * 1024) {}

  push(data: string): { requests: CliRequest[]; overflow: boolean } {
    this.#buf += data;
    const requests: CliRequest[] = [];
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) !== -1) {
      const raw = this.#buf.slice(0, nl).replace(/\r$/, '');
      this.#buf = this.#buf.slice(nl + 1);
      if (this.#pending) {
        if (raw === '') {
          requests.push({ commands: splitCommands(this.#pending.line), payload: this.#pending.payload.join('\n') });
          this.#pending = null;
        } else this.#pending.payload.push(raw);
        continue;
      }
      const m = /^(.*?)\s*<<$/.exec(raw);
      if (m) {
        this.#pending = { line: m[1]!, payload: [] };
        continue;
      }
      requests.push({ commands: splitCommands(raw) });
    }
    return { requests, overflow: this.#buf.length > this.maxLength };
  }
}
