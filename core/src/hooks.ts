import { AsyncSeriesBailHook, SyncBailHook, SyncHook, SyncWaterfallHook } from 'tapable';
import type { Hooks } from '@switchyard/sdk';

/** Declared once per gateway, frozen: plugins tap, nobody adds hooks. */
export function createHooks(): Hooks {
  return Object.freeze({
    accept: new AsyncSeriesBailHook(['connection']),
    tls: new AsyncSeriesBailHook(['hello']),
    route: new AsyncSeriesBailHook(['exchange']),
    selectServer: new SyncBailHook(['exchange']),
    forward: new AsyncSeriesBailHook(['exchange']),
    respond: new SyncWaterfallHook(['head', 'exchange'] as unknown as ['head']),
    log: new SyncHook(['exchange']),
  }) as Hooks;
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

export function hookUse(hooks: Hooks): HookUse {
  return {
    accept: hooks.accept.isUsed(),
    tls: hooks.tls.isUsed(),
    route: hooks.route.isUsed(),
    selectServer: hooks.selectServer.isUsed(),
    forward: hooks.forward.isUsed(),
    respond: hooks.respond.isUsed(),
    log: hooks.log.isUsed(),
  };
}
