/**
 * Coded errors shared by the core and every plugin.
 *
 * An error's identity is its `code` (SWY_ERR_<AREA>_<WHAT>), never its class: a plugin
 * may be built against another installed copy of this package, so `instanceof` is made
 * to work across copies through a global symbol brand (as undici does).
 */
const kSwitchyardError = Symbol.for('switchyard.error');

export interface ErrorSpec {
  /** Stable code, `SWY_ERR_<AREA>_<WHAT>`. */
  readonly code: string;
  /** Message template; `%s` placeholders are filled from the arguments in order. */
  readonly message: string;
  /** HTTP status a client sees when this error ends an exchange (default 500). */
  readonly status?: number;
}

export interface SwitchyardErrorOptions {
  cause?: unknown;
  /** Where in the config the problem is: file, line, key path. */
  location?: ConfigLocation;
  status?: number;
  /** The plugin the error comes from (the core fills it in for errors out of a plugin step or tap). */
  plugin?: string;
}

export interface ConfigLocation {
  file?: string;
  line?: number;
  column?: number;
  /** Key path in dotted form, e.g. `backends.api.servers[0].weight`. */
  path?: string;
}

export class SwitchyardError extends Error {
  readonly code: string;
  readonly status: number;
  location: ConfigLocation | undefined;
  /** The plugin it comes from, when a plugin raised it. */
  plugin: string | undefined;

  constructor(code: string, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.status = options.status ?? 500;
    this.location = options.location;
    this.plugin = options.plugin;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses keep ordinary instanceof; the base class recognises every copy's errors.
    if (this !== SwitchyardError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kSwitchyardError] === true;
  }
}
Object.defineProperty(SwitchyardError.prototype, kSwitchyardError, { value: true });

export function isSwitchyardError(value: unknown): value is SwitchyardError {
  return value instanceof SwitchyardError;
}

export type ErrorFactory = ((...args: Array<string | number>) => SwitchyardError) & {
  readonly code: string;
  readonly spec: ErrorSpec;
  /** Same error with a cause and/or a config location attached. */
  with(options: SwitchyardErrorOptions, ...args: Array<string | number>): SwitchyardError;
};

function format(template: string, args: ReadonlyArray<string | number>): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'));
}

/**
 * Declares a package's error registry. Each key becomes a factory; the registry is
 * also the list that docs/errors.md must mirror (a test keeps them in step).
 */
export function defineErrors<K extends string>(specs: Record<K, ErrorSpec>): Record<K, ErrorFactory> {
  const out = {} as Record<K, ErrorFactory>;
  for (const key of Object.keys(specs) as K[]) {
    const spec = specs[key];
    if (!/^SWY_ERR_[A-Z0-9]+_[A-Z0-9_]+$/.test(spec.code)) {
      throw new TypeError(`error code ${spec.code} does not follow SWY_ERR_<AREA>_<WHAT>`);
    }
    const make = (options: SwitchyardErrorOptions, args: ReadonlyArray<string | number>): SwitchyardError =>
      new SwitchyardError(spec.code, format(spec.message, args), { status: spec.status, ...options });
    const factory = ((...args: Array<string | number>) => make({}, args)) as ErrorFactory;
    Object.defineProperty(factory, 'code', { value: spec.code });
    Object.defineProperty(factory, 'spec', { value: spec });
    Object.defineProperty(factory, 'with', {
      value: (options: SwitchyardErrorOptions, ...args: Array<string | number>) => make(options, args),
    });
    out[key] = factory;
  }
  return out;
}

/** Errors raised by the SDK itself (plugin definitions that do not hold together). */
export const SdkErrors = defineErrors({
  PLUGIN_INVALID: {
    code: 'SWY_ERR_SDK_PLUGIN_INVALID',
    message: 'plugin definition is invalid: %s',
  },
});

/**
 * Formats an error with its location for people: `file:line: path: message (CODE)`, and
 * `file:line: path: plugin <name>: message (CODE)` when a plugin raised it.
 */
export function formatError(err: unknown): string {
  if (err instanceof SwitchyardError) {
    const loc = err.location;
    const where = loc
      ? [loc.file && (loc.line ? `${loc.file}:${loc.line}` : loc.file), loc.path].filter(Boolean).join(': ')
      : '';
    const who = err.plugin && !err.message.includes(err.plugin) ? `plugin ${err.plugin}: ` : '';
    return `${where ? where + ': ' : ''}${who}${err.message} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Errors every forwarder reports in the same words, so logs, stats and retries can tell a
 * refused connection from a reset or a timeout whichever forwarder saw it.
 */
export const ForwardErrors = defineErrors({
  REFUSED: { code: 'SWY_ERR_FORWARD_REFUSED', message: 'server %s refused the connection (%s)', status: 503 },
  CONNECT_TIMEOUT: { code: 'SWY_ERR_FORWARD_CONNECT_TIMEOUT', message: 'server %s: no connection within %s ms', status: 503 },
  RESET: { code: 'SWY_ERR_FORWARD_RESET', message: 'server %s closed or reset the connection (%s)', status: 502 },
  TIMEOUT: { code: 'SWY_ERR_FORWARD_TIMEOUT', message: 'server %s did not answer within %s ms', status: 504 },
  BAD_RESPONSE: { code: 'SWY_ERR_FORWARD_BAD_RESPONSE', message: 'server %s sent an invalid response (%s)', status: 502 },
  CLIENT_ABORT: { code: 'SWY_ERR_FORWARD_CLIENT_ABORT', message: 'client went away while talking to server %s', status: 499 },
});
