import { AsyncSeriesBailHook, SyncBailHook, SyncHook, SyncWaterfallHook } from 'tapable';
import { SwitchyardError, type HookName, type Hooks } from '@switchyard/sdk';
import { CoreErrors } from './errors';

interface TapLike {
  type: 'sync' | 'async' | 'promise';
  name: string;
  fn: (...args: unknown[]) => unknown;
}

/**
 * The error a tap's throw (or rejection) becomes: a coded error stays what it is (a tap
 * that answers 401 or 429 on purpose), anything else becomes SWY_ERR_HOOK_FAILED naming
 * the plugin (the tap's name) and the hook. Never a server's fault.
 */
export function blame(plugin: string, hook: string, err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  return CoreErrors.HOOK_FAILED.with({ cause: err }, plugin, hook, err instanceof Error ? err.message : String(err));
}

/**
 * Wraps a tap's function once, when it is registered (tapable's `intercept({ register })`),
 * so a throw carries the plugin and hook it came from. A register interceptor adds nothing
 * to the compiled call path: the cost is one try/catch per tap call, no allocation (a
 * promise tap adds the `.then` tapable would chain anyway).
 */
function wrapTap(hook: string, tap: TapLike): TapLike {
  const fn = tap.fn;
  const plugin = tap.name;
  switch (tap.type) {
    case 'sync':
      tap.fn = function blamedSync(this: unknown, ...args: unknown[]): unknown {
        try {
          return fn.apply(this, args);
        } catch (err) {
          throw blame(plugin, hook, err);
        }
      };
      break;
    case 'promise': {
      const onRejected = (err: unknown): never => {
        throw blame(plugin, hook, err);
      };
      tap.fn = function blamedPromise(this: unknown, ...args: unknown[]): unknown {
        let out: unknown;
        try {
          out = fn.apply(this, args);
        } catch (err) {
          throw blame(plugin, hook, err);
        }
        return out !== null && typeof out === 'object' && typeof (out as Promise<unknown>).then === 'function'
          ? (out as Promise<unknown>).then(undefined, onRejected)
          : out;
      };
      break;
    }
    case 'async':
      tap.fn = function blamedAsync(this: unknown, ...args: unknown[]): unknown {
        const cb = args[args.length - 1] as (err: unknown, result?: unknown) => void;
        args[args.length - 1] = (err: unknown, result?: unknown): void => (err ? cb(blame(plugin, hook, err)) : cb(err, result));
        try {
          return fn.apply(this, args);
        } catch (err) {
          throw blame(plugin, hook, err);
        }
      };
      break;
  }
  return tap;
}

/** Declared once per gateway, frozen: plugins tap, nobody adds hooks. Every tap is blamed by name. */
export function createHooks(): Hooks {
  const hooks = {
    accept: new AsyncSeriesBailHook(['connection']),
    tls: new AsyncSeriesBailHook(['hello']),
    route: new AsyncSeriesBailHook(['exchange']),
    selectServer: new SyncBailHook(['exchange']),
    forward: new AsyncSeriesBailHook(['exchange']),
    respond: new SyncWaterfallHook(['head', 'exchange'] as unknown as ['head']),
    log: new SyncHook(['exchange']),
  };
  for (const name of Object.keys(hooks) as HookName[]) {
    (hooks[name] as unknown as { intercept(i: { register(t: TapLike): TapLike }): void }).intercept({
      register: (tap) => wrapTap(name, tap),
    });
  }
  return Object.freeze(hooks) as unknown as Hooks;
}

/** Which hooks have taps, computed once after every plugin applied: unused hooks cost nothing. */
export interface HookUse {
  accept: boolean;
  tls: boolean;
  route: boolean;
  selectServer: boolean;
  forward: boolean;
  respond: boolean;
  log: boolean;
}

/** A hook is used when something tapped it (tapable's isUsed() also counts our blame interceptor). */
export function tapped(hook: { taps: ReadonlyArray<unknown> }): boolean {
  return hook.taps.length > 0;
}

export function hookUse(hooks: Hooks): HookUse {
  return {
    accept: tapped(hooks.accept),
    tls: tapped(hooks.tls),
    route: tapped(hooks.route),
    selectServer: tapped(hooks.selectServer),
    forward: tapped(hooks.forward),
    respond: tapped(hooks.respond),
    log: tapped(hooks.log),
  };
}
