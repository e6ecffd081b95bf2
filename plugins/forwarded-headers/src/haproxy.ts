import type { HaproxyAdaptContext, HaproxyDirective } from '@switchyard/sdk';

const NAME = '@switchyard/plugin-forwarded-headers';

/** What `option forwardfor [except <net>] [header <name>] [if-none]` becomes. */
function forwardedHeaders(ctx: HaproxyAdaptContext): Record<string, unknown> | undefined {
  const f: Record<string, unknown> = { enabled: true, xForwardedFor: true, xForwardedProto: false, xForwardedHost: false, xForwardedForAppend: true };
  const a = ctx.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i];
    if (w === 'except' && a[i + 1] !== undefined) f.xForwardedForExcept = [a[++i]];
    else if (w === 'header' && a[i + 1] !== undefined) f.xForwardedForHeader = a[++i];
    else if (w === 'if-none') f.xForwardedForIfNone = true;
    else {
      ctx.problem(`option forwardfor: unknown argument "${w}" (except <network>, header <name>, if-none)`);
      return undefined;
    }
  }
  return f;
}

/**
 * `option forwardfor`, as HAProxy does it: the client's address is added to what came in
 * (never replacing it), and only X-Forwarded-For — no X-Forwarded-Proto/-Host. In a backend
 * it applies to the frontends that reach that backend.
 */
export const forwardforDirective: HaproxyDirective = {
  scope: 'option',
  keyword: 'forwardfor',
  plugin: NAME,
  description: 'option forwardfor [except <network>] [header <name>] [if-none] → forwardedHeaders (X-Forwarded-For appended)',
  handle(ctx) {
    const key = 'forwarded-headers.forwardfor';
    const state = ctx.local<{ value?: Record<string, unknown> | null; line?: number; explicit?: boolean }>(key, () => ({}));
    if (!ctx.fromDefaults) state.explicit = true;
    if (ctx.negated) state.value = null;
    else {
      const v = forwardedHeaders(ctx);
      if (v === undefined) return;
      state.value = v;
    }
    if (state.line !== undefined) return; // close step already registered for this proxy
    state.line = ctx.line;
    const frontend = ctx.frontend;
    const backend = ctx.backend;
    ctx.onClose(() => {
      if (!state.value) return;
      if (frontend !== undefined) {
        ctx.set(['frontends', frontend, 'forwardedHeaders'], state.value);
        return;
      }
      if (backend === undefined || !state.explicit) return;
      const value = state.value;
      ctx.onFinish(() => {
        for (const f of ctx.frontendsReaching(backend)) {
          if (ctx.get(['frontends', f, 'forwardedHeaders']) === undefined) ctx.set(['frontends', f, 'forwardedHeaders'], value);
        }
      });
    });
  },
};
