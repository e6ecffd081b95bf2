import { defineSlot, type Exchange, type FetchValue, type GatewayApi, type HttpExchange } from '@switchyard/sdk';

/** A scalar a matcher tests (arrays of values are tested one element at a time). */
export type Sample = string | number | boolean;

/**
 * A match method (`-m beg`, `-m ip`…), in the `acl.match` slot under its name. `compile`
 * runs once at load with every pattern of one ACL line and returns the per-value test.
 */
export interface MatchDefinition {
  readonly description: string;
  /** True when the method takes no pattern (`found`, `bool`). */
  readonly noPatterns?: boolean;
  /** Throw an Error whose message says why a pattern is invalid. */
  compile(patterns: ReadonlyArray<string>, options: { ignoreCase: boolean }): (value: Sample) => boolean;
  /** Optional faster test for string values (the common case); `compile` still handles the rest. */
  compileString?(patterns: ReadonlyArray<string>, options: { ignoreCase: boolean }): (value: string) => boolean;
}

export const MATCH_SLOT = defineSlot<MatchDefinition>('acl.match', {
  kind: 'object',
  methods: ['compile'],
  expected: 'a MatchDefinition (an object with description and compile(patterns, options))',
});

/** A converter after a fetch (`hdr(host),lower`), in the `acl.converter` slot. */
export interface ConverterDefinition {
  readonly description: string;
  readonly arg: 'none' | 'optional' | 'required';
  /** The returned function also gets the exchange, for converters that read variables (hmac, add_item). */
  compile(arg: string | undefined): (value: FetchValue, exchange?: Exchange) => FetchValue;
  /** How an ACL matches the value when this converter comes last and no `-m` is given (`int` for table_* counters). */
  readonly defaultMatch?: 'int' | 'str' | 'bool' | 'ip' | 'found';
}

export const CONVERTER_SLOT = defineSlot<ConverterDefinition>('acl.converter', {
  kind: 'object',
  methods: ['compile'],
  expected: 'a ConverterDefinition (an object with description, arg and compile(arg))',
});

/** A fetch expression compiled once: `hdr(host),lower`. */
export interface CompiledFetch {
  readonly source: string;
  readonly read: (exchange: Exchange) => FetchValue;
}

/** One ACL line (`path_beg /api /v2`), compiled. */
export interface AclLine {
  readonly source: string;
  readonly fetch: CompiledFetch;
  readonly method: string;
  readonly test: (exchange: Exchange) => boolean;
}

/** A condition's tree, kept beside its compiled function for `switchyard explain`. */
export type ConditionNode =
  | { readonly kind: 'acl'; readonly name: string; readonly lines: ReadonlyArray<AclLine> }
  | { readonly kind: 'inline'; readonly line: AclLine }
  | { readonly kind: 'const'; readonly name: string; readonly value: boolean }
  | { readonly kind: 'not'; readonly node: ConditionNode }
  | { readonly kind: 'and'; readonly nodes: ReadonlyArray<ConditionNode> }
  | { readonly kind: 'or'; readonly nodes: ReadonlyArray<ConditionNode> };

export interface CompiledCondition {
  /** As written, with `unless` shown as `!( … )`. */
  readonly source: string;
  readonly node: ConditionNode;
  readonly test: (exchange: Exchange) => boolean;
}

/** A string with `%[fetch,converter]` parts (`"%[src]"`, `"https://%[host]%[url]"`), compiled once. */
export interface CompiledFormat {
  readonly source: string;
  /** True when the value is the same for every exchange. */
  readonly constant: boolean;
  render(exchange: Exchange): string;
}

/** A condition on a rule: at most one of `if` and `unless`. */
export interface RuleCondition {
  if?: string;
  unless?: string;
}

/** What `switchyard explain` prints for one evaluated ACL line or named ACL. */
export interface TraceLine {
  readonly text: string;
  readonly matched: boolean;
}

/**
 * The ACL language as a service, in the `acl.compiler` slot under `default`: other plugins
 * (rules, rate limits, auth, cache) compile their `if`/`unless` with it at apply time, using
 * the named ACLs of the frontend the rule belongs to.
 */
export interface AclCompiler {
  /** Compiles `if`/`unless` of a rule; undefined when the rule has neither (always applies). */
  compileRuleCondition(frontend: string, rule: RuleCondition, where: string): CompiledCondition | undefined;
  compileCondition(frontend: string, text: string, where: string): CompiledCondition;
  compileFetch(text: string, where: string): CompiledFetch;
  compileFormat(text: string, where: string): CompiledFormat;
  /** Names of the ACLs a frontend defines (its own and `defaults.acls`). */
  aclNames(frontend: string): string[];
  /** Evaluates a condition and reports each named ACL and inline line with its result. */
  trace(condition: CompiledCondition, exchange: Exchange): { matched: boolean; lines: TraceLine[] };
  /** Resolves a path in config relative to the config file's directory. */
  resolvePath(file: string): string;
}

/** What other plugins get from the `acl.compiler` slot: the compiler of a given gateway. */
export interface AclService {
  forGateway(gateway: GatewayApi): AclCompiler;
}

/**
 * The ACL compiler's slot, typed: the one contract plugins with `if`/`unless` conditions or
 * fetch expressions use (they declare this package a peer dependency). `'acl.compiler'` is
 * spelled here only.
 */
export const ACL_COMPILER = defineSlot<AclService>('acl.compiler', {
  kind: 'object',
  methods: ['forGateway'],
  expected: 'an AclService (an object with forGateway(gateway))',
});

/** @deprecated the same key as ACL_COMPILER; use ACL_COMPILER. */
export const COMPILER_SLOT = ACL_COMPILER;

/** A decision an explain step reports. */
export type ExplainOutcome =
  | { readonly backend: string; readonly why: string }
  | { readonly handled: string }
  | undefined;

/**
 * One step of `switchyard explain` (slot `acl.explain`): a rules plugin says what it would do
 * with a synthetic exchange, in the order of its route taps (`stage`).
 */
export interface ExplainStep {
  readonly stage: number;
  readonly title: string;
  explain(gateway: GatewayApi, exchange: HttpExchange, out: (line: string) => void): ExplainOutcome;
}

export const EXPLAIN_SLOT = defineSlot<ExplainStep>('acl.explain', {
  kind: 'object',
  methods: ['explain'],
  expected: 'an ExplainStep (an object with stage, title and explain(gateway, exchange, out))',
});

/** Key in `exchange.vars` under which http-response rules expose the response head to fetches. */
export const RESPONSE_VAR = 'acl.response';

/**
 * Set in `connection.data` while tcp-request content inspection still waits for client bytes
 * (plugin-http-rules sets and clears it): `wait_end` (predefined ACL WAIT_END) is false until
 * the inspect-delay has passed (or the client stopped sending, or the buffer is full).
 */
export const INSPECTING: unique symbol = Symbol('switchyard.acl.inspecting');
