import type { HaproxyDirective } from '@switchyard/sdk';

const NAME = '@switchyard/plugin-spoe';

/** `filter spoe [engine <name>] config <file>` → frontends.<f>.spoe[]. */
const filterSpoe: HaproxyDirective = {
  scope: 'proxy',
  keyword: 'filter spoe',
  plugin: NAME,
  description: 'filter spoe [engine <name>] config <file> → frontends.<f>.spoe[] (the SPOE file is read by the plugin)',
  handle(ctx) {
    if (ctx.fromDefaults) return ctx.problem('filter spoe belongs in a frontend or listen section');
    if (!ctx.frontend) return ctx.problem('filter spoe in a backend section is not supported (declare it on the frontend)');
    const a = ctx.args[0] === 'spoe' ? ctx.args.slice(1) : ctx.args;
    let engine: string | undefined;
    let config: string | undefined;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === 'engine' && a[i + 1] !== undefined) engine = a[++i];
      else if (a[i] === 'config' && a[i + 1] !== undefined) config = a[++i];
      else return ctx.problem(`filter spoe: unexpected "${a[i]}" (engine <name>, config <file>)`);
    }
    if (config === undefined) return ctx.problem('filter spoe needs config <file>');
    ctx.push(ctx.frontendPath('spoe'), { ...(engine === undefined ? {} : { engine }), config: ctx.resolveFile(config) });
  },
};

/** `http-request send-spoe-group <engine> <group> [cond]` → frontends.<f>.spoeGroups[]. */
const sendSpoeGroup: HaproxyDirective = {
  scope: 'http-request',
  keyword: 'send-spoe-group',
  plugin: NAME,
  description: 'http-request send-spoe-group <engine> <group> [if|unless cond] → frontends.<f>.spoeGroups[] (run just before the http-request rules)',
  handle(ctx) {
    if (!ctx.frontend) return ctx.problem('send-spoe-group in a backend section is not supported (put it in the frontend)');
    const [engine, group, ...rest] = ctx.args;
    if (engine === undefined || group === undefined || rest.length > 0) return ctx.problem('send-spoe-group needs <engine> <group>');
    const before = ctx.get(ctx.frontendPath('httpRequest'));
    if (Array.isArray(before) && before.length > 0) {
      ctx.warn(`send-spoe-group ${engine} ${group} runs before every http-request rule of the frontend, also the ${before.length} written above it`);
    }
    ctx.push(ctx.frontendPath('spoeGroups'), { engine, group, ...ctx.condition });
  },
};

/** `option spop-check` → backends.<b>.healthCheck.type: spop-check (on the servers with `check`). */
const spopCheckOption: HaproxyDirective = {
  scope: 'option',
  keyword: 'spop-check',
  plugin: NAME,
  description: 'option spop-check → healthCheck.type spop-check (SPOP HELLO with healthcheck=true)',
  handle(ctx) {
    const backend = ctx.backend;
    if (backend === undefined || ctx.negated) return;
    ctx.onFinish(() => {
      const hc = ctx.get(['backends', backend, 'healthCheck']);
      if (hc !== undefined) ctx.set(['backends', backend, 'healthCheck', 'type'], 'spop-check');
    });
  },
};

/** SPOE on responses: refused with its own reason. */
const responseGroup: HaproxyDirective = {
  scope: 'http-response',
  keyword: 'send-spoe-group',
  description: 'http-response send-spoe-group: refused (SPOE runs on requests only here)',
  handle(ctx) {
    ctx.problem('http-response send-spoe-group is not supported: SPOE messages are sent on requests only (events on-client-session, on-frontend-http-request, on-frontend-tcp-request and http-request send-spoe-group)');
  },
};

export const directives: ReadonlyArray<HaproxyDirective> = [filterSpoe, sendSpoeGroup, spopCheckOption, responseGroup];
