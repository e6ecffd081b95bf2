import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUTH_METHOD, AUTH_USER, FETCH_SLOT, Stage, definePlugin, type Exchange, type GatewayApi, type HttpExchange, type JsonSchema } from '@switchyard/sdk';
import { EXPLAIN_SLOT, compileRuleCondition } from '@switchyard/plugin-acl';
import { ApiKeyErrors } from './errors';
import { apiKeySchema, defaultApiKeySchema, keySetsSchema, type ApiKeyConfig, type KeySetConfig } from './schema';

export { ApiKeyErrors } from './errors';
export const NAME = '@switchyard/plugin-api-key';
/** `exchange.vars` key of the name of the key that let the request in. */
export const KEY_NAME_VAR = 'apikey.name';

export type { ApiKeyConfig, KeySetConfig };

interface Guard {
  readonly frontend: string;
  /** SHA-256 (hex) of a key → its name. */
  readonly keys: ReadonlyMap<string, string>;
  readonly header: string | undefined;
  readonly queryParam: string | undefined;
  readonly forward: boolean;
  readonly condition: ((ex: Exchange) => boolean) | null;
}

/** Shared between register (the fetch) and apply (the guards), per config load. */
class ApiKeyState {
  guards = new Map<object, Guard>();
}

const STATE_SLOT = 'api-key.state';
const HEX64 = /^[0-9a-f]{64}$/;
const PLUS = /\+/g;
const VERDICT_VAR = 'apikey.verdict';

type Verdict = { name: string } | { name: null; reason: 'no key' | 'unknown key' };

/** First value of a query parameter in a raw target (names compared decoded). */
function queryValue(url: string, param: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  for (const part of url.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (safeDecode(name) === param) return eq === -1 ? '' : safeDecode(part.slice(eq + 1).replace(PLUS, ' '));
  }
  return undefined;
}

function withoutParam(url: string, param: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const kept = url.slice(q + 1).split('&').filter((part) => {
    const eq = part.indexOf('=');
    return safeDecode(eq === -1 ? part : part.slice(0, eq)) !== param;
  });
  return kept.length === 0 ? url.slice(0, q) : `${url.slice(0, q)}?${kept.join('&')}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function presented(ex: HttpExchange, g: Guard): string | undefined {
  if (g.header !== undefined) {
    const h = ex.headers[g.header];
    const v = Array.isArray(h) ? h[0] : h;
    if (v !== undefined && v !== '') return v.trim();
  }
  if (g.queryParam !== undefined && ex.url.indexOf('?') !== -1) {
    const v = queryValue(ex.url, g.queryParam);
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

function verdictOf(ex: HttpExchange, g: Guard): Verdict {
  const done = ex.vars.get(VERDICT_VAR) as Verdict | undefined;
  if (done !== undefined) return done;
  const key = presented(ex, g);
  let v: Verdict;
  if (key === undefined) v = { name: null, reason: 'no key' };
  else {
    const name = g.keys.get(createHash('sha256').update(key, 'utf8').digest('hex'));
    v = name === undefined ? { name: null, reason: 'unknown key' } : { name };
  }
  ex.vars.set(VERDICT_VAR, v);
  return v;
}

function loadKeySet(name: string, cfg: KeySetConfig, baseDir: string): Map<string, string> {
  const where = `apiKeys.${name}`;
  const keys = new Map<string, string>();
  const add = (keyName: string, hash: string, at: string): void => {
    const h = hash.toLowerCase();
    if (!HEX64.test(h)) throw ApiKeyErrors.BAD_KEY.with({ location: { path: at } }, at, `"${keyName}": sha256 must be 64 hex digits (echo -n KEY | sha256sum)`);
    if (keys.has(h)) throw ApiKeyErrors.BAD_KEY.with({ location: { path: at } }, at, `"${keyName}" has the same key as "${keys.get(h)}"`);
    keys.set(h, keyName);
  };
  cfg.keys.forEach((k, i) => add(k.name, k.sha256, `${where}.keys[${i}]`));
  if (cfg.file !== undefined) {
    const file = path.resolve(baseDir, cfg.file);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw ApiKeyErrors.FILE.with({ cause: err, location: { path: `${where}.file` } }, `${where}.file`, file, (err as Error).message);
    }
    text.split('\n').forEach((line, i) => {
      const t = line.replace(/#.*/, '').trim();
      if (t === '') return;
      const parts = t.split(/\s+/);
      if (parts.length !== 2) throw ApiKeyErrors.BAD_KEY(`${file}:${i + 1}`, 'expected "<name> <sha256 hex>"');
      add(parts[0]!, parts[1]!, `${file}:${i + 1}`);
    });
  }
  return keys;
}

function compileCondition(gateway: GatewayApi, frontend: string, rule: { if?: string; unless?: string }, where: string): ((ex: Exchange) => boolean) | null {
  return compileRuleCondition(gateway, frontend, rule, where, () => ApiKeyErrors.NO_ACL(where));
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.5',
  core: '>=0.1.2 <1.0.0',
  description: 'API keys in a header or query parameter, stored as SHA-256 hashes, named for logs.',
  configKey: 'apiKeys',
  schema: { config: keySetsSchema, frontend: { apiKey: apiKeySchema }, defaults: { apiKey: defaultApiKeySchema } },
  register({ slots }) {
    const state = new ApiKeyState();
    slots.provide(STATE_SLOT, 'default', state, { description: 'API key guards shared with the api_key_name fetch.' });
    slots.provide(EXPLAIN_SLOT, 'api-key', {
      stage: Stage.AUTH,
      title: 'API key',
      explain(gateway: GatewayApi, ex: HttpExchange, out: (line: string) => void): { handled: string } | undefined {
        const g = state.guards.get(ex.frontend);
        if (g === undefined) {
          out('no apiKey on this frontend');
          return undefined;
        }
        if (g.condition !== null && !g.condition(ex)) {
          out('apiKey: condition false → not asked');
          return undefined;
        }
        const v = verdictOf(ex, g);
        if (v.name === null) {
          const status = v.reason === 'no key' ? 401 : 403;
          ex.respond(status, '', {});
          out(`apiKey: ${v.reason} → ${status}`);
          return { handled: `apiKey ${status} (${v.reason})` };
        }
        out(`apiKey: key "${v.name}"`);
        return undefined;
      },
    }, { description: 'apiKey in `switchyard explain`.' });
    slots.provide(FETCH_SLOT, 'api_key_name', {
      description: 'Name of the valid API key the request carries (frontends with apiKey); absent otherwise.',
      arg: 'none',
      modes: ['http'],
      compile() {
        return (ex: Exchange) => {
          if (ex.kind !== 'http') return undefined;
          const g = state.guards.get(ex.frontend);
          return g === undefined ? undefined : verdictOf(ex, g).name ?? undefined;
        };
      },
    }, { description: 'Name of the valid API key the request carries.' });
  },
  apply(gateway, config) {
    const state = gateway.slots.get<ApiKeyState>(STATE_SLOT, 'default')!;
    const baseDir = gateway.baseDir;
    const sets = new Map<string, Map<string, string>>();
    for (const [name, cfg] of Object.entries(config ?? {})) sets.set(name, loadKeySet(name, cfg, baseDir));
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const cfg = (fe.apiKey ?? gateway.config.defaults.apiKey) as ApiKeyConfig | undefined;
      if (!cfg || fe.mode !== 'http') continue;
      const where = `frontends.${name}.apiKey`;
      const keys = sets.get(cfg.keySet);
      if (!keys) throw ApiKeyErrors.UNKNOWN_SET.with({ location: { path: `${where}.keySet` } }, where, cfg.keySet, [...sets.keys()].join(', ') || 'none');
      state.guards.set(gateway.frontends.get(name)!, {
        frontend: name,
        keys,
        header: cfg.header?.toLowerCase(),
        queryParam: cfg.queryParam,
        forward: cfg.forwardKey,
        condition: compileCondition(gateway, name, cfg, where),
      });
    }
    if (state.guards.size === 0) return;
    const log = gateway.logger.child({ plugin: NAME });
    gateway.hooks.route.tap({ name: NAME, stage: Stage.AUTH }, (ex: Exchange) => {
      if (ex.kind !== 'http') return undefined;
      const g = state.guards.get(ex.frontend);
      if (g === undefined || (g.condition !== null && !g.condition(ex))) return undefined;
      const v = verdictOf(ex, g);
      if (v.name === null) {
        const status = v.reason === 'no key' ? 401 : 403;
        log.info({ code: ApiKeyErrors.DENIED.code, frontend: g.frontend, reason: v.reason, src: ex.clientAddress }, 'API key refused');
        ex.respond(status, status === 401 ? 'API key required\n' : 'invalid API key\n', { 'content-type': 'text/plain; charset=utf-8' });
        return { handled: true };
      }
      ex.vars.set(KEY_NAME_VAR, v.name);
      AUTH_USER.set(ex, v.name);
      AUTH_METHOD.set(ex, 'apikey');
      if (!g.forward) {
        if (g.header !== undefined && ex.upstream.headers[g.header] !== undefined) delete ex.upstream.headers[g.header];
        if (g.queryParam !== undefined && ex.url.indexOf('?') !== -1) ex.upstream.path = withoutParam(ex.upstream.path, g.queryParam);
      }
      return undefined;
    });
  },
});

export default plugin;
