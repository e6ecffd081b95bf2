import * as path from 'node:path';
import type { HaproxyAdaptContext, HaproxyCondition, HaproxyDirective, HaproxyKeyPath, HaproxyLine } from '@switchyard/sdk';
import type { AdaptModel, Ctx, Obj } from './model';
import type { Directive, Section } from './parse';

/** What the adapter knows about the line a contributed directive reads. */
export interface ContributedCall {
  d: Directive;
  /** The proxy being read; undefined in global and contributed sections. */
  ctx?: Ctx;
  /** The section (global or a contributed one) when there is no proxy. */
  section?: Section;
  args?: ReadonlyArray<string>;
  negated?: boolean;
  condition?: ReadonlyArray<string>;
  target?: Obj;
  lines?: ReadonlyArray<HaproxyLine>;
  addRule?: (rule: Obj) => void;
  /** Server/bind options: the words after the option; `take()` consumes from them. */
  rest?: ReadonlyArray<string>;
}

/**
 * Runs a directive a plugin contributed (slot `haproxy.directive`) on one line. Returns how
 * many words after the keyword it consumed (server and bind options).
 */
export function runContributed(ad: AdaptModel, def: HaproxyDirective, call: ContributedCall): number {
  const { d, ctx } = call;
  const section = ctx?.section ?? call.section!;
  let taken = 0;
  const rest = call.rest ?? [];
  const where = d.words.join(' ');
  const condWords = call.condition ?? [];
  const condition: HaproxyCondition = condWords.length > 0 ? (ad.cond([...condWords], d) as HaproxyCondition) : {};
  const api: HaproxyAdaptContext = {
    file: ad.file,
    line: d.line,
    words: d.words,
    args: call.args ?? d.words.slice(1),
    negated: call.negated === true,
    section: { keyword: section.keyword, name: section.name, line: section.line },
    frontend: ctx?.feName,
    backend: ctx?.beName,
    fromDefaults: ctx?.fromDefaults === true,
    lines: call.lines ?? [],
    condition,
    target: call.target,
    frontendPath(...p) {
      if (!ctx?.feName) throw new Error(`${def.keyword}: not in a frontend`);
      return ['frontends', ctx.feName, ...p];
    },
    backendPath(...p) {
      if (!ctx?.beName) throw new Error(`${def.keyword}: not in a backend`);
      return ['backends', ctx.beName, ...p];
    },
    set: (p: HaproxyKeyPath, v: unknown) => ad.set([...p], v, d.line),
    get: (p: HaproxyKeyPath) => ad.get([...p]),
    push: (p: HaproxyKeyPath, v: unknown) => ad.push([...p], v, d.line),
    addRule(rule) {
      if (!call.addRule) throw new Error(`${def.keyword}: addRule is only for rule scopes`);
      call.addRule({ ...rule, ...condition });
    },
    use: (plugin: string) => ad.use(plugin),
    warn: (text: string) => ad.warn(d.line, text),
    problem: (why: string) => ad.problem(d.line, where, why),
    take() {
      const v = rest[taken];
      if (v === undefined) {
        ad.problem(d.line, where, `"${def.keyword}" needs a value`);
        return undefined;
      }
      taken++;
      return v;
    },
    duration: (v) => ad.duration(v, d),
    int: (v) => ad.int(v, d),
    parseCondition: (words) => ad.cond([...words], d) as HaproxyCondition,
    resolveFile: (f) => (path.isAbsolute(f) ? f : path.resolve(path.dirname(ad.file), f)),
    local<T>(key: string, init: () => T): T {
      const store = ctx ? (ctx.locals ??= new Map()) : (ad.sectionLocals ??= new Map());
      if (!store.has(key)) store.set(key, init());
      return store.get(key) as T;
    },
    onFinish: (fn) => ad.finishers.push(fn),
    frontendsReaching: (b) => ad.frontendsReaching(b),
    onClose(fn) {
      if (ctx) (ctx.closers ??= []).push(fn);
      else ad.sectionClosers.push(fn);
    },
  };
  const before = ad.problems.length;
  def.handle(api);
  if (def.plugin && ad.problems.length === before) ad.use(def.plugin);
  return taken;
}
