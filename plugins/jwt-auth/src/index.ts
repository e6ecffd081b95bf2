import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  AUTH_METHOD, AUTH_USER,
  FETCH_SLOT, Stage, definePlugin, type Exchange, type FetchValue, type GatewayApi, type HttpExchange,
} from '@switchyard/sdk';
import { EXPLAIN_SLOT, compileRuleCondition } from '@switchyard/plugin-acl';
import { ALGORITHMS, defaultJwtAuthSchema, jwtAuthSchema, type JwtAuthConfig } from './schema';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { jose } from './jose';

const { createLocalJWKSet, createRemoteJWKSet, jwtVerify } = jose;
import { JwtErrors } from './errors';

export { JwtErrors } from './errors';
export { jose } from './jose';

export const NAME = '@switchyard/plugin-jwt-auth';
/** `exchange.vars` key of the verified claims (a JWTPayload). */
export const CLAIMS_VAR = 'jwt.claims';
export const USER_VAR = AUTH_USER.id;
export const METHOD_VAR = AUTH_METHOD.id;

export type { JwtAuthConfig };

type Outcome =
  | { ok: true; claims: JWTPayload }
  | { ok: false; status: 401 | 503; reason: string; code: string }
  | { ok: false; status: 0 }; // no token

interface Verifier {
  readonly frontend: string;
  readonly key: Uint8Array | KeyObject | JWTVerifyGetKey;
  readonly jwksUrl: string | undefined;
  readonly options: Parameters<typeof jwtVerify>[2];
  readonly header: string;
  readonly scheme: string;
  readonly optional: boolean;
  readonly forwardToken: boolean;
  readonly claimHeaders: ReadonlyArray<readonly [header: string, claim: ReadonlyArray<string>]>;
  readonly condition: ((ex: Exchange) => boolean) | null;
  readonly challenge: string;
}

const OUTCOME_VAR = 'jwt.outcome';
/** Verifiers by gateway, for `switchyard explain`. */
const explainable = new WeakMap<GatewayApi, ReadonlyMap<object, Verifier>>();
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const CTL = /[\r\n\0]/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `a.b.c` → the value at that path of the claims, as a fetch value. */
function claimValue(claims: JWTPayload | undefined, keyPath: ReadonlyArray<string>): FetchValue {
  let v: unknown = claims;
  for (const k of keyPath) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  return JSON.stringify(v);
}

function claimsOf(ex: Exchange): JWTPayload | undefined {
  const o = ex.vars.get(OUTCOME_VAR) as Outcome | undefined;
  return o && o.ok ? o.claims : undefined;
}

function tokenOf(ex: HttpExchange, v: Verifier): string | undefined {
  const h = ex.headers[v.header];
  const value = Array.isArray(h) ? h[0] : h;
  if (value === undefined) return undefined;
  if (v.scheme === '') return value.trim();
  if (value.length <= v.scheme.length + 1 || value[v.scheme.length] !== ' ' || value.slice(0, v.scheme.length).toLowerCase() !== v.scheme) return undefined;
  return value.slice(v.scheme.length + 1).trim();
}

const JWKS_ERRORS = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

async function verify(ex: HttpExchange, v: Verifier): Promise<Outcome> {
  const token = tokenOf(ex, v);
  if (token === undefined) return { ok: false, status: 0 };
  if (!TOKEN.test(token)) return { ok: false, status: 401, reason: 'not a compact JWS', code: 'ERR_JWS_INVALID' };
  try {
    // jose overloads jwtVerify on the key type; the union is handled the same way at run time.
    const { payload } = await jwtVerify(token, v.key as JWTVerifyGetKey, v.options);
    return { ok: true, claims: payload };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'ERR_UNKNOWN';
    // A key source that cannot be read is our problem, not the client's: fail closed with 503.
    if (v.jwksUrl !== undefined && (JWKS_ERRORS.has(code) || !code.startsWith('ERR_J'))) {
      return { ok: false, status: 503, reason: (err as Error).message, code };
    }
    return { ok: false, status: 401, reason: (err as Error).message, code };
  }
}

function compileCondition(gateway: GatewayApi, frontend: string, rule: { if?: string; unless?: string }, where: string): ((ex: Exchange) => boolean) | null {
  return compileRuleCondition(gateway, frontend, rule, where, () => JwtErrors.NO_ACL(where));
}

function loadKey(cfg: JwtAuthConfig, where: string, baseDir: string, jwksSets: Map<string, JWTVerifyGetKey>): Verifier['key'] {
  const sources = [cfg.secret, cfg.secretFile, cfg.keyFile, cfg.jwksUrl].filter((s) => s !== undefined);
  if (sources.length !== 1) throw JwtErrors.NO_KEYS(where);
  const hmac = cfg.algorithms.filter((a) => a.startsWith('HS'));
  if ((cfg.secret !== undefined || cfg.secretFile !== undefined) !== (hmac.length > 0) || (hmac.length > 0 && hmac.length !== cfg.algorithms.length)) {
    throw JwtErrors.ALGORITHMS(where, 'HS* algorithms go with secret/secretFile only, and public-key algorithms with keyFile/jwksUrl only');
  }
  if (hmac.length > 0) {
    let secret: Uint8Array;
    try {
      secret = cfg.secret !== undefined ? new TextEncoder().encode(cfg.secret) : new Uint8Array(fs.readFileSync(path.resolve(baseDir, cfg.secretFile!)));
    } catch (err) {
      throw JwtErrors.KEY_LOAD.with({ cause: err, location: { path: where } }, where, (err as Error).message);
    }
    // RFC 7518 §3.2: an HMAC key at least as long as the hash output.
    const needed = Math.max(...hmac.map((a) => Number(a.slice(2)) / 8));
    if (secret.length < needed) throw JwtErrors.KEY_LOAD.with({ location: { path: where } }, where, `the secret has ${secret.length} bytes; ${hmac.join(', ')} needs at least ${needed} (RFC 7518 §3.2)`);
    return secret;
  }
  try {
    if (cfg.keyFile !== undefined) {
      const text = fs.readFileSync(path.resolve(baseDir, cfg.keyFile), 'utf8');
      if (text.includes('-----BEGIN')) return createPublicKey(text);
      const json = JSON.parse(text) as { keys?: unknown[] };
      return createLocalJWKSet((Array.isArray(json.keys) ? json : { keys: [json] }) as Parameters<typeof createLocalJWKSet>[0]);
    }
    const url = cfg.jwksUrl!;
    // One cached key set per URL and settings, shared by the frontends that name it.
    const id = `${url} ${cfg.jwksCacheMaxAge} ${cfg.jwksCooldown} ${cfg.jwksTimeout}`;
    let set = jwksSets.get(id);
    if (!set) {
      set = createRemoteJWKSet(new URL(url), { cacheMaxAge: cfg.jwksCacheMaxAge, cooldownDuration: cfg.jwksCooldown, timeoutDuration: cfg.jwksTimeout });
      jwksSets.set(id, set);
    }
    return set;
  } catch (err) {
    throw JwtErrors.KEY_LOAD.with({ cause: err, location: { path: where } }, where, (err as Error).message);
  }
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.5',
  core: '>=0.1.2 <1.0.0',
  description: 'JWT bearer authentication (jose): allow-listed algorithms, keys from files or JWKS, claims as fetches and headers.',
  schema: {
    frontend: { jwtAuth: jwtAuthSchema },
    defaults: { jwtAuth: defaultJwtAuthSchema },
  },
  register({ slots }) {
    slots.provide(EXPLAIN_SLOT, 'jwt-auth', {
      stage: Stage.AUTH,
      title: 'JWT',
      explain(gateway: GatewayApi, ex: HttpExchange, out: (line: string) => void): { handled: string } | undefined {
        const v = explainable.get(gateway)?.get(ex.frontend);
        if (v === undefined) out('no jwtAuth on this frontend');
        else if (v.condition !== null && !v.condition(ex)) out('jwtAuth: condition false → not asked');
        else if (tokenOf(ex, v) !== undefined) out('jwtAuth: token present; explain does not verify it (an invalid token gets 401)');
        else if (v.optional) out('jwtAuth: no token, optional → passes');
        else {
          out('jwtAuth: no token → 401');
          ex.respond(401, '', { 'www-authenticate': v.challenge });
          return { handled: 'jwtAuth 401 (no token)' };
        }
        return undefined;
      },
    }, { description: 'jwtAuth in `switchyard explain`.' });
    slots.provide(FETCH_SLOT, 'jwt_claim', {
      description: 'A claim of the verified JWT (dotted path for nested claims): strings, numbers, booleans, lists; objects as JSON.',
      arg: 'required',
      modes: ['http'],
      compile(arg: string | undefined) {
        if (!arg) throw new Error('needs a claim name: jwt_claim(sub)');
        const keyPath = arg.split('.');
        return (ex: Exchange) => claimValue(claimsOf(ex), keyPath);
      },
    }, { description: 'A claim of the verified JWT.' });
  },
  apply(gateway) {
    const baseDir = gateway.baseDir;
    const jwksSets = new Map<string, JWTVerifyGetKey>();
    const verifiers = new Map<object, Verifier>();
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const cfg = (fe.jwtAuth ?? gateway.config.defaults.jwtAuth) as JwtAuthConfig | undefined;
      if (!cfg || fe.mode !== 'http') continue;
      const where = `frontends.${name}.jwtAuth`;
      const claimHeaders: Array<readonly [string, ReadonlyArray<string>]> = [];
      for (const [h, claim] of Object.entries(cfg.claimHeaders)) {
        if (!HEADER_NAME.test(h)) throw JwtErrors.BAD_HEADER.with({ location: { path: `${where}.claimHeaders` } }, where, h);
        claimHeaders.push([h.toLowerCase(), claim.split('.')]);
      }
      verifiers.set(gateway.frontends.get(name)!, {
        frontend: name,
        key: loadKey(cfg, where, baseDir, jwksSets),
        jwksUrl: cfg.jwksUrl,
        options: {
          algorithms: cfg.algorithms,
          issuer: cfg.issuer,
          audience: cfg.audience,
          clockTolerance: Math.round(cfg.clockSkew / 1000),
          requiredClaims: cfg.requiredClaims,
        },
        header: cfg.header.toLowerCase(),
        scheme: cfg.scheme.toLowerCase(),
        optional: cfg.optional,
        forwardToken: cfg.forwardToken,
        claimHeaders,
        condition: compileCondition(gateway, name, cfg, where),
        challenge: 'Bearer',
      });
    }
    explainable.set(gateway, verifiers);
    if (verifiers.size === 0) return;
    const log = gateway.logger.child({ plugin: NAME });

    // Verify before the request rules (stage SECURITY) so jwt_claim() works in httpRequest rules too.
    gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.SECURITY - 10 }, async (ex: Exchange) => {
      if (ex.kind !== 'http') return undefined;
      const v = verifiers.get(ex.frontend);
      if (v !== undefined) ex.vars.set(OUTCOME_VAR, await verify(ex, v));
      return undefined;
    });

    gateway.hooks.route.tap({ name: NAME, stage: Stage.AUTH }, (ex: Exchange) => {
      if (ex.kind !== 'http') return undefined;
      const v = verifiers.get(ex.frontend);
      if (v === undefined) return undefined;
      for (const [h] of v.claimHeaders) if (ex.upstream.headers[h] !== undefined) delete ex.upstream.headers[h];
      if (v.condition !== null && !v.condition(ex)) return undefined;
      const o = ex.vars.get(OUTCOME_VAR) as Outcome | undefined;
      if (o === undefined) return undefined;
      if (!o.ok) {
        if (o.status === 0) {
          if (v.optional) return undefined;
          log.info({ code: JwtErrors.DENIED.code, frontend: v.frontend, reason: 'no token', src: ex.clientAddress }, 'JWT refused');
          ex.respond(401, 'bearer token required\n', { 'www-authenticate': v.challenge, 'content-type': 'text/plain; charset=utf-8' });
          return { handled: true };
        }
        if (o.status === 503) {
          log.error({ code: JwtErrors.JWKS_UNAVAILABLE.code, frontend: v.frontend, jwks: v.jwksUrl, reason: o.reason, cause: o.code }, 'JWKS unavailable: request refused');
          ex.respond(503, 'authentication unavailable\n', { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
          return { handled: true };
        }
        log.info({ code: JwtErrors.DENIED.code, frontend: v.frontend, reason: o.reason, cause: o.code, src: ex.clientAddress }, 'JWT refused');
        ex.respond(401, 'invalid token\n', { 'www-authenticate': `${v.challenge} error="invalid_token"`, 'content-type': 'text/plain; charset=utf-8' });
        return { handled: true };
      }
      for (const [h, claim] of v.claimHeaders) {
        const value = claimValue(o.claims, claim);
        if (value === undefined) continue;
        const text = Array.isArray(value) ? value.join(',') : String(value);
        if (CTL.test(text)) {
          log.warn({ code: JwtErrors.CLAIM_HEADER.code, frontend: v.frontend, claim: claim.join('.'), header: h }, 'claim not sent as header');
          ex.respond(400, 'bad request\n', { 'content-type': 'text/plain; charset=utf-8' });
          return { handled: true };
        }
        ex.upstream.headers[h] = text;
      }
      if (!v.forwardToken) delete ex.upstream.headers[v.header];
      if (typeof o.claims.sub === 'string') ex.vars.set(USER_VAR, o.claims.sub);
      ex.vars.set(METHOD_VAR, 'jwt');
      ex.vars.set(CLAIMS_VAR, o.claims);
      return undefined;
    });
  },
});

export default plugin;
