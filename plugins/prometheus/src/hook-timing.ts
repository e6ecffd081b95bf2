import { performance } from 'node:perf_hooks';
import { HOOK_NAMES, type HookName, type Hooks } from '@switchyard/sdk';
import type { FastHistogram, HistogramChild } from './histogram';

interface FullTap {
  name: string;
  type: 'sync' | 'async' | 'promise';
  fn: (...args: never[]) => unknown;
  [key: string]: unknown;
}

interface InterceptableHook {
  readonly taps: ReadonlyArray<FullTap>;
  intercept(interceptor: { register?: (tap: FullTap) => FullTap }): void;
}

type Fn1 = (a: unknown) => unknown;
type Fn2 = (a: unknown, b: unknown) => unknown;
type AsyncFn = (a: unknown, cb: (err?: unknown, result?: unknown) => void) => void;

/**
 * Wraps one tap so its time lands in `h` (seconds). Sync taps: time of the call. Promise
 * and callback taps: time until they settle (for `forward` that includes the forwarder's
 * own wait for the server's response head). Fixed arity, no rest arguments: the only
 * allocation for sync taps is none; async taps pay one closure.
 */
function wrap(tap: FullTap, hook: HookName, h: HistogramChild): FullTap {
  const now = performance.now.bind(performance);
  if (tap.type === 'sync') {
    if (hook === 'respond') {
      const fn = tap.fn as unknown as Fn2;
      return { ...tap, fn: ((a: unknown, b: unknown) => {
        const t = now();
        try {
          return fn(a, b);
        } finally {
          h.observe((now() - t) / 1000);
        }
      }) as FullTap['fn'] };
    }
    const fn = tap.fn as unknown as Fn1;
    return { ...tap, fn: ((a: unknown) => {
      const t = now();
      try {
        return fn(a);
      } finally {
        h.observe((now() - t) / 1000);
      }
    }) as FullTap['fn'] };
  }
  if (tap.type === 'promise') {
    const fn = tap.fn as unknown as (a: unknown) => Promise<unknown>;
    return { ...tap, fn: ((a: unknown) => {
      const t = now();
      const done = (): void => h.observe((now() - t) / 1000);
      return fn(a).then(
        (v) => {
          done();
          return v;
        },
        (err: unknown) => {
          done();
          throw err;
        },
      );
    }) as FullTap['fn'] };
  }
  const fn = tap.fn as unknown as AsyncFn;
  return { ...tap, fn: ((a: unknown, cb: (err?: unknown, result?: unknown) => void) => {
    const t = now();
    fn(a, (err, result) => {
      h.observe((now() - t) / 1000);
      cb(err, result);
    });
  }) as FullTap['fn'] };
}

/**
 * Times every tap of every hook, per (hook, plugin). Call it in the plugin's apply step:
 * tapable's `register` interceptor rewrites the taps already there and every tap added later
 * (the plugins applied after this one), before the core compiles its pipeline — which may
 * keep the forward taps' functions to call them directly. An interceptor adds no tap, so a
 * hook nobody taps stays unused.
 */
export function timeHooks(hooks: Hooks, histogram: FastHistogram): void {
  for (const name of HOOK_NAMES) {
    const hook = hooks[name] as unknown as InterceptableHook;
    hook.intercept({ register: (tap) => wrap(tap, name, histogram.child({ hook: name, plugin: tap.name })) });
  }
}
