import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { LRUCache } from 'lru-cache';
import { BasicAuthErrors } from './errors';
import type { UserConfig, UserlistConfig } from './schema';
import { parseShaCrypt, shaCrypt, shaCryptAsync, type ShaCryptSetting } from './shacrypt';

export type { UserConfig, UserlistConfig };

type Verifier =
  | { kind: 'plain'; digest: Buffer }
  | { kind: 'bcrypt'; hash: string }
  | { kind: 'sha'; hash: string; setting: ShaCryptSetting };

export interface UserEntry {
  readonly name: string;
  readonly groups: ReadonlyArray<string>;
  readonly groupSet: ReadonlySet<string>;
}

interface UserRecord extends UserEntry {
  readonly verifier: Verifier;
}

/** Key for cached verdicts: an HMAC with a per-process secret, so the cache holds nothing reusable. */
const CACHE_KEY_SECRET = randomBytes(32);

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function sameString(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function verifierFor(where: string, user: UserConfig): Verifier {
  if (user.insecurePassword !== undefined) return { kind: 'plain', digest: sha256(user.insecurePassword) };
  const hash = user.password ?? '';
  if (/^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/.test(hash)) return { kind: 'bcrypt', hash };
  const setting = parseShaCrypt(hash);
  if (setting && /\$[./0-9A-Za-z]{43,86}$/.test(hash)) return { kind: 'sha', hash, setting };
  const shown = hash.startsWith('$') ? hash.slice(0, hash.indexOf('$', 1) + 1) || '$?' : 'not a crypt(3) hash';
  throw BasicAuthErrors.BAD_HASH(where, shown);
}

/**
 * One userlist: users with a verifier and their groups. Verdicts (user, password → ok) are
 * kept a short while so a client that sends the same credentials on every request costs one
 * hash computation, not one per request.
 */
export class Userlist {
  readonly name: string;
  readonly #users = new Map<string, UserRecord>();
  readonly #verdicts: LRUCache<string, boolean>;
  readonly #pending = new Map<string, Promise<boolean>>();
  /**
   * A hashed user checked (and always refused) for unknown user names, so an unknown name
   * takes as long as a wrong password: the timing does not tell which names exist.
   */
  readonly #decoy: UserRecord | undefined;

  constructor(name: string, config: UserlistConfig, where: string, cache: { max: number; ttl: number }) {
    this.name = name;
    const members = new Map<string, Set<string>>();
    for (const [group, users] of Object.entries(config.groups ?? {})) {
      for (const u of users) {
        if (!(u in config.users)) throw BasicAuthErrors.USER_INVALID(`${where}.groups.${group}`, `no user named "${u}"`);
        let set = members.get(u);
        if (!set) members.set(u, (set = new Set()));
        set.add(group);
      }
    }
    for (const [userName, user] of Object.entries(config.users)) {
      const path = `${where}.users.${userName}`;
      if ((user.password === undefined) === (user.insecurePassword === undefined)) {
        throw BasicAuthErrors.USER_INVALID(path, 'give exactly one of password (a crypt hash) or insecurePassword');
      }
      const set = members.get(userName) ?? new Set<string>();
      for (const g of user.groups ?? []) {
        if (!config.groups || !(g in config.groups)) throw BasicAuthErrors.UNKNOWN_GROUP(path, g, name);
        set.add(g);
      }
      this.#users.set(userName, { name: userName, groups: [...set], groupSet: set, verifier: verifierFor(path, user) });
    }
    let decoy: UserRecord | undefined;
    for (const u of this.#users.values()) if (u.verifier.kind !== 'plain' && (decoy === undefined || u.verifier.kind === 'bcrypt')) decoy = u;
    // A copy: never the same object as a real user, whose own checks must still succeed.
    this.#decoy = decoy === undefined ? undefined : { ...decoy, name: '' };
    this.#verdicts = new LRUCache<string, boolean>({ max: Math.max(1, cache.max), ttl: Math.max(1, cache.ttl) });
  }

  hasGroup(group: string): boolean {
    for (const u of this.#users.values()) if (u.groupSet.has(group)) return true;
    return false;
  }

  #cacheKey(user: string, password: string): string {
    return createHmac('sha256', CACHE_KEY_SECRET).update(user).update('\0').update(password).digest('base64');
  }

  /** The user when the password is right, null otherwise. */
  async verify(user: string, password: string): Promise<UserEntry | null> {
    const rec = this.#users.get(user) ?? this.#decoy;
    if (!rec) return null;
    const key = this.#cacheKey(user, password);
    const cached = this.#verdicts.get(key);
    if (cached !== undefined) return cached && rec !== this.#decoy ? rec : null;
    // Requests arriving together with the same new credentials (a browser's parallel
    // connections after a login) share one hash computation.
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#compute(rec, password).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const ok = await pending;
    this.#verdicts.set(key, ok);
    return ok ? rec : null;
  }

  async #compute(rec: UserRecord, password: string): Promise<boolean> {
    const v = rec.verifier;
    const ok =
      v.kind === 'bcrypt' ? await bcrypt.compare(password, v.hash)
      : v.kind === 'sha' ? sameString(await shaCryptAsync(password, v.setting), v.hash)
      : this.#check(v, password);
    return ok && rec !== this.#decoy;
  }

  /** Same as verify, blocking (bcrypt included): for callers that cannot wait (explain). */
  verifySync(user: string, password: string): UserEntry | null {
    const rec = this.#users.get(user) ?? this.#decoy;
    if (!rec) return null;
    const key = this.#cacheKey(user, password);
    const cached = this.#verdicts.get(key);
    if (cached !== undefined) return cached && rec !== this.#decoy ? rec : null;
    const v = rec.verifier;
    const ok = (v.kind === 'bcrypt' ? bcrypt.compareSync(password, v.hash) : this.#check(v, password)) && rec !== this.#decoy;
    this.#verdicts.set(key, ok);
    return ok ? rec : null;
  }

  #check(v: Exclude<Verifier, { kind: 'bcrypt' }>, password: string): boolean {
    if (v.kind === 'plain') return timingSafeEqual(sha256(password), v.digest);
    return sameString(shaCrypt(password, v.setting), v.hash);
  }
}

/** `Authorization: Basic …` → user and password; null when absent or not Basic. */
export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined || header.length < 7) return null;
  if (header.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
