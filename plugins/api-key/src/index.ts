import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUTH_METHOD, AUTH_USER, FETCH_SLOT, Stage, definePlugin, type Exchange, type GatewayApi, type HttpExchange, type JsonSchema } from '@switchyard/sdk';
import { EXPLAIN_SLOT, compileRuleCondition } from '@switchyard/plugin-acl';
import { ApiKeyErrors } from './errors';

export { ApiKeyErrors } from './errors';
export const NAME = '@switchyard/plugin-api-key';
/** `exchange.vars` key of the name of the key that let the request in. */
export const KEY_NAME_VAR = 'apikey.name';

export interface KeySetConfig {
  keys: Array<{ name: string; sha256: string }>;
  file?: string;
}

export interface ApiKeyConfig {
  keySet: string;
  header?: string;
  queryParam?: string;
  forwardKey: boolean;
  if?: string;
  unless?: string;
}

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

const keySetsSchema: JsonSchema = {
  type: 'object',
  default: {},
  description: 'Named API key sets. Keys are stored as SHA-256 hashes (hex), never in clear.',
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    properties: {
      keys: {
        type: 'array',
        default: [],
        description: 'Keys: a name (shown in logs) and the SHA-256 of the key in hex (`echo -n KEY | sha256sum`).',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'sha256'],
          properties: {
            name: { type: 'string', minLength: 1, pattern: '^[^\\r\\n\\u0000]*$', description: 'Name of the key holder, for logs and the api_key_name fetch.' },
            sha256: { type: 'string', description: 'SHA-256 of the key, 64 hex digits.' },
          },
        },
      },
      file: { type: 'string', description: 'File of `<name> <sha256 hex>` lines (# comments), relative to the config file; read at load.' },
    },
  },
};

const apiKeySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['keySet'],
  description: 'Require an API key from a key set: 401 without a key, 403 with an unknown one.',
  properties: {
    keySet: { type: 'string', description: 'Name of a key set under `apiKeys`.' },
    header: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: 'x-api-key', description: 'Request header holding the key.' },
    queryParam: { type: 'string', minLength: 1, description: 'Query parameter holding the key (looked at when the header is absent). Off by default: URLs end up in logs.' },
    forwardKey: { type: 'boolean', default: false, description: 'Send the key (header and query parameter) on to the server; removed by default.' },
    if: { type: 'string', description: 'Require a key only when this ACL condition holds (needs plugin-acl).' },
    unless: { type: 'string', description: 'Require a key unless this ACL condition holds (needs plugin-acl).' },
  },
};

export const plugin = definePlugin<Record<string, KeySetConfig>>({
  name: NAME,
  version: '0.1.4',
  core: '^0.1.0',
  description: 'API keys in a header or query parameter, stored as SHA-256 hashes, named for logs.',
  configKey: 'apiKeys',
  schema: { config: keySetsSchema, frontend: { apiKey: apiKeySchema }, defaults: { apiKey: { ...apiKeySchema, description: 'apiKey for every http frontend that has none of its own.' } } },
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
