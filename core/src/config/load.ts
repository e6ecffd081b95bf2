import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorObject } from 'ajv';
import type { Document, LineCounter } from 'yaml';
import {
  Slots, SwitchyardError, type ConfigAdapter, type JsonSchema, type SwitchyardConfig,
  type Logger,
} from '@switchyard/sdk';
import { CoreErrors } from '../errors';
import { blame, locator, pathString, type LineOf } from '../lifecycle';
import { DEFAULT_PLUGINS, loadPlugins, type LoadedPlugin } from '../loader';
import { ServiceRegistry } from '../services';
import { SlotTable } from '../slots';
import { BUILTIN_TIMEOUTS, composeSchema, splitAddress } from './schema';
import { compileValidator, type Validator } from './validator';

export interface ConfigInput {
  /** Config file path (YAML, JSON, or a format an adapter claims). */
  file?: string;
  /** Config text instead of a file (the file name is still used for errors and resolution). */
  text?: string;
  /** An already parsed object (tests, the demo). */
  object?: Record<string, unknown>;
  /** Adapter name to force (`--adapter haproxy`). */
  adapter?: string;
  /** Adapter leniency: unknown directives become warnings. */
  lenient?: boolean;
  /** Directory plugin paths resolve from when there is no file. */
  baseDir?: string;
  /**
   * 'used' (the default): a preset loads only the members the config uses (see the loader's
   * `activation`). 'all': every member (`switchyard schema`, plugin commands without a config).
   */
  presets?: 'used' | 'all';
}

export interface LoadedConfig {
  config: SwitchyardConfig;
  plugins: LoadedPlugin[];
  /** This generation's services (a fresh registry per load: a reload builds its own). */
  services: ServiceRegistry;
  slots: SlotTable;
  /** Line of a key path in the config file (YAML, or the adapted file), for errors found later. */
  lineOf: LineOf;
  schema: JsonSchema;
  file: string | undefined;
  baseDir: string;
  warnings: string[];
}

/** Thrown with every problem found, so `validate` can print them all. */
export class ConfigErrors extends Error {
  readonly errors: SwitchyardError[];
  constructor(errors: SwitchyardError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
  }
}

type Yaml = typeof import('yaml');
/** yaml only for YAML/JSON configs: a haproxy.cfg never loads it (idle RSS, start-up time). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = (): Yaml => require('yaml') as Yaml;

function yamlLineOf(doc: Document, counter: LineCounter): LineOf {
  const { isMap, isNode, isSeq } = yaml();
  return (p) => {
    for (let n = p.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(p.slice(0, n), true);
      if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
      if (n > 0 && (isMap(node) || isSeq(node))) break;
    }
    return undefined;
  };
}

function readSource(input: ConfigInput): { raw: unknown; lineOf: LineOf; warnings: string[]; adapterNeeded?: string; text?: string } {
  if (input.object) return { raw: input.object, lineOf: () => undefined, warnings: [] };
  const file = input.file ?? '<config>';
  let text = input.text;
  if (text === undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw CoreErrors.CONFIG_READ.with({ cause: err, location: { file } }, file, (err as Error).message);
    }
  }
  const ext = path.extname(file).toLowerCase();
  if (input.adapter || !['.yaml', '.yml', '.json', ''].includes(ext)) {
    return { raw: undefined, lineOf: () => undefined, warnings: [], adapterNeeded: input.adapter ?? ext, text };
  }
  const { LineCounter: Counter, parseDocument } = yaml();
  const counter = new Counter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigErrors(
      doc.errors.map((e) => {
        const line = e.linePos?.[0]?.line;
        return CoreErrors.CONFIG_PARSE.with({ location: { file, line } }, file, e.message.split('\n')[0] ?? e.message);
      }),
    );
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  return { raw: raw ?? {}, lineOf: yamlLineOf(doc, counter), warnings: [] };
}

function describe(e: ErrorObject): { extra: string | undefined; message: string } {
  switch (e.keyword) {
    case 'additionalProperties':
      return { extra: String(e.params.additionalProperty), message: 'unknown key (not in the schema of any loaded plugin)' };
    case 'required':
      return { extra: undefined, message: `missing required key "${String(e.params.missingProperty)}"` };
    case 'enum':
      return { extra: undefined, message: `must be one of: ${(e.params.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'type':
      return { extra: undefined, message: `must be ${String(e.params.type).replace(',', ' or ')}` };
    default:
      return { extra: undefined, message: e.message ?? e.keyword };
  }
}

/** Turns ajv's errors into coded errors with file, line and key path, dropping oneOf noise. */
function schemaErrors(errors: ErrorObject[], file: string | undefined, lineOf: LineOf): SwitchyardError[] {
  const out: SwitchyardError[] = [];
  const seen = new Set<string>();
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  for (const e of errors) {
    // Inside a oneOf, every branch's complaints are noise: report the oneOf once.
    const insideOneOf = e.keyword !== 'oneOf' && [...oneOfPaths].some((p) => e.instancePath === p || e.instancePath.startsWith(p + '/'));
    if (insideOneOf) continue;
    // An if/then's own "must match then schema" repeats what its then-branch error says.
    if (e.keyword === 'if') continue;
    const parts: Array<string | number> = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const { extra, message } =
      e.keyword === 'oneOf' ? { extra: undefined, message: 'is not any of the accepted forms (see `switchyard schema`)' } : describe(e);
    if (extra !== undefined) parts.push(extra);
    const keyPath = pathString(parts) || '(top level)';
    const key = `${keyPath}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(CoreErrors.CONFIG_INVALID.with({ location: { file, line: lineOf(parts), path: keyPath } }, message));
  }
  return out;
}

/** Applies defaults.timeouts and built-ins, splits addresses, names servers; checks references. */
function normalize(cfg: SwitchyardConfig, file: string | undefined, lineOf: LineOf, slotNames: string[], baseDir: string): SwitchyardError[] {
  const errors: SwitchyardError[] = [];
  const at = (p: Array<string | number>, message: string): void => {
    errors.push(CoreErrors.CONFIG_REFERENCE.with({ location: { file, line: lineOf(p), path: pathString(p) } }, message));
  };
  const base = { ...BUILTIN_TIMEOUTS, ...(cfg.defaults.timeouts ?? {}) };
  // Error pages are read once, here: a missing file is a config error with its key path.
  const pages = (where: Array<string | number>, files: unknown): Record<string, Buffer> | undefined => {
    if (!files) return undefined;
    const out: Record<string, Buffer> = {};
    for (const [status, file] of Object.entries(files as Record<string, string>)) {
      try {
        const page = fs.readFileSync(path.resolve(baseDir, file));
        // HAProxy's errorfile format (a whole response: status line, headers, body): keep the body.
        const head = /^HTTP\/1\.[01] \d{3}[^\n]*\n(?:[^\n]+\n)*?\r?\n/.exec(page.toString('latin1'));
        out[status] = head ? page.subarray(head[0].length) : page;
      } catch (err) {
        at([...where, status], `cannot read error page ${file}: ${(err as Error).message}`);
      }
    }
    return out;
  };
  const defaultPages = pages(['defaults', 'errorFiles'], cfg.defaults.errorFiles);
  cfg.defaults.timeouts = base;
  for (const [name, fe] of Object.entries(cfg.frontends)) {
    fe.timeouts = { ...base, ...(fe.timeouts ?? {}) };
    fe.errorPages = { ...defaultPages, ...pages(['frontends', name, 'errorFiles'], fe.errorFiles) };
    const binds = (Array.isArray(fe.bind) ? fe.bind : [fe.bind]) as unknown[];
    fe.bind = binds.map((b) => {
      if (typeof b === 'string' && b.startsWith('fd@')) return { host: '', port: 0, fd: /^\d+$/.test(b.slice(3)) ? Number(b.slice(3)) : b.slice(3) };
      if (typeof b === 'string' || typeof b === 'number') return { ...splitAddress(b, '0.0.0.0') };
      const o = b as { host?: string; port?: number; fd?: number | string };
      if (o.fd !== undefined) return { ...o, host: o.host ?? '', port: o.port ?? 0 } as (typeof fe.bind)[number];
      return { ...o, host: o.host ?? '0.0.0.0' } as (typeof fe.bind)[number];
    });
    if (fe.defaultBackend !== undefined) {
      const be = cfg.backends[fe.defaultBackend];
      if (!be) at(['frontends', name, 'defaultBackend'], `backend "${fe.defaultBackend}" does not exist (backends: ${Object.keys(cfg.backends).join(', ') || 'none'})`);
      else if (be.mode !== fe.mode) at(['frontends', name, 'defaultBackend'], `frontend is mode ${fe.mode} but backend "${fe.defaultBackend}" is mode ${be.mode}`);
    }
  }
  for (const [name, be] of Object.entries(cfg.backends)) {
    be.timeouts = { ...base, ...(be.timeouts ?? {}) };
    be.errorPages = pages(['backends', name, 'errorFiles'], be.errorFiles) ?? {};
    if (!slotNames.includes(be.balance)) {
      at(['backends', name, 'balance'], `no loaded plugin provides balance "${be.balance}" (available: ${slotNames.join(', ') || 'none; add @switchyard/plugin-roundrobin'})`);
    }
    const names = new Set<string>();
    be.servers.forEach((s, i) => {
      if (!s.name) s.name = `s${i + 1}`;
      if (names.has(s.name)) at(['backends', name, 'servers', i, 'name'], `server name "${s.name}" is used twice in backend ${name}`);
      names.add(s.name);
      const { host, port } = splitAddress(s.address, '127.0.0.1');
      if (!(port > 0 && port < 65536)) at(['backends', name, 'servers', i, 'address'], `port must be 1-65535`);
      s.host = host;
      s.port = port;
    });
  }
  return errors;
}

function findAdapter(slots: SlotTable, wanted: string): ConfigAdapter | undefined {
  const byName = slots.get<ConfigAdapter>(Slots.CONFIG_ADAPTER, wanted.replace(/^\./, ''));
  if (byName) return byName;
  for (const n of slots.names(Slots.CONFIG_ADAPTER)) {
    const a = slots.get<ConfigAdapter>(Slots.CONFIG_ADAPTER, n);
    if (a?.extensions.includes(wanted)) return a;
  }
  return undefined;
}

export interface LoadOptions {
  logger: Logger;
}

/**
 * The config driver: read, (adapt,) load the plugins the config lists, let them register,
 * compose the schema, validate, fill defaults, normalise. Throws ConfigErrors with every
 * problem found, or a coded error for plugin problems.
 */
export function loadConfig(input: ConfigInput, options: LoadOptions): LoadedConfig {
  const file = input.file ? path.resolve(input.file) : undefined;
  const baseDir = file ? path.dirname(file) : path.resolve(input.baseDir ?? process.cwd());
  const src = readSource({ ...input, file });
  let raw = src.raw;
  let lineOf = src.lineOf;
  const warnings = [...src.warnings];

  if (src.adapterNeeded !== undefined) {
    // Adapters are plugins too: load the default set's adapters (and the plugins that teach
    // them directives) to find one, then adapt; the adapted config names its own plugins.
    const slots = new SlotTable();
    const plugins = loadPlugins(DEFAULT_PLUGINS, baseDir, { adapting: true });
    registerAll(plugins, slots, new ServiceRegistry(), options.logger, file);
    const adapter = findAdapter(slots, src.adapterNeeded);
    if (!adapter) {
      throw CoreErrors.CONFIG_ADAPTER_UNKNOWN.with({ location: { file } }, src.adapterNeeded, slots.names(Slots.CONFIG_ADAPTER).join(', ') || 'none');
    }
    const result = adapter.adapt(src.text ?? '', file ?? '<config>', { lenient: input.lenient === true });
    raw = result.config;
    lineOf = result.lineOf ?? (() => undefined);
    warnings.push(...result.warnings);
  }

  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigErrors([CoreErrors.CONFIG_INVALID.with({ location: { file, line: 1, path: '(top level)' } }, 'the config must be a mapping of keys')]);
  }
  const obj = raw as Record<string, unknown>;
  const listed = obj.plugins === undefined ? DEFAULT_PLUGINS : obj.plugins;
  if (!Array.isArray(listed) || !listed.every((p) => typeof p === 'string')) {
    throw new ConfigErrors([CoreErrors.CONFIG_INVALID.with({ location: { file, line: lineOf(['plugins']), path: 'plugins' } }, 'must be a list of package names or paths')]);
  }

  const services = new ServiceRegistry();
  const slots = new SlotTable();
  const plugins = loadPlugins(listed as string[], baseDir, input.presets === 'all' ? {} : { config: obj });
  registerAll(plugins, slots, services, options.logger, file, lineOf);

  const balanceNames = slots.names(Slots.BALANCE);
  const schema = composeSchema(plugins.map((p) => p.definition), balanceNames);
  let validate: Validator;
  try {
    // Without $id: ajv would refuse a second schema under the same id. Compiled once per
    // distinct schema, then loaded from the cache (./validator.ts).
    const { $id: _id, ...anonymous } = schema;
    validate = compileValidator(anonymous).validate;
  } catch (err) {
    throw CoreErrors.CONFIG_INVALID.with({ cause: err }, `the composed schema does not compile: ${(err as Error).message}`);
  }
  const data = structuredClone(obj);
  if (!validate(data)) {
    const errors = validate.errors ?? [];
    if (input.presets !== 'all' && errors.some((e) => e.keyword === 'additionalProperties')) {
      // A key no loaded plugin knows: maybe a preset member's activation manifest is stale.
      // Every member then, so a stale manifest costs memory, never a refused config.
      const full = loadConfig({ ...input, presets: 'all' }, options);
      full.warnings.push('every preset member was loaded: the config uses a key that the members it selected do not know (a member\'s package.json "switchyard.activation" misses it)');
      return full;
    }
    throw new ConfigErrors(schemaErrors(errors, file, lineOf));
  }
  const config = data as unknown as SwitchyardConfig;
  config.plugins = listed as string[];
  const refErrors = normalize(config, file, lineOf, balanceNames, baseDir);
  if (refErrors.length > 0) throw new ConfigErrors(refErrors);
  return { config, plugins, services, slots, lineOf, schema, file, baseDir, warnings };
}

function registerAll(
  plugins: LoadedPlugin[], slots: SlotTable, services: ServiceRegistry, logger: Logger, file: string | undefined, lineOf: LineOf = () => undefined,
): void {
  const container = services.legacy();
  const locate = locator(file, lineOf);
  for (const p of plugins) {
    if (!p.definition.register) continue;
    slots.setOwner(p.definition.name);
    services.setOwner(p.definition.name);
    try {
      p.definition.register({ services, container, slots, logger: logger.child({ plugin: p.definition.name }) });
    } catch (err) {
      throw blame(err, p.definition.name, 'register', locate);
    }
  }
  slots.setOwner('@switchyard/core');
  services.setOwner('@switchyard/core');
}
