import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, type HaproxyAdaptContext, type HaproxyDirective, type SlotRegistry } from '@switchyard/sdk';

const NAME = '@switchyard/plugin-http-rules';

/**
 * `set-var(<scope.name>) <expr>` / `set-var-fmt(<scope.name>) <format>` → a set-var rule whose
 * value is a format (`%[expr]` for a sample expression). Conditions on the variable's previous
 * state (`set-var(name,ifexists)` …) are not supported.
 */
function setVar(ctx: HaproxyAdaptContext, action: string): Record<string, unknown> | undefined {
  const word = ctx.words.find((w) => w.startsWith(`${action}(`));
  const m = word === undefined ? null : /^set-var(?:-fmt)?\(([^,)]+)\)$/.exec(word);
  if (!m) {
    ctx.problem(`${word ?? action}: only ${action}(<scope>.<name>) is supported (no conditions such as ifexists)`);
    return undefined;
  }
  if (ctx.args.length === 0) {
    ctx.problem(`${action}(${m[1]}) needs a value`);
    return undefined;
  }
  const text = ctx.args.join(' ');
  return { action: 'set-var', name: m[1], value: action === 'set-var' ? `%[${text}]` : text };
}

/** `http-response set-var(…)` / `set-var-fmt(…)` → a set-var rule of the frontend or backend. */
function responseSetVar(action: string, ctx: HaproxyAdaptContext): void {
  const r = setVar(ctx, action);
  if (r === undefined) return;
  ctx.use(NAME);
  ctx.addRule(r);
}

/** `http-after-response <action> …` → `httpAfterResponse[]` of the frontend (or backend) it is written in. */
function afterResponse(action: string, ctx: HaproxyAdaptContext): void {
  const a = ctx.args;
  let rule: Record<string, unknown>;
  switch (action) {
    case 'set-header':
    case 'add-header':
      if (a.length < 2) return ctx.problem(`http-after-response ${action} needs a name and a value`);
      rule = { action, name: a[0]!.toLowerCase(), value: a.slice(1).join(' ') };
      break;
    case 'del-header':
      if (a.length < 1) return ctx.problem('http-after-response del-header needs a name');
      if (a.length > 1) return ctx.problem('http-after-response del-header: only the plain form (no -m) is supported');
      rule = { action, name: a[0]!.toLowerCase() };
      break;
    case 'replace-header':
      if (a.length < 3) return ctx.problem('http-after-response replace-header needs a name, a regex and a replacement');
      rule = { action, name: a[0]!.toLowerCase(), match: a[1], replace: a[2] };
      break;
    case 'set-status': {
      const status = Number(a[0]);
      if (!Number.isInteger(status) || status < 100 || status > 599) return ctx.problem('http-after-response set-status needs a status 100-599');
      rule = { action, status, ...(a[1] === 'reason' && a[2] !== undefined ? { reason: a[2] } : {}) };
      break;
    }
    case 'allow':
      rule = { action };
      break;
    case 'set-var':
    case 'set-var-fmt': {
      const r = setVar(ctx, action);
      if (r === undefined) return;
      rule = r;
      break;
    }
    default:
      return ctx.problem(`http-after-response ${action} is not supported`);
  }
  ctx.use(NAME);
  ctx.addRule(rule);
}

/** The haproxy.cfg directives this plugin understands. */
export function provideHaproxyDirectives(slots: SlotRegistry): void {
  for (const action of ['set-var', 'set-var-fmt']) {
    const d: HaproxyDirective = {
      scope: 'http-response',
      keyword: action,
      plugin: NAME,
      description: `http-response ${action}(<scope>.<name>) <${action === 'set-var' ? 'expr' : 'format'}>`,
      handle: (ctx) => responseSetVar(action, ctx),
    };
    slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName('http-response', action), d, { description: d.description });
  }
  for (const action of ['set-header', 'add-header', 'del-header', 'replace-header', 'set-status', 'allow', 'set-var', 'set-var-fmt']) {
    const d: HaproxyDirective = {
      scope: 'http-after-response',
      keyword: action,
      plugin: NAME,
      description: `http-after-response ${action}`,
      handle: (ctx) => afterResponse(action, ctx),
    };
    slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName('http-after-response', action), d, { description: d.description });
  }
}
