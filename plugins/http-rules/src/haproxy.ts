import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, type HaproxyAdaptContext, type HaproxyDirective, type SlotRegistry } from '@switchyard/sdk';

const NAME = '@switchyard/plugin-http-rules';

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
    default:
      return ctx.problem(`http-after-response ${action} is not supported`);
  }
  ctx.use(NAME);
  ctx.addRule(rule);
}

/** The haproxy.cfg directives this plugin understands. */
export function provideHaproxyDirectives(slots: SlotRegistry): void {
  for (const action of ['set-header', 'add-header', 'del-header', 'replace-header', 'set-status', 'allow']) {
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
