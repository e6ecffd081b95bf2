import {
  CLI_COMMAND_SLOT, FETCH_SLOT, Stage, definePlugin, type Exchange, type FetchDefinition, type GatewayApi, type HttpExchange, type JsonSchema,
} from '@switchyard/sdk';
import * as path from 'node:path';
import { AclCompilerImpl, backendAclScope, type AclDefinitions } from './compiler';
import { AclErrors } from './errors';
import { aclsSchema, backendAclsSchema, defaultAclsSchema, routesSchema, useBackendSchema } from './schema';
import { provideMapCommands } from './map-commands';
import { explainCommand } from './explain';
import { FETCHES } from './fetches';
import { CONVERTERS, MATCHERS } from './matchers';
import { MORE_CONVERTERS } from './converters';
import { HAPROXY_CONVERTERS } from './converters-haproxy';
import { compileRoutes, compileUseBackend, route, type FrontendRouting, type RouteConfig, type UseBackendRule } from './routing';
import { ACL_COMPILER, COMPILER_SLOT, CONVERTER_SLOT, EXPLAIN_SLOT, MATCH_SLOT, type AclCompiler, type AclService, type ExplainStep } from './types';

export * from './types';
export { AclErrors } from './errors';
export { backendAclScope } from './compiler';
export { syntheticExchange, explain } from './explain';
export { hostWithoutPort } from './fetches';
export { pathHasPrefix } from './routing';
export type { UseBackendRule, RouteConfig, MapConfig } from './routing';

export const NAME = '@switchyard/plugin-acl';


/**
 * Compiles a rule's `if`/`unless` with the gateway's ACL compiler, once, at load: null when
 * the rule has neither (it always applies); `missing()` is thrown when no loaded plugin
 * provides the compiler.
 */
export function compileRuleCondition(
  gateway: GatewayApi,
  frontend: string,
  rule: { if?: string; unless?: string },
  where: string,
  missing: () => Error,
): ((ex: Exchange) => boolean) | null {
  if (rule.if === undefined && rule.unless === undefined) return null;
  const service = gateway.slots.get(ACL_COMPILER, 'default');
  if (!service) throw missing();
  const c = service.forGateway(gateway).compileRuleCondition(frontend, rule, where);
  return c === undefined ? null : (ex) => c.test(ex);
}

interface AclState {
  compiler: AclCompilerImpl;
  routing: Map<string, FrontendRouting>;
}

const states = new WeakMap<GatewayApi, AclState>();

/** Fetches plugin-tls also provides with the same meaning (see compilerFor). */
const SHARED_FETCHES = new Set(['ssl_fc', 'ssl_fc_sni']);

/** HAProxy's nbsrv([<backend>]): usable servers (up, not in maintenance, weight > 0), backups included; no argument = the exchange's backend. */
function nbsrvFetch(gateway: GatewayApi): FetchDefinition {
  return {
    description: 'Number of usable servers (up, ready, weight > 0) of the backend named as argument (default: the current one), backups included.',
    arg: 'optional',
    modes: ['http', 'tcp'],
    defaultMatch: 'int',
    compile(arg) {
      const count = (servers: ReadonlyArray<{ available: boolean }>): number => {
        let n = 0;
        for (const s of servers) if (s.available) n++;
        return n;
      };
      const name = (arg ?? '').trim();
      if (name === '') return (ex) => (ex.backend ? count(ex.backend.servers) : undefined);
      const be = gateway.backends.get(name);
      if (be === undefined) throw new Error(`nbsrv(${name}): no backend of that name (${[...gateway.backends.keys()].join(', ')})`);
      return () => count(be.servers);
    },
  };
}

function compilerFor(gateway: GatewayApi): AclCompilerImpl {
  const existing = states.get(gateway);
  if (existing) return existing.compiler;
  // ssl_fc / ssl_fc_sni are also offered by @switchyard/plugin-tls. Providing ours only now,
  // after every plugin registered, keeps theirs when it is loaded, whatever the plugin order.
  for (const name of SHARED_FETCHES) {
    const f = FETCHES[name]!;
    if (gateway.slots.get(FETCH_SLOT, name) === undefined) gateway.slots.provide(FETCH_SLOT, name, f, { description: f.description });
  }
  // nbsrv([backend]) reads this gateway's backends: provided per gateway, at provision, so
  // that validate compiles an ACL using it as run does (unless another plugin offers it).
  if (gateway.slots.get(FETCH_SLOT, 'nbsrv') === undefined) {
    const f = nbsrvFetch(gateway);
    gateway.slots.provide(FETCH_SLOT, 'nbsrv', f, { description: f.description });
  }
  const cfg = gateway.config;
  const perFrontend: Record<string, AclDefinitions> = {};
  for (const [name, fe] of Object.entries(cfg.frontends)) perFrontend[name] = (fe.acls as AclDefinitions | undefined) ?? {};
  const perBackend: Record<string, AclDefinitions> = {};
  for (const [name, be] of Object.entries(cfg.backends)) if (be.acls !== undefined) perBackend[name] = be.acls as AclDefinitions;
  const baseDir = gateway.baseDir;
  const compiler = new AclCompilerImpl(gateway.slots, baseDir, (cfg.defaults.acls as AclDefinitions | undefined) ?? {}, perFrontend, perBackend);
  states.set(gateway, { compiler, routing: new Map() });
  return compiler;
}

/** Explain step for backend choice (useBackend, then routes). */
const routingExplainer: ExplainStep = {
  stage: Stage.ROUTING,
  title: 'routing (useBackend, routes)',
  explain(gateway, ex, out) {
    const state = states.get(gateway);
    const table = state?.routing.get(ex.frontend.name);
    if (!state || !table || (table.useBackend.length === 0 && table.routes.length === 0)) {
      out('no useBackend rules or routes');
      return undefined;
    }
    for (const r of table.useBackend) {
      const label = `useBackend[${r.index}] ${r.describe}${r.condition ? ` if ${r.condition.source}` : ''}`;
      if (r.condition) {
        const t = state.compiler.trace(r.condition, ex);
        out(`${label}: condition ${t.matched ? 'true' : 'false'}`);
        for (const l of t.lines) out(`    [${l.matched ? 'x' : ' '}] ${l.text}`);
        if (!t.matched) continue;
      }
      const b = r.pick(ex);
      const key = r.key ? ` (key ${JSON.stringify(r.key.read(ex) ?? null)})` : '';
      if (b === undefined) {
        out(`${label}${key}: no map entry and no default; next rule`);
        continue;
      }
      out(`${label}${key}: → ${b}`);
      return { backend: b, why: `useBackend[${r.index}]${r.condition ? ` if ${r.condition.source}` : ''}` };
    }
    for (const r of table.routes) {
      const hit = r.match(ex);
      out(`route[${r.index}] ${r.describe}: ${hit ? 'matches' : 'no match'}`);
      if (hit) {
        if (r.config.stripPrefix && r.config.path) route({ useBackend: [], routes: [r] }, ex);
        return { backend: r.config.backend, why: `routes[${r.index}] ${r.describe}` };
      }
    }
    return undefined;
  },
};

export const plugin = definePlugin({
  name: NAME,
  version: '0.2.8',
  core: '>=0.1.2 <1.0.0',
  description: 'ACL language (fetches, matchers, conditions, map files), routing (useBackend, routes) and `switchyard explain`.',
  schema: {
    frontend: { acls: aclsSchema, useBackend: useBackendSchema, routes: routesSchema },
    backend: { acls: backendAclsSchema },
    defaults: { acls: defaultAclsSchema },
  },
  register({ slots }) {
    for (const [name, f] of Object.entries(FETCHES)) {
      if (!SHARED_FETCHES.has(name)) slots.provide(FETCH_SLOT, name, f, { description: f.description });
    }
    for (const [name, m] of Object.entries(MATCHERS)) slots.provide(MATCH_SLOT, name, m, { description: m.description });
    for (const [name, c] of Object.entries({ ...HAPROXY_CONVERTERS, ...CONVERTERS, ...MORE_CONVERTERS })) slots.provide(CONVERTER_SLOT, name, c, { description: c.description });
    const service: AclService = { forGateway: compilerFor };
    provideMapCommands(slots);
    slots.provide(ACL_COMPILER, 'default', service, { description: 'Compiles conditions, fetches and %[…] formats for other plugins.' });
    slots.provide(EXPLAIN_SLOT, 'routing', routingExplainer, { description: 'Backend choice in `switchyard explain`.' });
    slots.provide(
      CLI_COMMAND_SLOT,
      'explain',
      explainCommand((gateway, ex, out) => {
        const compiler = compilerFor(gateway);
        const names = compiler.aclNames(ex.frontend.name).filter((n) => !/^[A-Z_0-9.]+$/.test(n));
        if (names.length === 0) out('(no named ACLs)');
        for (const n of names) {
          const c = compiler.compileCondition(ex.frontend.name, n, 'explain');
          const t = compiler.trace(c, ex);
          for (const l of t.lines) out(`[${l.matched ? 'x' : ' '}] ${l.text}`);
        }
      }),
      { description: 'Explain how one request is handled.' },
    );
  },
  // Everything that can be refused is compiled here, so `switchyard validate` refuses it too:
  // every named ACL (used or not, as HAProxy parses them all), useBackend rules and routes.
  provision(gateway) {
    const compiler = compilerFor(gateway);
    const state = states.get(gateway)!;
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      for (const acl of compiler.aclNames(name)) {
        if (/^[A-Z_0-9.]+$/.test(acl) && !Object.prototype.hasOwnProperty.call(fe.acls ?? {}, acl)) continue; // predefined
        compiler.compileCondition(name, acl, `frontends.${name}.acls.${acl}`);
      }
      const useBackend = compileUseBackend(gateway, compiler, name, (fe.useBackend as UseBackendRule[] | undefined) ?? []);
      const routes = (fe.routes as RouteConfig[] | undefined) ?? [];
      if (routes.length > 0 && fe.mode !== 'http') {
        throw AclErrors.MODE_MISMATCH.with({ location: { path: `frontends.${name}.routes` } }, `frontends.${name}.routes`, 'routes need an http frontend; use useBackend in tcp mode');
      }
      const table: FrontendRouting = { useBackend, routes: compileRoutes(gateway, name, routes) };
      if (table.useBackend.length > 0 || table.routes.length > 0) state.routing.set(name, table);
    }
    for (const [name, be] of Object.entries(gateway.config.backends)) {
      for (const acl of Object.keys((be.acls as AclDefinitions | undefined) ?? {})) compiler.compileCondition(backendAclScope(name), acl, `backends.${name}.acls.${acl}`);
    }
  },
  apply(gateway) {
    const state = states.get(gateway)!;
    if (state.routing.size === 0) return;
    const byFrontend = new Map<object, FrontendRouting>();
    for (const [name, table] of state.routing) byFrontend.set(gateway.frontends.get(name)!, table);
    gateway.hooks.route.tap({ name: NAME, stage: Stage.ROUTING }, (ex: Exchange) => {
      const table = byFrontend.get(ex.frontend);
      if (table === undefined) return undefined;
      const backend = route(table, ex);
      return backend === undefined ? undefined : { backend };
    });
  },
});

export default plugin;
export type { HttpExchange };
