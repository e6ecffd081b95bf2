import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, type HaproxyAdaptContext, type HaproxyDirective, type HaproxyScope, type SlotRegistry } from '@switchyard/sdk';
import { parseStickTableWords } from './stick-table';
import type { StickRule } from './stick-counters';

const NAME = '@switchyard/plugin-rate-limit';
const ACL = '@switchyard/plugin-acl';

/**
 * `stick-table type … size … [expire …] [store …] [peers …]` in a frontend, backend or listen
 * → `rateLimit.tables[]` named after the section (HAProxy: one table per proxy).
 */
function stickTable(ctx: HaproxyAdaptContext): void {
  if (ctx.fromDefaults) return;
  const name = ctx.section.name;
  const cfg = parseStickTableWords(name, ctx.args);
  if (typeof cfg === 'string') return ctx.problem(cfg);
  ctx.push(['rateLimit', 'tables'], cfg);
}

/** Adds a rule to this frontend's stickCounters, or (in a backend) to every frontend that reaches it. */
function addRule(ctx: HaproxyAdaptContext, rule: StickRule): void {
  if (ctx.fromDefaults) return;
  ctx.use(ACL);
  const full = { ...rule, ...ctx.condition };
  if (ctx.frontend !== undefined) {
    ctx.push(ctx.frontendPath('stickCounters'), full);
    return;
  }
  const backend = ctx.backend;
  if (backend === undefined) return ctx.problem(`${rule.action} belongs in a frontend, listen or backend`);
  ctx.onFinish(() => {
    for (const fe of ctx.frontendsReaching(backend)) ctx.push(['frontends', fe, 'stickCounters'], full);
  });
}

/** The counter of `sc-inc-gpc0(N)` (N defaults to 0 as in HAProxy). */
function counterOf(ctx: HaproxyAdaptContext, action: string): number | undefined {
  const word = ctx.words.find((w) => w === action || w.startsWith(`${action}(`)) ?? action;
  const m = /^[a-z0-9-]+(?:\((\d)\))?$/.exec(word);
  const n = m?.[1] === undefined ? 0 : Number(m[1]);
  if (!m || n > 2) {
    ctx.problem(`${word}: the sticky counter must be 0, 1 or 2`);
    return undefined;
  }
  return n;
}

function track(ctx: HaproxyAdaptContext, phase: StickRule['phase'], counter: number): void {
  const a = ctx.args;
  if (!a[0]) return ctx.problem(`track-sc${counter} needs a key (a sample expression)`);
  const rule: StickRule = { phase, action: 'track', counter, key: a[0] };
  for (let i = 1; i < a.length; i++) {
    if (a[i] === 'table' && a[i + 1]) rule.table = a[++i];
    else return ctx.problem(`track-sc${counter}: unexpected "${a[i]}" (track-sc${counter} <key> [table <table>])`);
  }
  addRule(ctx, rule);
}

function gp(ctx: HaproxyAdaptContext, phase: StickRule['phase'], action: 'sc-inc-gpc0' | 'sc-inc-gpc1' | 'sc-set-gpt0'): void {
  const counter = counterOf(ctx, action);
  if (counter === undefined) return;
  if (action === 'sc-set-gpt0') {
    if (!ctx.args[0]) return ctx.problem('sc-set-gpt0 needs a value (an integer or a sample expression)');
    addRule(ctx, { phase, action: 'set-gpt0', counter, value: /^-?\d+$/.test(ctx.args[0]) ? Number(ctx.args[0]) : ctx.args[0] });
    return;
  }
  if (ctx.args.length > 0) return ctx.problem(`${action} takes no argument`);
  addRule(ctx, { phase, action: action === 'sc-inc-gpc0' ? 'inc-gpc0' : 'inc-gpc1', counter });
}

/** The haproxy.cfg directives this plugin understands: stick tables and sticky counters. */
export function provideHaproxyDirectives(slots: SlotRegistry): void {
  const add = (scope: HaproxyScope, keyword: string, description: string, handle: (ctx: HaproxyAdaptContext) => void): void => {
    const d: HaproxyDirective = { scope, keyword, plugin: NAME, description, handle };
    slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName(scope, keyword), d, { description });
  };
  add('proxy', 'stick-table', 'stick-table: an in-process stick table (rateLimit.tables)', stickTable);
  const phases: Array<[HaproxyScope, string, StickRule['phase']]> = [
    ['http-request', '', 'request'],
    ['tcp-request', 'content ', 'content'],
    ['tcp-request', 'connection ', 'connection'],
  ];
  for (const [scope, prefix, phase] of phases) {
    for (let n = 0; n <= 2; n++) {
      add(scope, `${prefix}track-sc${n}`, `${scope} ${prefix}track-sc${n} <key> [table <t>]`, (ctx) => track(ctx, phase, n));
    }
    for (const action of ['sc-inc-gpc0', 'sc-inc-gpc1', 'sc-set-gpt0'] as const) {
      add(scope, `${prefix}${action}`, `${scope} ${prefix}${action}(N)`, (ctx) => gp(ctx, phase, action));
    }
  }
}
