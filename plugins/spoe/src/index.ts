import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  HAPROXY_DIRECTIVE_SLOT, Stage, definePlugin, durationSchema, haproxyDirectiveName, type Exchange, type FetchValue, type GatewayApi, type JsonSchema,
} from '@switchyard/sdk';
import { ACL_COMPILER, type AclCompiler } from '@switchyard/plugin-acl';
import { HEALTH_CHECK_SLOT } from '@switchyard/plugin-health-check';
import { AgentPool, NotifyError, ERR_UNKNOWN } from './agent';
import { checkEngine, parseSpoeConf, SpoeConfError, type SpoeAgentConfig, type SpoeEngineConfig, type SpoeEvent, type SpoeMessageConfig } from './conf';
import { SpoeErrors } from './errors';
import { directives } from './haproxy';
import { spopCheck } from './check';
import type { SpopAction, SpopMessage, TypedValue } from './spop';

export { SpoeErrors } from './errors';
export { parseSpoeConf, type SpoeEngineConfig } from './conf';
export * as spop from './spop';

export const NAME = '@switchyard/plugin-spoe';

/** Events this plugin serves; the others are refused at load, naming the event. */
const SERVED: ReadonlySet<SpoeEvent> = new Set(['on-client-session', 'on-frontend-http-request', 'on-frontend-tcp-request']);

const varName = { type: 'string', pattern: '^[A-Za-z0-9_.]+$' };
const engineSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'One SPOE engine (HAProxy filter spoe [engine <name>] config <file>): a SPOE file, or the same written here (agent, messages, groups).',
  properties: {
    engine: { type: 'string', description: 'The [scope] of the SPOE file to use (without it the file has no scope); the engine\'s name, the agent\'s by default.' },
    config: { type: 'string', description: 'The SPOE configuration file (HAProxy\'s format: spoe-agent, spoe-message, spoe-group), relative to the config file.' },
    agent: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'useBackend'],
      description: 'Without `config`: the spoe-agent section.',
      properties: {
        name: { type: 'string', description: 'The agent\'s name (the default engine name and var-prefix).' },
        messages: { type: 'array', items: { type: 'string' }, default: [], description: 'Messages sent on their events.' },
        groups: { type: 'array', items: { type: 'string' }, default: [], description: 'Groups spoeGroups rules may send.' },
        varPrefix: { ...varName, description: 'Prefix between the scope and the name of the variables the agent sets (option var-prefix); the agent name by default.' },
        useBackend: { type: 'string', description: 'The mode tcp backend whose servers are the agents.' },
        timeouts: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'timeout hello / idle / processing (0 = none).',
          properties: {
            hello: durationSchema('Wait for the AGENT-HELLO.', 0),
            idle: durationSchema('An idle connection to an agent is closed after this.', 0),
            processing: durationSchema('Budget of one event or group: a connection, the NOTIFY, the ACK.', 0),
          },
        },
        continueOnError: { type: 'boolean', default: false, description: 'After an error, keep sending the other events and groups of the request.' },
        setOnError: { ...varName, description: 'txn.<prefix>.<name> gets the error code (1 timeout, 256+N SPOP status, 255 other).' },
        setProcessTime: { ...varName, description: 'txn.<prefix>.<name> gets the last event\'s processing time (ms).' },
        setTotalTime: { ...varName, description: 'txn.<prefix>.<name> gets the request\'s total SPOE time (ms).' },
        forceSetVar: { type: 'boolean', default: false, description: 'Let the agent set any variable (also proc), not only names the config mentions.' },
        registerVarNames: { type: 'array', items: varName, default: [], description: 'More variable names (without scope and prefix) the agent may set.' },
        maxFrameSize: { type: 'integer', minimum: 256, maximum: 16380, default: 16380, description: 'Largest frame announced in HAPROXY-HELLO.' },
        pipelining: { type: 'boolean', default: true, description: 'Offer pipelining (several NOTIFY in flight on one connection).' },
      },
    },
    messages: {
      type: 'object',
      description: 'Without `config`: spoe-message sections by name.',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          args: { type: 'array', items: { type: 'string' }, default: [], description: 'Arguments, [name=]<sample>: "ip=src", "path=url".' },
          event: { enum: ['on-client-session', 'on-server-session', 'on-frontend-tcp-request', 'on-backend-tcp-request', 'on-tcp-response', 'on-frontend-http-request', 'on-backend-http-request', 'on-http-response'], description: 'When the message is sent (messages listed by the agent).' },
          if: { type: 'string', description: 'Send only when this ACL condition holds.' },
          unless: { type: 'string', description: 'Send only when this ACL condition does not hold.' },
        },
      },
    },
    groups: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } }, description: 'Without `config`: spoe-group sections (name → messages).' },
  },
};

interface InlineEngine {
  engine?: string;
  config?: string;
  agent?: Partial<Omit<SpoeAgentConfig, 'timeouts'>> & { name: string; useBackend: string; timeouts?: Partial<SpoeAgentConfig['timeouts']> };
  messages?: Record<string, { args?: string[]; event?: SpoeEvent; if?: string; unless?: string }>;
  groups?: Record<string, string[]>;
}

/** The engine written in the config instead of a SPOE file. */
function inlineEngine(e: InlineEngine, fail: (why: string) => Error): SpoeEngineConfig {
  const a = e.agent;
  if (!a) throw fail('give either config (a SPOE file) or agent (with messages, groups)');
  const agent: SpoeAgentConfig = {
    name: a.name,
    messages: a.messages ?? [],
    groups: a.groups ?? [],
    varPrefix: a.varPrefix ?? a.name,
    timeouts: { hello: a.timeouts?.hello ?? 0, idle: a.timeouts?.idle ?? 0, processing: a.timeouts?.processing ?? 0 },
    useBackend: a.useBackend,
    continueOnError: a.continueOnError ?? false,
    setOnError: a.setOnError,
    setProcessTime: a.setProcessTime,
    setTotalTime: a.setTotalTime,
    forceSetVar: a.forceSetVar ?? false,
    registerVarNames: a.registerVarNames ?? [],
    maxFrameSize: a.maxFrameSize ?? 16380,
    pipelining: a.pipelining ?? true,
    async: false,
  };
  const messages: Record<string, SpoeMessageConfig> = {};
  for (const [name, m] of Object.entries(e.messages ?? {})) {
    messages[name] = {
      args: (m.args ?? []).map((x) => {
        const eq = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(x);
        return eq ? { name: eq[1]!, expr: eq[2]! } : { name: '', expr: x };
      }),
      ...(m.event ? { event: m.event } : {}),
      ...(m.if !== undefined ? { if: m.if } : {}),
      ...(m.unless !== undefined ? { unless: m.unless } : {}),
    };
  }
  const groups = e.groups ?? {};
  checkEngine(agent, messages, groups, fail);
  return { engine: e.engine ?? agent.name, agent, messages, groups };
}

const groupRuleSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['engine', 'group'],
  description: 'http-request send-spoe-group <engine> <group> [if|unless cond].',
  properties: {
    engine: { type: 'string', description: 'The engine (as in spoe[].engine, or the agent name).' },
    group: { type: 'string', description: 'A spoe-group the engine\'s agent lists in `groups`.' },
    if: { type: 'string', description: 'Send only when this ACL condition holds.' },
    unless: { type: 'string', description: 'Send only when this ACL condition does not hold.' },
  },
};

type Arg = { name: string; read: (ex: Exchange) => FetchValue; ip: boolean };
interface CompiledMessage {
  name: string;
  args: Arg[];
  cond: ((ex: Exchange) => boolean) | null;
}
interface Engine {
  conf: SpoeEngineConfig;
  pool?: AgentPool;
  /** Messages by event. */
  events: Map<SpoeEvent, CompiledMessage[]>;
  groups: Map<string, CompiledMessage[]>;
  registered: Set<string>;
}
interface FrontendSpoe {
  engines: Engine[];
  groupRules: Array<{ engine: Engine; group: CompiledMessage[]; cond: ((ex: Exchange) => boolean) | null }>;
  http: boolean;
}

/** Per exchange: the stream id, the next frame id, engines disabled by an error. */
interface StreamState {
  id: number;
  frame: number;
  disabled: Set<Engine> | null;
  total: number;
}

const states = new WeakMap<GatewayApi, Map<string, FrontendSpoe>>();
const SESS = Symbol('spoe.sess-vars');
let nextStream = 1;

/** Fetches whose value HAProxy types as an address (sent as IPV4/IPV6, not STRING). */
const IP_FETCH = /^(src|dst|bc_src|bc_dst|so_src|req\.hdr_ip\(.*\)|hdr_ip\(.*\)|req\.fhdr_ip\(.*\))$/;

function typedOf(v: FetchValue, ip: boolean): TypedValue {
  const x = Array.isArray(v) ? v[0] : v;
  if (x === undefined || x === null) return { type: 'null' };
  if (typeof x === 'boolean') return { type: 'bool', value: x };
  if (typeof x === 'number') return Number.isInteger(x) ? { type: 'int64', value: BigInt(x) } : { type: 'string', value: String(x) };
  const s = String(x);
  if (ip) {
    if (net.isIPv4(s)) return { type: 'ipv4', value: s };
    if (net.isIPv6(s)) {
      const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
      return m ? { type: 'ipv4', value: m[1]! } : { type: 'ipv6', value: s };
    }
  }
  return { type: 'string', value: s };
}

function valueOf(v: TypedValue): string | number | boolean | undefined {
  switch (v.type) {
    case 'null':
      return undefined;
    case 'bool':
      return v.value;
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'uint64':
      return Number(v.value);
    case 'binary':
      return v.value.toString('latin1');
    default:
      return v.value;
  }
}

/** Every variable name (without its scope) the config mentions: HAProxy registers these, and an agent may only set them. */
function referencedNames(config: unknown): Set<string> {
  const out = new Set<string>();
  const text = JSON.stringify(config);
  for (const m of text.matchAll(/\b(?:proc|sess|txn|req|res)\.([A-Za-z0-9_.]*[A-Za-z0-9_])/g)) out.add(m[1]!);
  return out;
}

function setVar(ex: Exchange, scope: string, name: string, value: string | number | boolean | undefined): void {
  const key = `${scope}.${name}`;
  let sess: Map<string, unknown> | undefined;
  if (scope === 'sess') {
    sess = ex.connection.data.get(SESS) as Map<string, unknown> | undefined;
    if (!sess) ex.connection.data.set(SESS, (sess = new Map()));
  }
  if (value === undefined) {
    ex.vars.delete(key);
    sess?.delete(key);
  } else {
    ex.vars.set(key, value);
    sess?.set(key, value);
  }
}

function apply(engine: Engine, actions: ReadonlyArray<SpopAction>, ex: Exchange): void {
  const a = engine.conf.agent;
  for (const act of actions) {
    const name = `${a.varPrefix}.${act.name}`;
    if (act.scope === 'proc' && !a.forceSetVar) continue;
    if (!a.forceSetVar && !engine.registered.has(name)) continue; // unknown variables are silently ignored (SPOE.txt 3.4)
    setVar(ex, act.scope, name, act.action === 'set-var' ? valueOf(act.value) : undefined);
  }
}

const streams = new WeakMap<Exchange, StreamState>();
function stream(ex: Exchange): StreamState {
  let s = streams.get(ex);
  if (!s) {
    s = { id: nextStream++, frame: 0, disabled: null, total: 0 };
    streams.set(ex, s);
  }
  return s;
}

/** Sends one event's (or group's) messages and applies the ACK, as HAProxy's SPOE filter does. */
async function processEvent(engine: Engine, list: ReadonlyArray<CompiledMessage>, ex: Exchange): Promise<void> {
  const st = stream(ex);
  if (st.disabled?.has(engine)) return;
  const msgs: SpopMessage[] = [];
  for (const m of list) {
    if (m.cond && !m.cond(ex)) continue;
    msgs.push({ name: m.name, args: m.args.map((x) => ({ name: x.name, value: typedOf(x.read(ex), x.ip) })) });
  }
  if (msgs.length === 0) return; // nothing encoded: no NOTIFY
  const a = engine.conf.agent;
  const t0 = Date.now();
  try {
    const actions = await engine.pool!.notify(st.id, ++st.frame, msgs, a.timeouts.processing);
    apply(engine, actions, ex);
    if (a.setOnError && !a.continueOnError) setVar(ex, 'txn', `${a.varPrefix}.${a.setOnError}`, undefined);
  } catch (err) {
    const code = err instanceof NotifyError ? err.code : ERR_UNKNOWN;
    if (a.setOnError) setVar(ex, 'txn', `${a.varPrefix}.${a.setOnError}`, code);
    if (!a.continueOnError) (st.disabled ??= new Set()).add(engine);
  } finally {
    const took = Date.now() - t0;
    st.total += took;
    if (a.setProcessTime) setVar(ex, 'txn', `${a.varPrefix}.${a.setProcessTime}`, took);
    if (a.setTotalTime) setVar(ex, 'txn', `${a.varPrefix}.${a.setTotalTime}`, st.total);
  }
}

function compileMessages(names: ReadonlyArray<string>, conf: SpoeEngineConfig, compiler: AclCompiler, frontend: string, where: string): CompiledMessage[] {
  return names.map((name) => {
    const m = conf.messages[name]!;
    const args = m.args.map((x, i) => {
      const f = compiler.compileFetch(x.expr, `${where}: spoe-message ${name} args[${i}]`);
      const [base, ...convs] = x.expr.split(',');
      const ip = IP_FETCH.test(base!.trim()) && convs.every((c) => /^ipmask\(/.test(c.trim()));
      return { name: x.name, read: f.read, ip };
    });
    const c = m.if !== undefined || m.unless !== undefined ? compiler.compileRuleCondition(frontend, { if: m.if, unless: m.unless }, `${where}: spoe-message ${name} event`) : undefined;
    return { name, args, cond: c ? (ex: Exchange) => c.test(ex) : null };
  });
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.1',
  core: '>=0.1.2 <1.0.0',
  description: 'SPOE: sends messages to external agents over SPOP (HAProxy filter spoe, send-spoe-group, spop-check); their ACKs set variables rules use.',
  schema: {
    frontend: {
      spoe: { type: 'array', items: engineSchema, description: 'SPOE engines of this frontend (HAProxy filter spoe).' },
      spoeGroups: { type: 'array', items: groupRuleSchema, description: 'send-spoe-group rules, run in order just before the http-request rules.' },
    },
  },
  register({ slots }) {
    for (const d of directives) slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName(d.scope, d.keyword), d);
    slots.provide(HEALTH_CHECK_SLOT, 'spop-check', spopCheck, { description: spopCheck.description });
  },
  provision(gateway) {
    const out = new Map<string, FrontendSpoe>();
    let compiler: AclCompiler | undefined;
    const registered = referencedNames(gateway.config);
    for (const [feName, fe] of Object.entries(gateway.config.frontends)) {
      const list = (fe.spoe as InlineEngine[] | undefined) ?? [];
      const rules = (fe.spoeGroups as Array<{ engine: string; group: string; if?: string; unless?: string }> | undefined) ?? [];
      if (list.length === 0 && rules.length === 0) continue;
      compiler ??= gateway.slots.get(ACL_COMPILER, 'default')?.forGateway(gateway);
      if (!compiler) throw SpoeErrors.NO_ACL.with({ location: gateway.locate(['frontends', feName, 'spoe']) });
      const engines: Engine[] = [];
      list.forEach((e, i) => {
        const where = ['frontends', feName, 'spoe', i];
        const file = e.config === undefined ? `frontends.${feName}.spoe[${i}]` : path.resolve(gateway.baseDir, e.config);
        let conf: SpoeEngineConfig;
        if (e.config === undefined) {
          conf = inlineEngine(e, (why) => SpoeErrors.BAD_CONFIG.with({ location: gateway.locate([...where, 'agent']) }, file, why));
        } else {
          if (e.agent || e.messages || e.groups) throw SpoeErrors.BAD_CONFIG.with({ location: gateway.locate(where) }, file, 'give either config (a SPOE file) or agent/messages/groups, not both');
          try {
            conf = parseSpoeConf(fs.readFileSync(file, 'utf8'), e.engine);
          } catch (err) {
            const line = err instanceof SpoeConfError ? `:${err.line}` : '';
            throw SpoeErrors.BAD_CONFIG.with({ cause: err, location: gateway.locate([...where, 'config']) }, `${file}${line}`, (err as Error).message);
          }
        }
        if (engines.some((x) => x.conf.engine === conf.engine)) throw SpoeErrors.BAD_CONFIG.with({ location: gateway.locate(where) }, file, `engine "${conf.engine}" is declared twice on frontend ${feName}`);
        const t = conf.agent.timeouts;
        if (t.hello === 0 || t.idle === 0 || t.processing === 0) {
          gateway.logger.warn({ plugin: NAME, frontend: feName }, `missing timeouts for SPOE agent '${conf.agent.name}' (${file}): set 'hello', 'idle' and 'processing' (HAProxy warns the same; 0 means none)`);
        }
        const be = gateway.config.backends[conf.agent.useBackend];
        if (!be) throw SpoeErrors.BAD_CONFIG.with({ location: gateway.locate([...where, 'config']) }, file, `use-backend ${conf.agent.useBackend}: no such backend`);
        if (be.mode !== 'tcp') throw SpoeErrors.BAD_CONFIG.with({ location: gateway.locate([...where, 'config']) }, file, `use-backend ${conf.agent.useBackend}: the agents' backend must be mode tcp`);
        const events = new Map<SpoeEvent, CompiledMessage[]>();
        for (const m of conf.agent.messages) {
          const ev = conf.messages[m]!.event!;
          if (!SERVED.has(ev)) throw SpoeErrors.EVENT.with({ location: gateway.locate([...where, 'config']) }, ev, m, [...SERVED].join(', '));
          if (ev === 'on-frontend-http-request' && fe.mode !== 'http') throw SpoeErrors.BAD_CONFIG.with({ location: gateway.locate(where) }, file, `message ${m}: on-frontend-http-request needs an http frontend`);
          if (ev === 'on-frontend-tcp-request' && fe.mode !== 'tcp') throw SpoeErrors.BAD_CONFIG.with({ location: gateway.locate(where) }, file, `message ${m}: on-frontend-tcp-request needs a tcp frontend here (use on-frontend-http-request)`);
          const at = events.get(ev) ?? [];
          at.push(...compileMessages([m], conf, compiler!, feName, file));
          events.set(ev, at);
        }
        const groups = new Map<string, CompiledMessage[]>();
        for (const g of conf.agent.groups) groups.set(g, compileMessages(conf.groups[g]!, conf, compiler!, feName, file));
        const reg = new Set(registered);
        for (const v of conf.agent.registerVarNames) reg.add(`${conf.agent.varPrefix}.${v}`);
        engines.push({ conf, events, groups, registered: reg });
      });
      const groupRules = rules.map((r, i) => {
        const where = ['frontends', feName, 'spoeGroups', i];
        const engine = engines.find((x) => x.conf.engine === r.engine);
        if (!engine) throw SpoeErrors.UNKNOWN_GROUP.with({ location: gateway.locate([...where, 'engine']) }, `engine "${r.engine}"`, `frontend ${feName} (engines: ${engines.map((x) => x.conf.engine).join(', ') || 'none'})`);
        const group = engine.groups.get(r.group);
        if (!group) throw SpoeErrors.UNKNOWN_GROUP.with({ location: gateway.locate([...where, 'group']) }, `group "${r.group}"`, `agent ${engine.conf.agent.name}'s groups (${[...engine.groups.keys()].join(', ') || 'none'})`);
        const c = r.if !== undefined || r.unless !== undefined ? compiler!.compileRuleCondition(feName, { if: r.if, unless: r.unless }, `frontends.${feName}.spoeGroups[${i}]`) : undefined;
        return { engine, group, cond: c ? (ex: Exchange) => c.test(ex) : null };
      });
      out.set(feName, { engines, groupRules, http: fe.mode === 'http' });
    }
    if (out.size > 0) states.set(gateway, out);
  },
  apply(gateway) {
    const all = states.get(gateway);
    if (!all) return;
    const logger = gateway.logger.child({ plugin: NAME });
    const byFrontend = new Map<object, FrontendSpoe>();
    const pools: AgentPool[] = [];
    for (const [name, f] of all) {
      byFrontend.set(gateway.frontends.get(name)!, f);
      for (const e of f.engines) {
        const a = e.conf.agent;
        e.pool = new AgentPool(gateway.backends.get(a.useBackend)!, {
          engineId: `${process.pid}-${name}-${e.conf.engine}`,
          helloMs: a.timeouts.hello,
          idleMs: a.timeouts.idle,
          maxFrameSize: a.maxFrameSize,
          pipelining: a.pipelining,
          maxWaiting: 20,
        }, logger.child({ engine: e.conf.engine }));
        pools.push(e.pool);
      }
    }
    gateway.onStop(() => {
      for (const p of pools) p.stop();
    });
    gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.SECURITY - 1 }, async (ex: Exchange) => {
      const f = byFrontend.get(ex.frontend);
      if (!f) return undefined;
      const sess = ex.connection.data.get(SESS) as Map<string, unknown> | undefined;
      if (sess) for (const [k, v] of sess) ex.vars.set(k, v);
      // HAProxy 2.6 starts a stream, and so fires on-client-session, for each HTTP request
      // (measured beside it: one NOTIFY per request on a keep-alive connection, txn variables kept).
      const ev: SpoeEvent = ex.kind === 'http' ? 'on-frontend-http-request' : 'on-frontend-tcp-request';
      for (const e of f.engines) {
        const session = e.events.get('on-client-session');
        if (session) await processEvent(e, session, ex);
        const list = e.events.get(ev);
        if (list) await processEvent(e, list, ex);
      }
      if (ex.kind === 'http') {
        for (const r of f.groupRules) {
          if (r.cond && !r.cond(ex)) continue;
          await processEvent(r.engine, r.group, ex);
        }
      }
      return undefined;
    });
  },
});

export default plugin;
