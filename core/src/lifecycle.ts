import { SwitchyardError, type ConfigLocation, type ConfigPath, type GatewayApi, type Logger } from '@switchyard/sdk';
import { CoreErrors } from './errors';
import type { LoadedPlugin } from './loader';
import type { ServiceRegistry } from './services';
import type { SlotTable } from './slots';

export type LineOf = (p: ReadonlyArray<string | number>) => number | undefined;

/** `backends.api.servers[0].address` → ['backends', 'api', 'servers', 0, 'address']. */
export function parsePath(p: ConfigPath): Array<string | number> {
  if (typeof p !== 'string') return [...p];
  const out: Array<string | number> = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

export function pathString(p: ReadonlyArray<string | number>): string {
  let out = '';
  for (const part of p) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}

/** A `locate()` for a config: file, line of the nearest key that has one, and the key path. */
export function locator(file: string | undefined, lineOf: LineOf): (p: ConfigPath) => ConfigLocation {
  return (p) => {
    const parts = parsePath(p);
    return { file, line: lineOf(parts), path: pathString(parts) || '(top level)' };
  };
}

type Step = 'provision' | 'validate' | 'apply';

const WRAP = {
  provision: CoreErrors.PLUGIN_PROVISION,
  validate: CoreErrors.PLUGIN_VALIDATE,
  apply: CoreErrors.PLUGIN_APPLY,
} as const;

/**
 * Names the plugin on an error out of one of its steps, and fills in file and line for a
 * coded error that names only a key path. An uncoded error becomes SWY_ERR_PLUGIN_<STEP>.
 */
export function blame(err: unknown, plugin: string, step: Step | 'register', locate: (p: ConfigPath) => ConfigLocation): SwitchyardError {
  const passes = err instanceof SwitchyardError &&
    (step === 'register' ? /^SWY_ERR_(SLOT|SERVICE)_/.test(err.code) : !err.code.startsWith('SWY_ERR_PLUGIN_'));
  if (passes) {
    err.plugin ??= plugin;
    const loc = err.location;
    if (loc?.path !== undefined && loc.line === undefined) err.location = { ...locate(loc.path), ...stripUndefined(loc) };
    return err;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (step === 'register') return CoreErrors.PLUGIN_REGISTER.with({ cause: err, plugin }, plugin, message);
  return WRAP[step].with({ cause: err, plugin }, plugin, message);
}

function stripUndefined(loc: ConfigLocation): ConfigLocation {
  const out: ConfigLocation = {};
  for (const [k, v] of Object.entries(loc)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export interface LifecycleHost extends GatewayApi {
  readonly plugins: ReadonlyArray<LoadedPlugin>;
  readonly services: ServiceRegistry;
  readonly slots: SlotTable;
}

/**
 * Runs one step of every plugin, in plugin order, each with its validated `configKey`
 * value. The first failure stops the step, blamed on its plugin.
 */
export async function runStep(gw: LifecycleHost, step: Step): Promise<void> {
  for (const p of gw.plugins) {
    const def = p.definition;
    const fn = def[step];
    if (!fn) continue;
    gw.services.setOwner(def.name);
    try {
      await fn.call(def, gw, def.configKey ? gw.config[def.configKey] : undefined);
    } catch (err) {
      throw blame(err, def.name, step, (x) => gw.locate(x));
    } finally {
      gw.services.setOwner('@switchyard/core');
    }
  }
}

/**
 * Stops a generation's plugins in reverse order (each `stop` once, a failure logged with the
 * plugin named), then disposes its services.
 */
export async function stopPlugins(gw: LifecycleHost, logger: Logger): Promise<void> {
  for (const p of [...gw.plugins].reverse()) {
    const def = p.definition;
    if (!def.stop) continue;
    try {
      await def.stop(gw);
    } catch (err) {
      logger.error({ err, plugin: def.name }, `plugin ${def.name} failed in its stop step`);
    }
  }
  await gw.services.dispose(logger);
}
