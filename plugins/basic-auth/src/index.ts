import {
  AUTH_METHOD, AUTH_USER,
  FETCH_SLOT, Stage, definePlugin, type Exchange, type FetchDefinition, type GatewayApi, type HttpExchange, type JsonSchema,
} from '@switchyard/sdk';
import { EXPLAIN_SLOT, compileRuleCondition } from '@switchyard/plugin-acl';
import { BasicAuthErrors } from './errors';
import { basicAuthSchema, defaultBasicAuthSchema, userlistsSchema, type BasicAuthConfig, type UserlistsConfig } from './schema';
import { Userlist, parseBasic, type UserEntry, type UserlistConfig } from './userlist';

export { BasicAuthErrors } from './errors';
export { Userlist, parseBasic, type UserlistConfig, type UserConfig, type UserEntry } from './userlist';
export { shaCrypt, parseShaCrypt } from './shacrypt';

export const NAME = '@switchyard/plugin-basic-auth';

/** Key in `exchange.vars` holding the authenticated user name (for access logs and other plugins). */
export const USER_VAR = AUTH_USER.id;
/** Key in `exchange.vars` saying which auth plugin let the request in. */
export const METHOD_VAR = AUTH_METHOD.id;

export type { BasicAuthConfig, UserlistsConfig };

/** A userlist named by a fetch, bound once the config is applied. */
interface ListCell {
  list: Userlist | undefined;
  /** `exchange.vars` key of this list's verdict: a UserEntry, or null. */
  readonly varKey: string;
}

/** What register and apply share for one config load (register has no config yet). */
class BasicAuthState {
  readonly cells = new Map<string, ListCell>();
  /** Frontend state → its basicAuth, once applied. */
  readonly guards = new Map<object, FrontendGuard>();
  lists: Map<string, Userlist> | undefined;

  cell(name: string): ListCell {
    let c = this.cells.get(name);
    if (!c) {
      c = { list: this.lists?.get(name), varKey: `basic-auth.verdict.${name}` };
      if (this.lists && !c.list) throw BasicAuthErrors.UNKNOWN_USERLIST('http_auth', name, [...this.lists.keys()].join(', ') || 'none');
      this.cells.set(name, c);
    }
    return c;
  }
}

const STATE_SLOT = 'basic-auth.state';

/** The verdict for one list, computed once per exchange (blocking only where nothing could wait). */
function verdictSync(ex: HttpExchange, cell: ListCell): UserEntry | null {
  const done = ex.vars.get(cell.varKey) as UserEntry | null | undefined;
  if (done !== undefined) return done;
  const creds = parseBasic(headerOf(ex));
  const v = creds && cell.list ? cell.list.verifySync(creds.user, creds.password) : null;
  ex.vars.set(cell.varKey, v);
  return v;
}

async function verdict(ex: HttpExchange, cell: ListCell, creds: { user: string; password: string } | null): Promise<UserEntry | null> {
  const done = ex.vars.get(cell.varKey) as UserEntry | null | undefined;
  if (done !== undefined) return done;
  const v = creds && cell.list ? await cell.list.verify(creds.user, creds.password) : null;
  ex.vars.set(cell.varKey, v);
  return v;
}

function headerOf(ex: HttpExchange): string | undefined {
  const h = ex.headers.authorization;
  return typeof h === 'string' ? h : undefined;
}

function fetches(state: BasicAuthState): Record<string, FetchDefinition> {
  const listArg = (arg: string | undefined): ListCell => {
    if (!arg) throw new Error('needs a userlist name: http_auth(<userlist>)');
    return state.cell(arg);
  };
  return {
    http_auth: {
      description: 'True when the request carries Basic credentials valid in the userlist named by the argument.',
      arg: 'required',
      modes: ['http'],
      defaultMatch: 'bool',
      compile(arg) {
        const cell = listArg(arg);
        return (ex: Exchange) => (ex.kind === 'http' ? verdictSync(ex, cell) !== null : undefined);
      },
    },
    http_auth_group: {
      description: 'Groups of the user whose Basic credentials are valid in the userlist; `http_auth_group(list) g1 g2` matches members of g1 or g2.',
      arg: 'required',
      modes: ['http'],
      compile(arg) {
        const cell = listArg(arg);
        return (ex: Exchange) => {
          if (ex.kind !== 'http') return undefined;
          const u = verdictSync(ex, cell);
          return u === null ? undefined : u.groups;
        };
      },
    },
    http_auth_user: {
      description: 'User name sent in Basic credentials, not verified (HAProxy\'s http_auth_user); use http_auth() to check it.',
      arg: 'none',
      modes: ['http'],
      compile() {
        return (ex: Exchange) => (ex.kind === 'http' ? parseBasic(headerOf(ex))?.user : undefined);
      },
    },
  };
}

/** Answers the client when the verdict says no; null when the request may go on. */
function refuse(ex: HttpExchange, guard: FrontendGuard, header: string | undefined, creds: { user: string } | null, user: UserEntry | null): { status: number; reason: string } | null {
  if (user === null) {
    const reason = header === undefined ? 'no credentials' : creds === null ? 'not basic credentials' : 'wrong user or password';
    ex.respond(401, 'authentication required\n', { 'www-authenticate': guard.challenge, 'content-type': 'text/plain; charset=utf-8' });
    return { status: 401, reason };
  }
  if (guard.groups !== null && !user.groups.some((g) => guard.groups!.has(g))) {
    ex.respond(403, 'forbidden\n', { 'content-type': 'text/plain; charset=utf-8' });
    return { status: 403, reason: 'not in an allowed group' };
  }
  return null;
}

/** `switchyard explain` (plugin-acl): what basicAuth does with the request, checked synchronously. */
const explainer = {
  stage: Stage.AUTH,
  title: 'basic auth',
  explain(gateway: GatewayApi, ex: HttpExchange, out: (line: string) => void): { handled: string } | undefined {
    const guard = gateway.slots.get<BasicAuthState>(STATE_SLOT, 'default')?.guards.get(ex.frontend);
    if (guard === undefined) {
      out('no basicAuth on this frontend');
      return undefined;
    }
    if (guard.condition !== null && !guard.condition(ex)) {
      out(`basicAuth (userlist ${guard.cell.list?.name}): condition false → not asked`);
      return undefined;
    }
    const header = headerOf(ex);
    const creds = parseBasic(header);
    const user = verdictSync(ex, guard.cell);
    const refusal = refuse(ex, guard, header, creds, user);
    if (refusal !== null) {
      out(`basicAuth (userlist ${guard.cell.list?.name}): ${refusal.reason} → ${refusal.status}`);
      return { handled: `basicAuth ${refusal.status} (${refusal.reason})` };
    }
    out(`basicAuth (userlist ${guard.cell.list?.name}): user ${user!.name} authenticated${user!.groups.length ? ` (groups ${user!.groups.join(', ')})` : ''}`);
    return undefined;
  },
};

function compileCondition(gateway: GatewayApi, frontend: string, rule: { if?: string; unless?: string }, where: string): ((ex: Exchange) => boolean) | null {
  return compileRuleCondition(gateway, frontend, rule, where, () => BasicAuthErrors.NO_ACL(where));
}

interface FrontendGuard {
  readonly frontend: string;
  readonly cell: ListCell;
  readonly challenge: string;
  readonly groups: ReadonlySet<string> | null;
  readonly forward: boolean;
  readonly condition: ((ex: Exchange) => boolean) | null;
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.5',
  core: '>=0.1.2 <1.0.0',
  description: 'HTTP basic auth against HAProxy-style userlists; http_auth / http_auth_group fetches.',
  configKey: 'userlists',
  schema: {
    config: userlistsSchema,
    frontend: { basicAuth: basicAuthSchema },
    defaults: { basicAuth: defaultBasicAuthSchema },
  },
  register({ slots }) {
    const state = new BasicAuthState();
    slots.provide(STATE_SLOT, 'default', state, { description: 'Userlists shared by the basic-auth fetches and route tap.' });
    for (const [name, f] of Object.entries(fetches(state))) slots.provide(FETCH_SLOT, name, f, { description: f.description });
    slots.provide(EXPLAIN_SLOT, 'basic-auth', explainer, { description: 'basicAuth in `switchyard explain`.' });
  },
  apply(gateway, config) {
    const state = gateway.slots.get<BasicAuthState>(STATE_SLOT, 'default')!;
    const cacheOptions = { max: 10_000, ttl: 60_000 };
    const lists = new Map<string, Userlist>();
    for (const [name, cfg] of Object.entries(config ?? {})) lists.set(name, new Userlist(name, cfg, `userlists.${name}`, cacheOptions));
    const listNames = [...lists.keys()].join(', ') || 'none';
    for (const [name, cell] of state.cells) {
      cell.list = lists.get(name);
      if (!cell.list) throw BasicAuthErrors.UNKNOWN_USERLIST('http_auth', name, listNames);
    }
    state.lists = lists;

    const guards = state.guards;
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const cfg = (fe.basicAuth ?? gateway.config.defaults.basicAuth) as BasicAuthConfig | undefined;
      if (!cfg || fe.mode !== 'http') continue;
      const where = `frontends.${name}.basicAuth`;
      if (!lists.has(cfg.userlist)) throw BasicAuthErrors.UNKNOWN_USERLIST.with({ location: { path: where } }, where, cfg.userlist, listNames);
      const list = lists.get(cfg.userlist)!;
      for (const g of cfg.groups ?? []) if (!list.hasGroup(g)) throw BasicAuthErrors.UNKNOWN_GROUP.with({ location: { path: where } }, where, g, cfg.userlist);
      guards.set(gateway.frontends.get(name)!, {
        frontend: name,
        cell: state.cell(cfg.userlist),
        challenge: `Basic realm="${cfg.realm}", charset="UTF-8"`,
        groups: cfg.groups ? new Set(cfg.groups) : null,
        forward: cfg.forwardCredentials,
        condition: compileCondition(gateway, name, cfg, where),
      });
    }
    const log = gateway.logger.child({ plugin: NAME });
    // No userlists: nothing can be checked (http_auth() on an unknown list fails at load),
    // so tap nothing and cost nothing per request.
    if (lists.size === 0) return;

    // Verify credentials before the request rules (stage SECURITY) run, without blocking the
    // event loop on bcrypt: http_auth() in httpRequest rules then reads the verdict.
    gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.SECURITY - 10 }, async (ex: Exchange) => {
      if (ex.kind !== 'http' || state.cells.size === 0) return undefined;
      const header = headerOf(ex);
      if (header === undefined) return undefined;
      const creds = parseBasic(header);
      for (const cell of state.cells.values()) await verdict(ex, cell, creds);
      return undefined;
    });

    if (guards.size === 0) return;
    gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.AUTH }, async (ex: Exchange) => {
      if (ex.kind !== 'http') return undefined;
      const guard = guards.get(ex.frontend);
      if (guard === undefined || (guard.condition !== null && !guard.condition(ex))) return undefined;
      const header = headerOf(ex);
      const creds = parseBasic(header);
      const user = await verdict(ex, guard.cell, creds);
      const refusal = refuse(ex, guard, header, creds, user);
      if (refusal !== null) {
        log.info({ code: BasicAuthErrors.DENIED.code, frontend: guard.frontend, user: creds?.user, reason: refusal.reason, src: ex.clientAddress }, 'basic auth refused');
        return { handled: true };
      }
      ex.vars.set(USER_VAR, user!.name);
      ex.vars.set(METHOD_VAR, 'basic');
      if (!guard.forward) delete ex.upstream.headers.authorization;
      return undefined;
    });
  },
});

export default plugin;
