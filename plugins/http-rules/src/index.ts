import { loadErrorFiles } from './errorfiles';
import {
  Stage, definePlugin, type Connection, type Exchange, type GatewayApi, type HttpExchange, type JsonSchema,
  type ResponseHead,
} from '@switchyard/sdk';
import { COMPILER_SLOT, EXPLAIN_SLOT, RESPONSE_VAR, backendAclScope, type AclCompiler, type ExplainStep } from '@switchyard/plugin-acl';
import { RuleErrors } from './errors';
import { backendOptions, frontendOptions } from './schema';
import { provideHaproxyDirectives } from './haproxy';
import {
  AFTER_RESPONSE_ACTIONS, REQUEST_ACTIONS, RESPONSE_ACTIONS, TCP_ACTIONS, Verdict, closeConnection, compileRequestRule, compileResponseRule, compileTcpRule, inspect, tcpVerdict,
  type CompiledRequestRule, type CompiledResponseRule, type CompiledTcpRule, type RuleConfig, type TcpRequestConfig,
} from './rules';

export { RuleErrors } from './errors';
export type { RuleConfig, TcpRequestConfig } from './rules';

export const NAME = '@switchyard/plugin-http-rules';

interface FrontendRules {
  request: CompiledRequestRule[];
  response: CompiledResponseRule[];
  connection: CompiledTcpRule[];
  content: CompiledTcpRule[];
  inspectDelay: number;
  inspectBytes: number;
}

const states = new WeakMap<GatewayApi, { compiler: AclCompiler; rules: Map<string, FrontendRules>; after: Map<object, CompiledResponseRule[]>; backendRules: Map<string, { request: CompiledRequestRule[]; response: CompiledResponseRule[] }> }>();

function compilerOf(gateway: GatewayApi): AclCompiler | undefined {
  return gateway.slots.get<{ forGateway(g: GatewayApi): AclCompiler }>(COMPILER_SLOT, 'default')?.forGateway(gateway);
}

function runRequestRules(rules: ReadonlyArray<CompiledRequestRule>, ex: HttpExchange): boolean {
  for (const r of rules) {
    if (r.condition !== undefined && !r.condition.test(ex)) continue;
    const v = r.run(ex);
    if (v === Verdict.Handled) return true;
    if (v === Verdict.Stop) return false;
  }
  return false;
}

const requestExplainer: ExplainStep = {
  stage: Stage.SECURITY,
  title: 'http-request rules',
  explain(gateway, ex, out) {
    const s = states.get(gateway);
    const rules = s?.rules.get(ex.frontend.name)?.request ?? [];
    if (!s || rules.length === 0) {
      out('no httpRequest rules');
      return undefined;
    }
    for (const r of rules) {
      const label = `httpRequest[${r.index}] ${r.describe}${r.condition ? ` if ${r.condition.source}` : ''}`;
      if (r.condition) {
        const t = s.compiler.trace(r.condition, ex);
        out(`${label}: condition ${t.matched ? 'true → fires' : 'false → skipped'}`);
        for (const l of t.lines) out(`    [${l.matched ? 'x' : ' '}] ${l.text}`);
        if (!t.matched) continue;
      } else {
        out(`${label}: no condition → fires`);
      }
      const v = r.run(ex);
      if (v === Verdict.Handled) return { handled: `httpRequest[${r.index}] ${r.describe}` };
      if (v === Verdict.Stop) {
        out('    allow: the remaining http-request rules are skipped');
        break;
      }
    }
    return undefined;
  },
};

export const plugin = definePlugin({
  name: NAME,
  version: '0.2.9',
  core: '>=0.1.2 <1.0.0',
  description: 'http-request, http-response and tcp-request rules with ACL conditions.',
  schema: { frontend: frontendOptions, backend: backendOptions },
  register({ slots }) {
    slots.provide(EXPLAIN_SLOT, 'http-request', requestExplainer, { description: 'http-request rules in `switchyard explain`.' });
    provideHaproxyDirectives(slots);
  },
  // Rules are compiled here, so `switchyard validate` refuses what `run` would.
  provision(gateway) {
    const all = new Map<string, FrontendRules>();
    let compiler: AclCompiler | undefined;
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const req = (fe.httpRequest as RuleConfig[] | undefined) ?? [];
      const res = (fe.httpResponse as RuleConfig[] | undefined) ?? [];
      const tcp = fe.tcpRequest as (TcpRequestConfig & { inspectBytes: number }) | undefined;
      if (req.length + res.length + (tcp?.connection?.length ?? 0) + (tcp?.content?.length ?? 0) === 0) continue;
      compiler ??= compilerOf(gateway);
      if (!compiler) throw RuleErrors.NO_ACL(`frontends.${name}`);
      if (fe.mode !== 'http' && (req.length > 0 || res.length > 0)) {
        throw RuleErrors.INVALID(`frontends.${name}`, 'httpRequest/httpResponse rules need an http frontend');
      }
      const c = compiler;
      all.set(name, {
        request: req.map((r, i) => compileRequestRule(c, name, r, i, 'httpRequest')),
        response: res.map((r, i) => compileResponseRule(c, name, r, i)),
        connection: (tcp?.connection ?? []).map((r, i) => compileTcpRule(c, name, r, i, 'connection')),
        content: (tcp?.content ?? []).map((r, i) => compileTcpRule(c, name, r, i, 'content')),
        inspectDelay: tcp?.inspectDelay ?? 0,
        inspectBytes: tcp?.inspectBytes ?? 16384,
      });
    }
    // http-after-response: the backend's rules, then the frontend's, after every httpResponse rule.
    const after = new Map<object, CompiledResponseRule[]>();
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const list = (fe.httpAfterResponse as RuleConfig[] | undefined) ?? [];
      if (list.length === 0) continue;
      compiler ??= compilerOf(gateway);
      if (!compiler) throw RuleErrors.NO_ACL(`frontends.${name}`);
      const c = compiler;
      after.set(gateway.frontends.get(name)!, list.map((r, i) => compileResponseRule(c, name, r, i, `frontends.${name}.httpAfterResponse`)));
    }
    for (const [name, be] of Object.entries(gateway.config.backends)) {
      const list = (be.httpAfterResponse as RuleConfig[] | undefined) ?? [];
      if (list.length === 0) continue;
      compiler ??= compilerOf(gateway);
      if (!compiler) throw RuleErrors.NO_ACL(`backends.${name}`);
      const c = compiler;
      // Conditions of a backend's rules see its own ACLs and the shared ones (no frontend's).
      after.set(gateway.backends.get(name)!, list.map((r, i) => compileResponseRule(c, backendAclScope(name), r, i, `backends.${name}.httpAfterResponse`)));
    }
    // Backend rules: conditions see the backend's own ACLs, the predefined ones and inline conditions (HAProxy's backend scope).
    const backendRules = new Map<string, { request: CompiledRequestRule[]; response: CompiledResponseRule[] }>();
    for (const [name, be] of Object.entries(gateway.config.backends)) {
      const req = (be.httpRequest as RuleConfig[] | undefined) ?? [];
      const res = (be.httpResponse as RuleConfig[] | undefined) ?? [];
      if (req.length + res.length === 0) continue;
      compiler ??= compilerOf(gateway);
      if (!compiler) throw RuleErrors.NO_ACL(`backends.${name}`);
      if (be.mode !== 'http') throw RuleErrors.INVALID(`backends.${name}`, 'httpRequest/httpResponse rules need an http backend');
      const c = compiler;
      backendRules.set(name, {
        request: req.map((r, i) => compileRequestRule(c, backendAclScope(name), r, i, 'httpRequest', `backends.${name}`)),
        response: res.map((r, i) => compileResponseRule(c, backendAclScope(name), r, i, `backends.${name}.httpResponse`)),
      });
    }
    if (!compiler) return;
    states.set(gateway, { compiler, rules: all, after, backendRules });
  },
  apply(gateway) {
    const state = states.get(gateway);
    if (!state) return;
    loadErrorFiles(gateway);
    const all = state.rules;
    const after = state.after;
    if (after.size > 0) {
      const runList = (rules: CompiledResponseRule[] | undefined, head: ResponseHead, ex: HttpExchange): boolean => {
        if (rules === undefined) return true;
        for (const r of rules) {
          if (r.condition !== undefined && !r.condition.test(ex)) continue;
          if (r.action === 'allow') return false;
          r.run(head, ex);
          if (ex.error !== null) return false;
        }
        return true;
      };
      gateway.hooks.respond.tap({ name: `${NAME}:after-response`, stage: Stage.REWRITE + 50 }, (head: ResponseHead, ex: HttpExchange) => {
        const fromBackend = ex.backend ? after.get(ex.backend) : undefined;
        const fromFrontend = after.get(ex.frontend);
        if (fromBackend === undefined && fromFrontend === undefined) return head;
        ex.vars.set(RESPONSE_VAR, head);
        if (runList(fromBackend, head, ex)) runList(fromFrontend, head, ex);
        ex.vars.delete(RESPONSE_VAR);
        return head;
      });
    }
    if (state.backendRules.size > 0) {
      const byBackend = new Map<object, { request: CompiledRequestRule[]; response: CompiledResponseRule[] }>();
      for (const [name, r] of state.backendRules) byBackend.set(gateway.backends.get(name)!, r);
      // After the backend is chosen, before the request head is written to its server.
      gateway.hooks.forward.tap({ name: `${NAME}:backend`, stage: Stage.REWRITE - 10 }, (ex: Exchange) => {
        if (ex.kind !== 'http' || ex.backend === null || ex.backend === undefined) return undefined;
        const rules = byBackend.get(ex.backend)?.request;
        if (rules === undefined || rules.length === 0) return undefined;
        return runRequestRules(rules, ex) ? true : undefined;
      });
      gateway.hooks.respond.tap({ name: `${NAME}:backend`, stage: Stage.REWRITE - 10 }, (head: ResponseHead, ex: HttpExchange) => {
        const rules = ex.backend ? byBackend.get(ex.backend)?.response : undefined;
        if (rules === undefined || rules.length === 0) return head;
        ex.vars.set(RESPONSE_VAR, head);
        for (const r of rules) {
          if (r.condition !== undefined && !r.condition.test(ex)) continue;
          r.run(head, ex);
          if (ex.error !== null) break;
        }
        ex.vars.delete(RESPONSE_VAR);
        return head;
      });
    }
    const byFrontend = new Map<object, FrontendRules>();
    for (const [name, r] of all) byFrontend.set(gateway.frontends.get(name)!, r);
    const some = (pick: (r: FrontendRules) => number): boolean => [...all.values()].some((r) => pick(r) > 0);

    if (some((r) => r.connection.length)) {
      gateway.hooks.accept.tap({ name: NAME, stage: Stage.SECURITY }, (conn: Connection) => {
        const rules = byFrontend.get(conn.frontend)?.connection;
        if (rules === undefined || rules.length === 0) return undefined;
        // Fetches read an exchange: give them a connection-only view (src, dst_port, ssl_fc…).
        const view = { kind: 'tcp', connection: conn, frontend: conn.frontend, clientAddress: conn.remoteAddress, clientPort: conn.remotePort, vars: new Map(), buffered: [] } as unknown as Exchange;
        return tcpVerdict(rules, view) === false ? false : undefined;
      });
    }
    if (some((r) => r.request.length + r.content.length)) {
      // Synchronous: no promise per HTTP request.
      gateway.hooks.route.tap({ name: NAME, stage: Stage.SECURITY }, (ex: Exchange) => {
        if (ex.kind !== 'http') return undefined;
        const rules = byFrontend.get(ex.frontend);
        if (rules === undefined) return undefined;
        // HTTP mode: tcp-request content rules run on each request, before the http-request
        // rules (HAProxy evaluates them per stream, the request already parsed); the first
        // accept or reject decides; reject closes the connection without a response.
        if (rules.content.length > 0 && tcpVerdict(rules.content, ex) === false) {
          closeConnection(ex);
          return { handled: true as const };
        }
        if (rules.request.length === 0) return undefined;
        return runRequestRules(rules.request, ex) ? { handled: true as const } : undefined;
      });
    }
    if (some((r) => r.content.length)) {
      gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.SECURITY + 1 }, async (ex: Exchange) => {
        if (ex.kind !== 'tcp') return undefined;
        const rules = byFrontend.get(ex.frontend);
        if (rules === undefined || rules.content.length === 0) return undefined;
        const verdict = await inspect(ex, rules.content, rules.inspectDelay, rules.inspectBytes);
        if (verdict === false) {
          ex.termination = 'local';
          ex.socket.destroy();
          return { handled: true as const };
        }
        return undefined;
      });
    }
    if (some((r) => r.response.length)) {
      gateway.hooks.respond.tap({ name: NAME, stage: Stage.REWRITE }, (head: ResponseHead, ex: HttpExchange) => {
        const rules = byFrontend.get(ex.frontend)?.response;
        if (rules === undefined || rules.length === 0) return head;
        ex.vars.set(RESPONSE_VAR, head);
        for (const r of rules) {
          if (r.condition !== undefined && !r.condition.test(ex)) continue;
          r.run(head, ex);
          if (ex.error !== null) break;
        }
        ex.vars.delete(RESPONSE_VAR);
        return head;
      });
    }
  },
});

export default plugin;
