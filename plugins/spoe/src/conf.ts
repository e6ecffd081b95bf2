import { parseDuration } from '@switchyard/sdk';

/** The events a message can be sent on (HAProxy's list; the plugin says which it serves). */
export const EVENTS = [
  'on-client-session', 'on-server-session', 'on-frontend-tcp-request', 'on-backend-tcp-request', 'on-tcp-response',
  'on-frontend-http-request', 'on-backend-http-request', 'on-http-response',
] as const;
export type SpoeEvent = (typeof EVENTS)[number];

export interface SpoeArg {
  /** Empty for an unnamed argument. */
  name: string;
  /** A sample expression: `src`, `req.hdr(host),lower`. */
  expr: string;
}

export interface SpoeMessageConfig {
  args: SpoeArg[];
  event?: SpoeEvent;
  if?: string;
  unless?: string;
}

export interface SpoeAgentConfig {
  name: string;
  messages: string[];
  groups: string[];
  varPrefix: string;
  timeouts: { hello: number; idle: number; processing: number };
  useBackend: string;
  continueOnError: boolean;
  setOnError?: string;
  setProcessTime?: string;
  setTotalTime?: string;
  forceSetVar: boolean;
  registerVarNames: string[];
  maxFrameSize: number;
  pipelining: boolean;
  async: boolean;
}

/** One SPOE engine: an agent, its messages and groups (one scope of an SPOE file). */
export interface SpoeEngineConfig {
  engine: string;
  agent: SpoeAgentConfig;
  messages: Record<string, SpoeMessageConfig>;
  groups: Record<string, string[]>;
}

export class SpoeConfError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

const VAR_NAME = /^[A-Za-z0-9_.]+$/;

/** Splits a line into words: quotes group, `#` starts a comment, backslash escapes. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === q) q = null;
      else if (c === '\\' && q === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === '#') break;
    if (c === '"' || c === "'") {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (c === ' ' || c === '\t') {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/**
 * Reads an SPOE configuration file (HAProxy's format: `[engine]` scopes, `spoe-agent`,
 * `spoe-message`, `spoe-group` sections). `engine` selects the scope; without it the file
 * must have no scope and the agent's name is the engine's.
 */
export function parseSpoeConf(text: string, engine: string | undefined): SpoeEngineConfig {
  let scope: string | undefined;
  let anyScope = false;
  let agent: (Partial<SpoeAgentConfig> & { line: number }) | undefined;
  const messages: Record<string, SpoeMessageConfig> = {};
  const groups: Record<string, string[]> = {};
  let section: { kind: 'agent' | 'message' | 'group'; name: string } | undefined;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const raw = lines[n]!.trim();
    const sc = /^\[\s*([^\]\s]+)\s*\]/.exec(raw);
    if (sc) {
      scope = sc[1];
      anyScope = true;
      section = undefined;
      continue;
    }
    const w = words(raw);
    if (w.length === 0) continue;
    const inScope = engine === undefined ? true : scope === engine;
    if (!inScope) continue;
    const bad = (why: string): never => {
      throw new SpoeConfError(line, why);
    };
    const k = w[0]!;
    if (k === 'spoe-agent' || k === 'spoe-message' || k === 'spoe-group') {
      const name = w[1] ?? bad(`${k} needs a name`);
      if (k === 'spoe-agent') {
        if (agent) bad(`a second spoe-agent (${name}) in the same scope (the first is at line ${agent.line})`);
        agent = {
          line, name, messages: [], groups: [], timeouts: { hello: 0, idle: 0, processing: 0 }, continueOnError: false, forceSetVar: false,
          registerVarNames: [], maxFrameSize: 16380, pipelining: true, async: true,
        };
        section = { kind: 'agent', name };
      } else if (k === 'spoe-message') {
        if (messages[name]) bad(`spoe-message ${name} is defined twice`);
        messages[name] = { args: [] };
        section = { kind: 'message', name };
      } else {
        if (groups[name]) bad(`spoe-group ${name} is defined twice`);
        groups[name] = [];
        section = { kind: 'group', name };
      }
      continue;
    }
    if (!section) bad(`"${k}" outside a spoe-agent, spoe-message or spoe-group section`);
    const s = section!;
    if (s.kind === 'agent') {
      const a = agent!;
      const time = (v: string | undefined): number => {
        const ms = v === undefined ? undefined : parseDuration(v);
        return ms === undefined ? bad(`"${w.join(' ')}": "${v ?? ''}" is not a time`) : ms;
      };
      switch (k) {
        case 'messages':
          a.messages!.push(...w.slice(1));
          break;
        case 'groups':
          a.groups!.push(...w.slice(1));
          break;
        case 'use-backend':
          a.useBackend = w[1] ?? bad('use-backend needs a backend name');
          break;
        case 'timeout': {
          const what = w[1];
          if (what !== 'hello' && what !== 'idle' && what !== 'processing') bad('timeout must be hello, idle or processing');
          a.timeouts![what as 'hello'] = time(w[2]);
          break;
        }
        case 'option':
        case 'no': {
          const neg = k === 'no';
          const ow = neg ? w.slice(2) : w.slice(1);
          if (neg && w[1] !== 'option') bad(`"${w.join(' ')}" is not an SPOE agent directive`);
          const o = ow[0];
          const varArg = (): string => {
            const v = ow[1] ?? bad(`option ${o} needs a variable name`);
            if (!VAR_NAME.test(v)) bad(`option ${o}: "${v}" may only use a-z, A-Z, 0-9, '.' and '_'`);
            return v;
          };
          switch (o) {
            case 'var-prefix':
              a.varPrefix = varArg();
              break;
            case 'continue-on-error':
              a.continueOnError = !neg;
              break;
            case 'force-set-var':
              a.forceSetVar = !neg;
              break;
            case 'set-on-error':
              a.setOnError = varArg();
              break;
            case 'set-process-time':
              a.setProcessTime = varArg();
              break;
            case 'set-total-time':
              a.setTotalTime = varArg();
              break;
            case 'pipelining':
              a.pipelining = !neg;
              break;
            case 'async':
              a.async = !neg;
              break;
            case 'send-frag-payload':
            case 'dontlog-normal':
              break; // no fragmentation is ever needed below max-frame-size; logging is the gateway's
            default:
              bad(`unknown SPOE agent option "${o ?? ''}"`);
          }
          break;
        }
        case 'register-var-names':
          for (const v of w.slice(1)) {
            if (!VAR_NAME.test(v)) bad(`register-var-names: "${v}" may only use a-z, A-Z, 0-9, '.' and '_'`);
            a.registerVarNames!.push(v);
          }
          break;
        case 'max-frame-size': {
          const v = Number(w[1]);
          if (!Number.isInteger(v) || v < 256 || v > 16380) bad('max-frame-size must be 256-16380 (tune.bufsize - 4)');
          a.maxFrameSize = v;
          break;
        }
        case 'maxconnrate':
        case 'maxerrrate':
        case 'max-waiting-frames':
        case 'log':
          break; // accepted: rate limits and per-agent logging are not applied (see README)
        default:
          bad(`unknown spoe-agent directive "${k}"`);
      }
    } else if (s.kind === 'message') {
      const m = messages[s.name]!;
      switch (k) {
        case 'args':
          for (const a of w.slice(1)) {
            const eq = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(a);
            m.args.push(eq ? { name: eq[1]!, expr: eq[2]! } : { name: '', expr: a });
          }
          break;
        case 'event': {
          const ev = w[1] as SpoeEvent | undefined;
          if (!ev || !(EVENTS as ReadonlyArray<string>).includes(ev)) bad(`unknown event "${w[1] ?? ''}" (${EVENTS.join(', ')})`);
          m.event = ev;
          delete m.if;
          delete m.unless;
          if (w[2] === 'if' || w[2] === 'unless') {
            if (w.length < 4) bad(`event ${ev}: "${w[2]}" needs a condition`);
            m[w[2]] = w.slice(3).join(' ');
          } else if (w[2] !== undefined) bad(`event ${ev}: expected if or unless, not "${w[2]}"`);
          break;
        }
        case 'acl':
          bad('acl lines in spoe-message are not supported: write the condition inline, { fetch pattern }');
          break;
        default:
          bad(`unknown spoe-message directive "${k}"`);
      }
    } else {
      if (k !== 'messages') bad(`unknown spoe-group directive "${k}"`);
      groups[s.name]!.push(...w.slice(1));
    }
  }
  if (engine !== undefined && !anyScope) throw new SpoeConfError(1, `engine "${engine}" is named but the file has no [${engine}] scope`);
  if (engine === undefined && anyScope) throw new SpoeConfError(1, 'the file has [scope] lines: name the engine (filter spoe engine <name> …)');
  if (!agent) throw new SpoeConfError(1, engine === undefined ? 'no spoe-agent section' : `no spoe-agent section in scope [${engine}]`);
  if (!agent.useBackend) throw new SpoeConfError(agent.line, `spoe-agent ${agent.name} has no use-backend`);
  const a = agent as SpoeAgentConfig & { line: number };
  checkEngine(a, messages, groups, (why) => new SpoeConfError(a.line, why));
  const { line: _line, ...clean } = a;
  return { engine: engine ?? a.name, agent: { ...clean, varPrefix: a.varPrefix ?? a.name }, messages, groups };
}

/** The cross-references of an engine: messages and groups the agent lists exist, a message is in one group at most, agent messages have an event. */
export function checkEngine(a: SpoeAgentConfig, messages: Record<string, SpoeMessageConfig>, groups: Record<string, string[]>, err: (why: string) => Error): void {
  // HAProxy: without option var-prefix the agent's name is the prefix, and must be one
  if (!VAR_NAME.test(a.varPrefix ?? a.name)) throw err(`invalid variable prefix "${a.varPrefix ?? a.name}" for SPOE agent ${a.name}: use option var-prefix (only a-z, A-Z, 0-9, '.' and '_')`);
  for (const m of a.messages) if (!messages[m]) throw err(`spoe-agent ${a.name}: message "${m}" is not defined`);
  for (const g of a.groups) if (!groups[g]) throw err(`spoe-agent ${a.name}: group "${g}" is not defined`);
  const owner = new Map<string, string>();
  for (const [g, list] of Object.entries(groups)) {
    for (const m of list) {
      if (!messages[m]) throw err(`spoe-group ${g}: message "${m}" is not defined`);
      if (owner.has(m)) throw err(`message "${m}" belongs to groups ${owner.get(m)} and ${g} (at most one)`);
      owner.set(m, g);
    }
  }
  for (const m of a.messages) {
    if (!messages[m]!.event) throw err(`spoe-agent ${a.name}: message "${m}" has no event`);
  }
}
