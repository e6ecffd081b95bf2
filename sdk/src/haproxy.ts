/**
 * haproxy.cfg directives contributed by plugins (slot `haproxy.directive`).
 *
 * The haproxy.cfg adapter knows the file's grammar (sections, words, quotes, environment
 * variables, `if`/`unless` conditions, defaults inheritance); what a directive MEANS is
 * taught by the plugin that implements it, as a Caddy module registers its Caddyfile
 * directive. A plugin provides a `HaproxyDirective` in its register step:
 *
 *   slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName('option', 'logasap'), {
 *     scope: 'option', keyword: 'logasap', plugin: NAME,
 *     description: 'log when the response head is sent',
 *     handle(ctx) { ctx.set(ctx.frontendPath('accessLog', 'asap'), true); },
 *   });
 *
 * A contributed directive wins over the adapter's own reading of the same word. The
 * adapted config lists only the plugins whose directives the file used (`plugin`, and
 * any `ctx.use()`), so a one-backend haproxy.cfg loads a handful of plugins, not all.
 */

export const HAPROXY_DIRECTIVE_SLOT = 'haproxy.directive';

/**
 * Where a keyword is looked up:
 * - `global`: a line of the global section (`keyword` = first word);
 * - `proxy`: a line of a frontend, backend, listen or defaults section (first word);
 * - `option`: `option <keyword>` / `no option <keyword>` in a proxy;
 * - `http-request`, `http-response`, `http-after-response`, `tcp-request`, `tcp-response`:
 *   the action word of such a rule (`keyword` = action, e.g. `use-service`, or `content
 *   set-var` for tcp rules: the rule's kind then its action, without any `(…)` argument);
 * - `server`, `bind`: one option on a server / bind line (`keyword` = the option word);
 * - `address`: a bind address prefix (`fd@`, `unix@`…, keyword with its `@`);
 * - `section`: a whole section of its own (`peers`, `resolvers`, `http-errors`…).
 */
export type HaproxyScope =
  | 'global'
  | 'proxy'
  | 'option'
  | 'http-request'
  | 'http-response'
  | 'http-after-response'
  | 'tcp-request'
  | 'tcp-response'
  | 'server'
  | 'bind'
  | 'address'
  | 'section';

/** The slot name of a directive: `<scope> <keyword>`. */
export function haproxyDirectiveName(scope: HaproxyScope, keyword: string): string {
  return `${scope} ${keyword}`;
}

export type HaproxyKeyPath = ReadonlyArray<string | number>;

/** One line of a haproxy.cfg, split into words (quotes removed, variables expanded). */
export interface HaproxyLine {
  readonly words: ReadonlyArray<string>;
  readonly line: number;
}

/** The condition at the end of a rule, ready for the ACL plugin: `{ if: '…' }`, `{ unless: '…' }` or `{}`. */
export interface HaproxyCondition {
  if?: string;
  unless?: string;
}

/** What a directive handler gets: the line, its place, and the canonical model being built. */
export interface HaproxyAdaptContext {
  /** The haproxy.cfg file (absolute) and the line being read. */
  readonly file: string;
  readonly line: number;
  /** All words of the line, the keyword(s) included. */
  readonly words: ReadonlyArray<string>;
  /**
   * The words after the keyword: for `option` after `option <name>`, for rules the action's
   * arguments without the trailing condition, for `server`/`bind` options the words after
   * the option (consume some with `take`).
   */
  readonly args: ReadonlyArray<string>;
  /** `no option …`. */
  readonly negated: boolean;
  /** The section: its keyword (`frontend`, `backend`, `listen`, `defaults`, `global`, or its own) and name. */
  readonly section: { readonly keyword: string; readonly name: string; readonly line: number };
  /** Names in the canonical model when the section is (or holds) a frontend / a backend. */
  readonly frontend: string | undefined;
  readonly backend: string | undefined;
  /** True while a defaults section's line is replayed into the proxy that inherits it. */
  readonly fromDefaults: boolean;
  /** Section scope: the section's lines. */
  readonly lines: ReadonlyArray<HaproxyLine>;
  /** Rule scopes: the rule's condition. */
  readonly condition: HaproxyCondition;
  /** Server/bind/address scopes: the server or bind object being filled. */
  readonly target: Record<string, unknown> | undefined;

  /** `frontends.<this frontend>.<…p>` (throws outside a frontend). */
  frontendPath(...p: Array<string | number>): HaproxyKeyPath;
  /** `backends.<this backend>.<…p>` (throws outside a backend). */
  backendPath(...p: Array<string | number>): HaproxyKeyPath;
  set(path: HaproxyKeyPath, value: unknown): void;
  get(path: HaproxyKeyPath): unknown;
  push(path: HaproxyKeyPath, value: unknown): void;
  /** Rule scopes: adds the rule (its condition merged in) where the adapter keeps rules of this kind for this proxy. */
  addRule(rule: Record<string, unknown>): void;
  /** Loads this plugin too in the adapted config. */
  use(plugin: string): void;
  /** An approximation or an ignored line: printed, never fatal. */
  warn(text: string): void;
  /** The line cannot be honoured: fatal (file:line) unless --lenient, which drops it with a warning. */
  problem(why: string): void;
  /** Server/bind scopes: consumes and returns the next argument (a problem when missing). */
  take(): string | undefined;
  /** HAProxy time (`5000` ms, `5s`, `1m`) → a duration the config reads; a problem when invalid. */
  duration(value: string | undefined): string | number | undefined;
  int(value: string | undefined): number | undefined;
  /** `if …` / `unless …` words → a condition for the ACL plugin (loads it). */
  parseCondition(words: ReadonlyArray<string>): HaproxyCondition;
  /** A file named in the config, resolved from the config file's directory. */
  resolveFile(file: string): string;
  /** Per-proxy scratch state, one object per key, shared by a plugin's handlers. */
  local<T>(key: string, init: () => T): T;
  /** Runs once this proxy's (or section's) last line has been read. */
  onClose(fn: () => void): void;
  /** Runs once the whole file has been read (every frontend and backend exists). */
  onFinish(fn: () => void): void;
  /** Names of the frontends whose `defaultBackend` or `useBackend` rules reach a backend (call from onFinish). */
  frontendsReaching(backend: string): string[];
}

export interface HaproxyDirective {
  readonly scope: HaproxyScope;
  readonly keyword: string;
  /** The package to load in the adapted config when the directive is used. */
  readonly plugin?: string;
  /** One line for `switchyard plugins` and docs. */
  readonly description: string;
  handle(ctx: HaproxyAdaptContext): void;
}
