import * as fs from 'node:fs';

/**
 * HAProxy's pattern references: the contents of each ACL pattern file (`-f`) and map file,
 * read once and shared by every ACL line and map converter that names the file, so the
 * runtime API's `add acl`, `del map`, `set map`, `clear map`… change what they match at
 * once (HAProxy's pat_ref). A file changed on disk is read again at the next config load
 * (a reload); changes made at run time are not written back to the file.
 */
export interface PatternEntry {
  /** Address printed by `show map` / `show acl` (a stable id). */
  readonly ptr: number;
  readonly key: string;
  value: string;
}

let nextPtr = 0x5600_0000_2000;
let nextId = 0;

export class PatternRef {
  readonly id = nextId++;
  entries: PatternEntry[] = [];
  readonly #listeners = new Set<() => void>();
  mtimeMs = -1;

  constructor(
    readonly file: string,
    readonly kind: 'map' | 'acl',
  ) {}

  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }

  /** (Re)reads the file: `key value` lines for a map, whole lines for an ACL; `#` comments skipped. */
  load(text: string): void {
    this.entries = [];
    for (const raw of text.split('\n')) {
      const line = raw.replace(/\r$/, '').trim();
      if (line === '' || line.startsWith('#')) continue;
      if (this.kind === 'acl') this.entries.push({ ptr: (nextPtr += 0x90), key: line, value: '' });
      else {
        const m = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
        this.entries.push({ ptr: (nextPtr += 0x90), key: m[1]!, value: (m[2] ?? '').trim() });
      }
    }
    this.#changed();
  }

  pairs(): Array<[string, string]> {
    return this.entries.map((e) => [e.key, e.value]);
  }

  patterns(): string[] {
    return this.entries.map((e) => e.key);
  }

  add(key: string, value = ''): void {
    this.entries.push({ ptr: (nextPtr += 0x90), key, value });
    this.#changed();
  }

  /** Removes every entry with this key (or the one `#<ptr>` names); false when none matched. */
  delete(ref: string): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !matchesRef(e, ref));
    if (this.entries.length === before) return false;
    this.#changed();
    return true;
  }

  /** Sets the value of every entry with this key (or `#<ptr>`); false when none matched. */
  set(ref: string, value: string): boolean {
    let hit = false;
    for (const e of this.entries) {
      if (!matchesRef(e, ref)) continue;
      e.value = value;
      hit = true;
    }
    if (hit) this.#changed();
    return hit;
  }

  clear(): void {
    this.entries = [];
    this.#changed();
  }
}

function matchesRef(e: PatternEntry, ref: string): boolean {
  if (ref.startsWith('#0x')) return e.ptr === Number.parseInt(ref.slice(3), 16);
  return e.key === ref;
}

const refs = new Map<string, PatternRef>();

/**
 * The reference of a file (absolute path): created and read at first use, read again when the
 * file changed on disk since (a config reload after editing it). Throws when it cannot be read.
 */
export function patternRef(file: string, kind: 'map' | 'acl'): PatternRef {
  const key = `${kind}:${file}`;
  let ref = refs.get(key);
  const st = fs.statSync(file);
  if (ref && ref.mtimeMs === st.mtimeMs) return ref;
  const text = fs.readFileSync(file, 'utf8');
  if (!ref) {
    ref = new PatternRef(file, kind);
    refs.set(key, ref);
  }
  ref.mtimeMs = st.mtimeMs;
  ref.load(text);
  return ref;
}

/** Every loaded reference of a kind, in load order (what `show map` / `show acl` list). */
export function patternRefs(kind: 'map' | 'acl'): PatternRef[] {
  return [...refs.values()].filter((r) => r.kind === kind);
}

/** A reference by file path or `#<id>`. */
export function findPatternRef(kind: 'map' | 'acl', name: string): PatternRef | undefined {
  if (name.startsWith('#')) return patternRefs(kind).find((r) => `#${r.id}` === name);
  return refs.get(`${kind}:${name}`);
}
