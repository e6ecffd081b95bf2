import * as path from 'node:path';
import * as semver from 'semver';
import type { PluginDefinition, PresetDefinition } from '@switchyard/sdk';
import { CoreErrors } from './errors';
import { CORE_VERSION } from './version';

export const DEFAULT_PLUGINS: ReadonlyArray<string> = Object.freeze(['@switchyard/preset-standard']);

export interface LoadedPlugin {
  definition: PluginDefinition;
  /** As listed in config (or in a preset). */
  spec: string;
  /** Resolved module file. */
  file: string;
  /** Preset that brought it in, if any. */
  via: string | undefined;
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec);
}

/** Resolves a plugin spec: a path from `baseDir`; a package from baseDir, then cwd, then beside the core. */
export function resolvePlugin(spec: string, baseDir: string): string {
  const candidates = isPathSpec(spec) ? [baseDir] : [baseDir, process.cwd(), path.resolve(__dirname, '..')];
  try {
    if (isPathSpec(spec)) return require.resolve(path.resolve(baseDir, spec));
    return require.resolve(spec, { paths: candidates });
  } catch (err) {
    throw CoreErrors.PLUGIN_NOT_FOUND.with({ cause: err }, spec, candidates.join(', '));
  }
}

function definitionOf(mod: unknown): PluginDefinition | PresetDefinition | undefined {
  const m = mod as Record<string, unknown> | null;
  for (const candidate of [m, m?.default, m?.plugin, m?.preset]) {
    const c = candidate as { kind?: unknown } | null | undefined;
    if (c && (c.kind === 'plugin' || c.kind === 'preset')) return c as PluginDefinition | PresetDefinition;
  }
  return undefined;
}

/**
 * Loads every listed plugin, expanding presets, checking each one's supported core range
 * and refusing two different plugins under one name.
 */
export function loadPlugins(specs: ReadonlyArray<string>, baseDir: string): LoadedPlugin[] {
  const out: LoadedPlugin[] = [];
  const byName = new Map<string, LoadedPlugin>();
  const visit = (spec: string, dir: string, via: string | undefined, depth: number): void => {
    const file = resolvePlugin(spec, dir);
    let mod: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(file);
    } catch (err) {
      throw CoreErrors.PLUGIN_LOAD.with({ cause: err }, spec, err instanceof Error ? err.message : String(err));
    }
    const def = definitionOf(mod);
    if (!def) throw CoreErrors.PLUGIN_INVALID(spec, `${file} exports no object with kind "plugin" or "preset"`);
    if (def.kind === 'preset') {
      if (depth > 8) throw CoreErrors.PLUGIN_INVALID(spec, 'presets nest more than 8 deep');
      const presetDir = path.dirname(file);
      for (const inner of def.plugins) visit(inner, presetDir, def.name, depth + 1);
      return;
    }
    if (typeof def.name !== 'string' || typeof def.version !== 'string' || typeof def.core !== 'string') {
      throw CoreErrors.PLUGIN_INVALID(spec, 'name, version and core must be strings');
    }
    const seen = byName.get(def.name);
    if (seen) {
      if (seen.file === file) return; // the same module listed twice (e.g. in a preset and by hand)
      throw CoreErrors.PLUGIN_DUPLICATE(def.name, seen.file, file);
    }
    if (!semver.validRange(def.core) || !semver.satisfies(CORE_VERSION, def.core, { includePrerelease: true })) {
      throw CoreErrors.PLUGIN_VERSION(def.name, def.version, def.core, CORE_VERSION);
    }
    const loaded: LoadedPlugin = { definition: def, spec, file, via };
    byName.set(def.name, loaded);
    out.push(loaded);
  };
  for (const spec of specs) visit(spec, baseDir, undefined, 0);
  return out;
}
