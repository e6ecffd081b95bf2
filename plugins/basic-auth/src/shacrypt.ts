import { createHash } from 'node:crypto';

/**
 * SHA-256-crypt and SHA-512-crypt (`$5$…`, `$6$…`), as specified by Ulrich Drepper in
 * "Unix crypt using SHA-256 and SHA-512" (https://www.akkadia.org/drepper/SHA-crypt.txt),
 * the scheme glibc's crypt(3), `mkpasswd -m sha-512` and `openssl passwd -5/-6` produce.
 * No npm package for it could be added here (see README), so it follows the spec step by
 * step and is tested against the spec's own vectors and against openssl.
 */

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

/** Byte order of the final encoding, three bytes per group (spec steps 22e and 22f). */
const ORDER_256: ReadonlyArray<readonly [number, number, number]> = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];
const ORDER_512: ReadonlyArray<readonly [number, number, number]> = Array.from({ length: 21 }, (_, k) => {
  const a = k, b = k + 21, c = k + 42;
  return k % 3 === 0 ? [a, b, c] as const : k % 3 === 1 ? [b, c, a] as const : [c, a, b] as const;
});

function b64From24(out: string[], b2: number, b1: number, b0: number, n: number): void {
  let w = (b2 << 16) | (b1 << 8) | b0;
  for (let i = 0; i < n; i++) {
    out.push(ITOA64[w & 0x3f]!);
    w >>>= 6;
  }
}

/** Repeats `block` cyclically to `length` bytes (spec steps 16 and 20). */
function stretch(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
}

export interface ShaCryptSetting {
  readonly id: '5' | '6';
  readonly salt: string;
  readonly rounds: number;
  /** True when the setting named its rounds (`rounds=N$`): the output names them too. */
  readonly explicitRounds: boolean;
}

/** Parses `$5$[rounds=N$]salt[$hash]`; undefined when it is not a SHA-crypt string. */
export function parseShaCrypt(text: string): ShaCryptSetting | undefined {
  const m = /^\$([56])\$(?:rounds=([0-9]+)\$)?([^$]*)(?:\$[./0-9A-Za-z]*)?$/.exec(text);
  if (!m) return undefined;
  const explicitRounds = m[2] !== undefined;
  const rounds = explicitRounds ? Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[2]))) : ROUNDS_DEFAULT;
  return { id: m[1] as '5' | '6', salt: m[3]!.slice(0, 16), rounds, explicitRounds };
}

interface ShaCryptRun {
  readonly s: ShaCryptSetting;
  readonly algo: 'sha256' | 'sha512';
  readonly p: Buffer;
  readonly sBytes: Buffer;
  a: Buffer;
}

function settingOf(setting: string | ShaCryptSetting): ShaCryptSetting {
  const s = typeof setting === 'string' ? parseShaCrypt(setting) : setting;
  if (!s) throw new TypeError('not a $5$ or $6$ crypt setting');
  return s;
}

/** Steps 1–20: everything before the rounds. */
function begin(password: string | Buffer, s: ShaCryptSetting): ShaCryptRun {
  const algo = s.id === '5' ? 'sha256' : 'sha512';
  const size = s.id === '5' ? 32 : 64;
  const key = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const salt = Buffer.from(s.salt, 'utf8');

  // Steps 4–8: digest B = H(key salt key).
  const b = createHash(algo).update(key).update(salt).update(key).digest();
  // Steps 1–3, 9–12: digest A.
  const ha = createHash(algo).update(key).update(salt);
  let n = key.length;
  for (; n > size; n -= size) ha.update(b);
  ha.update(b.subarray(0, n));
  for (let len = key.length; len > 0; len >>>= 1) ha.update(len & 1 ? b : key);
  const a = ha.digest();
  // Steps 13–16: P, from digest DP = H(key repeated len(key) times).
  const hp = createHash(algo);
  for (let i = 0; i < key.length; i++) hp.update(key);
  const p = stretch(hp.digest(), key.length);
  // Steps 17–20: S, from digest DS = H(salt repeated 16 + A[0] times).
  const hs = createHash(algo);
  for (let i = 0; i < 16 + a[0]!; i++) hs.update(salt);
  return { s, algo, p, sBytes: stretch(hs.digest(), salt.length), a };
}

/** Step 21, rounds [from, to). */
function rounds(run: ShaCryptRun, from: number, to: number): void {
  const { algo, p, sBytes } = run;
  let a = run.a;
  for (let i = from; i < to; i++) {
    const hc = createHash(algo);
    hc.update(i & 1 ? p : a);
    if (i % 3 !== 0) hc.update(sBytes);
    if (i % 7 !== 0) hc.update(p);
    hc.update(i & 1 ? a : p);
    a = hc.digest();
  }
  run.a = a;
}

/** Step 22: the output string. */
function finish(run: ShaCryptRun): string {
  const { s, a } = run;
  const out: string[] = [];
  for (const [x, y, z] of s.id === '5' ? ORDER_256 : ORDER_512) b64From24(out, a[x]!, a[y]!, a[z]!, 4);
  if (s.id === '5') b64From24(out, 0, a[31]!, a[30]!, 3);
  else b64From24(out, 0, 0, a[63]!, 2);
  return `$${s.id}$${s.explicitRounds ? `rounds=${s.rounds}$` : ''}${s.salt}$${out.join('')}`;
}

/** crypt(3) with a `$5$` or `$6$` setting: returns the full hash string. */
export function shaCrypt(password: string | Buffer, setting: string | ShaCryptSetting): string {
  const run = begin(password, settingOf(setting));
  rounds(run, 0, run.s.rounds);
  return finish(run);
}

/**
 * Same as shaCrypt, yielding to the event loop every `slice` rounds so that one hash (tens of
 * milliseconds at the default 5000 rounds) does not hold up other requests.
 */
export async function shaCryptAsync(password: string | Buffer, setting: string | ShaCryptSetting, slice = 500): Promise<string> {
  const run = begin(password, settingOf(setting));
  for (let i = 0; i < run.s.rounds; i += slice) {
    rounds(run, i, Math.min(run.s.rounds, i + slice));
    if (i + slice < run.s.rounds) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return finish(run);
}
