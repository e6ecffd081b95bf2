import * as path from 'node:path';
import type * as Semver from 'semver';
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

/**
 * Directories packages also resolve from, from `SWITCHYARD_PLUGIN_PATH` (path-delimited).
 * `@switchyard/gateway`'s CLI puts its own directory there, so the standard preset it
 * depends on resolves however npm laid the tree out.
 */
function searchPath(): string[] {
  return (process.env.SWITCHYARD_PLUGIN_PATH ?? '').split(path.delimiter).filter((d) => d !== '');
}

/**
 * Resolves a plugin spec: a path from `baseDir`; a package from baseDir, then cwd, then
 * SWITCHYARD_PLUGIN_PATH, then beside the core.
 */
export function resolvePlugin(spec: string, baseDir: string): string {
  const candidates = isPathSpec(spec) ? [baseDir] : [baseDir, process.cwd(), ...searchPath(), path.resolve(__dirname, '..')];
  try {
    if (isPathSpec(spec)) return require.resolve(path.resolve(baseDir, spec));
    return require.resolve(spec, { paths: candidates });
  } catch (err) {
    const hint = DEFAULT_PLUGINS.includes(spec)
      ? '; a config without plugins: uses it: install @switchyard/gateway (the CLI with the standard preset), or list your plugins'
      : '';
    throw CoreErrors.PLUGIN_NOT_FOUND.with({ cause: err }, spec, candidates.join(', '), hint);
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
 * When a preset member is needed, as its package.json says (`"switchyard": { "activation": … }`),
 * so the loader can leave out what a config does not use without loading its module. A
 * member without `activation` is always loaded. A test keeps each manifest in step with the
 * plugin's schema and slots (`test/activation.test.ts`).
 */
export interface Activation {
  /** Keys whose presence (at that level, anywhere in the config) needs the plugin. */
  keys?: Partial<Record<'config' | 'frontend' | 'backend' | 'server' | 'bind' | 'tls' | 'defaults', ReadonlyArray<string>>>;
  /** `balance:` names it provides (a backend without `balance` is `roundrobin`). */
  balance?: ReadonlyArray<string>;
  /** A frontend or backend in one of these modes (unset is `http`). */
  mode?: ReadonlyArray<string>;
  /** Sample fetch names it provides: a config mentioning one (in an ACL, a log format…) needs it. */
  fetches?: ReadonlyArray<string>;
}

export interface PluginManifest {
  name?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  switchyard?: {
    activation?: Activation;
    /** It provides a config adapter or haproxy.cfg directives: loaded to adapt a non-YAML config. */
    adapts?: boolean;
    /**
     * CLI commands it provides from a light module, `"name": "./dist/cli.js#exportName"`: the
     * CLI runs such a command without loading the config driver or any plugin (see
     * `findCommandModule`). The command gets `configFile` and no `config`.
     */
    commands?: Record<string, string>;
  };
}

/** How presets expand: only the members a config uses, or all of them. */
export interface PluginSelection {
  /** The raw config (before validation): preset members it does not use are not loaded. */
  config?: Record<string, unknown>;
  /** Only the members that adapt other config formats (to read a haproxy.cfg before its plugins are known). */
  adapting?: boolean;
}

function objects(v: unknown): Array<Record<string, unknown>> {
  if (v === null || typeof v !== 'object') return [];
  return (Array.isArray(v) ? v : Object.values(v)).filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x));
}

/** Whether a raw config needs a plugin with this activation. */
export function isActive(activation: Activation, config: Record<string, unknown>): boolean {
  const frontends = objects(config.frontends);
  const backends = objects(config.backends);
  const servers = backends.flatMap((b) => objects(b.servers));
  const binds = frontends.flatMap((f) => (Array.isArray(f.bind) ? objects(f.bind) : objects([f.bind])));
  const tls = binds.flatMap((b) => objects([b.tls]));
  const defaults = objects([config.defaults]);
  const levels = { config: [config], frontend: frontends, backend: backends, server: servers, bind: binds, tls, defaults };
  for (const [level, keys] of Object.entries(activation.keys ?? {}) as Array<[keyof typeof levels, ReadonlyArray<string>]>) {
    if (levels[level].some((o) => keys.some((k) => o[k] !== undefined))) return true;
  }
  if (activation.balance && backends.some((b) => activation.balance!.includes(typeof b.balance === 'string' ? b.balance : 'roundrobin'))) return true;
  if (activation.mode && [...frontends, ...backends].some((o) => activation.mode!.includes(typeof o.mode === 'string' ? o.mode : 'http'))) return true;
  if (activation.fetches && activation.fetches.length > 0) {
    // Once per config load (start, validate, reload), never per request.
    const words = new RegExp(`(?<![\\w.])(?:${activation.fetches.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\w])`);
    if (words.test(JSON.stringify(config))) return true;
  }
  return false;
}

/** The package.json a module file belongs to (the nearest one above it), if any. */
export function manifestOf(file: string): PluginManifest | undefined {
  let dir = path.dirname(file);
  for (let i = 0; i < 12; i++) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.join(dir, 'package.json')) as PluginManifest;
    } catch {
      const up = path.dirname(dir);
      if (up === dir || path.basename(dir) === 'node_modules') return undefined;
      dir = up;
    }
  }
  return undefined;
}

interface Entry {
  spec: string;
  file: string;
  via: string | undefined;
  /** Left out unless something needs it (a preset member the config does not use). */
  deferred: boolean;
  manifest: PluginManifest | undefined;
  loaded?: LoadedPlugin;
}

/**
 * Loads every listed plugin, expanding presets, checking each one's supported core range
 * and refusing two different plugins under one name. With `selection.config`, a preset
 * member whose manifest says when it is needed is loaded only when the config needs it, or
 * when a loaded plugin depends on it (dependencies or peerDependencies).
 */
export function loadPlugins(specs: ReadonlyArray<string>, baseDir: string, selection: PluginSelection = {}): LoadedPlugin[] {
  const entries: Entry[] = [];
  const byName = new Map<string, LoadedPlugin>();
  const load = (e: Entry): void => {
    let mod: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(e.file);
    } catch (err) {
      throw CoreErrors.PLUGIN_LOAD.with({ cause: err }, e.spec, err instanceof Error ? err.message : String(err));
    }
    const def = definitionOf(mod);
    if (!def) throw CoreErrors.PLUGIN_INVALID(e.spec, `${e.file} exports no object with kind "plugin" or "preset"`);
    if (def.kind === 'preset') throw CoreErrors.PLUGIN_INVALID(e.spec, 'a preset where a plugin was expected');
    if (typeof def.name !== 'string' || typeof def.version !== 'string' || typeof def.core !== 'string') {
      throw CoreErrors.PLUGIN_INVALID(e.spec, 'name, version and core must be strings');
    }
    const seen = byName.get(def.name);
    if (seen) {
      if (seen.file === e.file) return; // the same module listed twice (e.g. in a preset and by hand)
      throw CoreErrors.PLUGIN_DUPLICATE(def.name, seen.file, e.file);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const semver = require('semver') as typeof Semver;
    if (!semver.validRange(def.core) || !semver.satisfies(CORE_VERSION, def.core, { includePrerelease: true })) {
      throw CoreErrors.PLUGIN_VERSION(def.name, def.version, def.core, CORE_VERSION);
    }
    e.loaded = { definition: def, spec: e.spec, file: e.file, via: e.via };
    byName.set(def.name, e.loaded);
  };
  const visit = (spec: string, dir: string, via: string | undefined, depth: number): void => {
    const file = resolvePlugin(spec, dir);
    if (via !== undefined && (selection.config || selection.adapting)) {
      const manifest = manifestOf(file);
      const activation = manifest?.switchyard?.activation;
      if (activation) {
        const needed = selection.adapting ? manifest?.switchyard?.adapts === true : isActive(activation, selection.config!);
        entries.push({ spec, file, via, deferred: !needed, manifest });
        return;
      }
    }
    let mod: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(file);
    } catch (err) {
      throw CoreErrors.PLUGIN_LOAD.with({ cause: err }, spec, err instanceof Error ? err.message : String(err));
    }
    const def = definitionOf(mod);
    if (def?.kind === 'preset') {
      if (depth > 8) throw CoreErrors.PLUGIN_INVALID(spec, 'presets nest more than 8 deep');
      const presetDir = path.dirname(file);
      for (const inner of def.plugins) visit(inner, presetDir, def.name, depth + 1);
      return;
    }
    entries.push({ spec, file, via, deferred: false, manifest: selection.config || selection.adapting ? manifestOf(file) : undefined });
  };
  for (const spec of specs) visit(spec, baseDir, undefined, 0);
  // A deferred member is needed after all when a needed plugin depends on it (an optional
  // peer is not a need: the dependent reads the owner's keys only if it is there).
  const deferred = new Map(entries.filter((e) => e.deferred && e.manifest?.name).map((e) => [e.manifest!.name!, e]));
  const queue = entries.filter((e) => !e.deferred);
  while (queue.length > 0) {
    const m = queue.pop()!.manifest;
    for (const dep of Object.keys({ ...m?.dependencies, ...m?.peerDependencies })) {
      if (m?.peerDependenciesMeta?.[dep]?.optional === true && !m.dependencies?.[dep]) continue;
      const d = deferred.get(dep);
      if (d && d.deferred) {
        d.deferred = false;
        queue.push(d);
      }
    }
  }
  const out: LoadedPlugin[] = [];
  for (const e of entries) {
    if (e.deferred) continue;
    load(e);
    if (e.loaded && !out.includes(e.loaded)) out.push(e.loaded);
  }
  return out;
}

/** A CLI command found through a package's manifest (`switchyard.commands`), without loading any plugin. */
export interface CommandModule {
  command: { summary: string; usage: string; run(ctx: never): Promise<number> };
  /** The package that declares it. */
  owner: string;
  file: string;
}

/**
 * Looks for a package among `specs` — and, for presets, among their dependencies — whose
 * package.json declares CLI command `name` in `switchyard.commands`, reading manifests only,
 * and requires just that module. Undefined when none declares it (the CLI then loads the
 * plugins and looks in the `cli.command` slot).
 */
export function findCommandModule(name: string, specs: ReadonlyArray<string>, baseDir: string): CommandModule | undefined {
  const seen = new Set<string>();
  const look = (spec: string, dir: string, depth: number): CommandModule | undefined => {
    let pkgFile: string;
    let manifest: PluginManifest & { dependencies?: Record<string, string> };
    try {
      const main = resolvePlugin(spec, dir);
      let d = path.dirname(main);
      for (let i = 0; ; i++) {
        const candidate = path.join(d, 'package.json');
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          manifest = require(candidate) as PluginManifest;
          pkgFile = candidate;
          break;
        } catch {
          const up = path.dirname(d);
          if (up === d || i > 12) return undefined;
          d = up;
        }
      }
    } catch {
      return undefined;
    }
    if (seen.has(pkgFile)) return undefined;
    seen.add(pkgFile);
    const declared = manifest.switchyard?.commands?.[name];
    if (typeof declared === 'string') {
      const [rel, exportName] = declared.split('#') as [string, string | undefined];
      const file = path.resolve(path.dirname(pkgFile), rel);
      let mod: Record<string, unknown>;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require(file) as Record<string, unknown>;
      } catch (err) {
        throw CoreErrors.PLUGIN_LOAD.with({ cause: err }, `${manifest.name ?? spec} (command ${name})`, err instanceof Error ? err.message : String(err));
      }
      const command = (exportName ? mod[exportName] : (mod.default ?? mod.command)) as CommandModule['command'] | undefined;
      if (!command || typeof command.run !== 'function') {
        throw CoreErrors.PLUGIN_INVALID(manifest.name ?? spec, `switchyard.commands.${name} (${declared}) is not a command (an object with run(ctx))`);
      }
      return { command, owner: manifest.name ?? spec, file };
    }
    // A preset (a listed spec) has its members as dependencies: look there, manifests only.
    if (depth < 1) {
      for (const dep of Object.keys(manifest.dependencies ?? {})) {
        const found = look(dep, path.dirname(pkgFile), depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  for (const spec of specs) {
    const found = look(spec, baseDir, 0);
    if (found) return found;
  }
  return undefined;
}
