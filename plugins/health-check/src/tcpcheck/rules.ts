import { compileExpr, compileFormat, checkVarName, SampleSyntaxError, type CheckContext, type Expr, type Format } from './sample';

/** HAProxy's check statuses (the short names `show stat` prints) and their descriptions. */
export const CHECK_STATUS = Object.freeze({
  L4OK: 'Layer4 check passed',
  L4TOUT: 'Layer4 timeout',
  L4CON: 'Layer4 connection problem',
  L6OK: 'Layer6 check passed',
  L6TOUT: 'Layer6 timeout',
  L6RSP: 'Layer6 invalid response',
  L7TOUT: 'Layer7 timeout',
  L7RSP: 'Layer7 invalid response',
  L7OK: 'Layer7 check passed',
  L7OKC: 'Layer7 check conditionally passed',
  L7STS: 'Layer7 wrong status',
  SOCKERR: 'Socket error',
});
export type CheckStatus = keyof typeof CHECK_STATUS;

/** Statuses that pass; and those HAProxy prints with `code: N` (from L7OK on). */
export const PASSING = new Set<CheckStatus>(['L4OK', 'L6OK', 'L7OK', 'L7OKC']);
export const WITH_CODE = new Set<CheckStatus>(['L7OK', 'L7OKC', 'L7STS']);

const OK_STATUSES = ['L7OK', 'L7OKC', 'L6OK', 'L4OK'] as const;
const ERROR_STATUSES = ['L7OKC', 'L7RSP', 'L7STS', 'L6RSP', 'L4CON'] as const;
const TOUT_STATUSES = ['L7TOUT', 'L6TOUT', 'L4TOUT'] as const;

// ------------------------------------------------------------------ config (canonical model)

export interface TcpCheckConnectConfig {
  /** Use the server's check settings (check port, check TLS, send-proxy) where this rule sets none. */
  default?: boolean;
  /** Port number, or a sample expression such as `var(check.port)`. */
  port?: number | string;
  addr?: string;
  ssl?: boolean;
  sni?: string;
  alpn?: string[];
  sendProxy?: boolean;
  linger?: boolean;
}

export interface TcpCheckExpectConfig {
  string?: string;
  rstring?: string;
  binary?: string;
  rbinary?: string;
  stringLf?: string;
  binaryLf?: string;
  /** `!`: the rule passes when the pattern is NOT found. */
  negate?: boolean;
  /** Bytes to wait for before matching (-1: wait while it does not match). */
  minRecv?: number;
  okStatus?: (typeof OK_STATUSES)[number];
  errorStatus?: (typeof ERROR_STATUSES)[number];
  toutStatus?: (typeof TOUT_STATUSES)[number];
  /** Log-format message when the check ends on this rule and passes. */
  onSuccess?: string;
  /** Log-format message when this rule fails. */
  onError?: string;
  /** Sample expression giving the check's code (e.g. `res.payload(0,3)`). */
  statusCode?: string;
}

/** One `tcp-check` line: exactly one action, and an optional `comment` (the rule's `comment <msg>`). */
export interface TcpCheckRuleConfig {
  connect?: TcpCheckConnectConfig;
  send?: string;
  sendLf?: string;
  sendBinary?: string;
  sendBinaryLf?: string;
  expect?: TcpCheckExpectConfig;
  setVar?: { name: string; expr: string };
  setVarFmt?: { name: string; format: string };
  unsetVar?: string;
  comment?: string;
}

// ------------------------------------------------------------------ compiled rules

/** What a custom expect (mysql, ldap) decides. */
export type CustomVerdict =
  | { ret: 'continue' }
  | { ret: 'wait' }
  | { ret: 'stop'; status: CheckStatus; code?: number; info?: string }
  | { ret: 'pass'; status: CheckStatus; info: string };

export type CustomExpect = (input: Buffer, lastRead: boolean, isLast: boolean) => CustomVerdict;

interface RuleBase {
  /** 0-based position among the ruleset's lines (comments included): the step is index + 1. */
  readonly index: number;
  comment?: string;
}

export interface ConnectRule extends RuleBase {
  readonly kind: 'connect';
  readonly implicit: boolean;
  readonly useDefault: boolean;
  readonly port?: number | Expr;
  readonly addr?: string;
  readonly ssl: boolean;
  readonly sni?: string;
  readonly alpn?: string[];
  readonly sendProxy: boolean;
  readonly linger: boolean;
}

export interface SendRule extends RuleBase {
  readonly kind: 'send';
  readonly data: Buffer | Format;
  /** send-binary-lf: the format yields hex digits. */
  readonly hexFormat: boolean;
}

export type Matcher =
  | { readonly type: 'string' | 'binary'; readonly needle: Buffer; readonly text: string }
  | { readonly type: 'rstring' | 'rbinary'; readonly regex: RegExp }
  | { readonly type: 'string-lf' | 'binary-lf'; readonly format: Format }
  | { readonly type: 'custom'; readonly fn: CustomExpect };

export interface ExpectRule extends RuleBase {
  readonly kind: 'expect';
  readonly match: Matcher;
  readonly negate: boolean;
  readonly minRecv: number;
  readonly okStatus?: CheckStatus;
  readonly errorStatus?: CheckStatus;
  readonly toutStatus?: CheckStatus;
  readonly onSuccess?: Format;
  readonly onError?: Format;
  readonly statusCode?: Expr;
  /** Position (in the compiled list) of the first expect of this run of expects: a wait re-evaluates from there. */
  head: number;
}

export interface SetVarRule extends RuleBase {
  readonly kind: 'set-var';
  readonly name: string;
  readonly value: Expr | Format;
  readonly isFormat: boolean;
}

export interface UnsetVarRule extends RuleBase {
  readonly kind: 'unset-var';
  readonly name: string;
}

export type Rule = ConnectRule | SendRule | ExpectRule | SetVarRule | UnsetVarRule;

/** Which family a ruleset is: messages differ between a user's tcp-check and a protocol check. */
export type RulesetProtocol = 'tcp-check' | 'redis-check' | 'mysql-check' | 'pgsql-check' | 'smtpchk' | 'ldap-check' | 'ssl-hello-chk';

export interface Ruleset {
  readonly protocol: RulesetProtocol;
  readonly rules: ReadonlyArray<Rule>;
  /** Variables set before the first rule (`option pgsql-check user …` presets them). */
  readonly presetVars: ReadonlyArray<[string, Buffer | number]>;
}

/** A rule the config cannot use: `path` is relative to the rule (`expect.rstring`). */
export class RuleError extends Error {
  constructor(readonly ruleIndex: number, message: string) {
    super(message);
  }
}

/** Compiles a regex the way HAProxy's are written (PCRE-like; JS syntax), naming the rule on error. */
function compileRegex(pattern: string, index: number, what: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new RuleError(index, `${what}: not a valid regular expression: ${(err as Error).message}`);
  }
}

function hex(text: string, index: number, what: string): Buffer {
  const h = text.replace(/\s+/g, '');
  if (h.length === 0 || h.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(h)) {
    throw new RuleError(index, `${what}: "${text}" is not an even number of hexadecimal digits`);
  }
  return Buffer.from(h, 'hex');
}

function wrap<T>(index: number, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SampleSyntaxError) throw new RuleError(index, `${what}: ${err.message}`);
    throw err;
  }
}

const ACTIONS = ['connect', 'send', 'sendLf', 'sendBinary', 'sendBinaryLf', 'expect', 'setVar', 'setVarFmt', 'unsetVar'] as const;

function compileExpect(e: TcpCheckExpectConfig, index: number): ExpectRule {
  const kinds = (['string', 'rstring', 'binary', 'rbinary', 'stringLf', 'binaryLf'] as const).filter((k) => e[k] !== undefined);
  if (kinds.length !== 1) throw new RuleError(index, `expect needs exactly one of string, rstring, binary, rbinary, stringLf, binaryLf (got ${kinds.join(', ') || 'none'})`);
  const k = kinds[0]!;
  const v = e[k]!;
  let match: Matcher;
  switch (k) {
    case 'string':
      if (v === '') throw new RuleError(index, 'expect.string is empty');
      match = { type: 'string', needle: Buffer.from(v, 'latin1'), text: v };
      break;
    case 'binary':
      match = { type: 'binary', needle: hex(v, index, 'expect.binary'), text: v };
      break;
    case 'rstring':
      match = { type: 'rstring', regex: compileRegex(v, index, 'expect.rstring') };
      break;
    case 'rbinary':
      match = { type: 'rbinary', regex: compileRegex(v, index, 'expect.rbinary') };
      break;
    case 'stringLf':
      match = { type: 'string-lf', format: wrap(index, 'expect.stringLf', () => compileFormat(v)) };
      break;
    case 'binaryLf':
      match = { type: 'binary-lf', format: wrap(index, 'expect.binaryLf', () => compileFormat(v)) };
      break;
  }
  return {
    kind: 'expect',
    index,
    match,
    negate: e.negate === true,
    minRecv: e.minRecv ?? -1,
    okStatus: e.okStatus,
    errorStatus: e.errorStatus,
    toutStatus: e.toutStatus,
    onSuccess: e.onSuccess === undefined ? undefined : wrap(index, 'expect.onSuccess', () => compileFormat(e.onSuccess!)),
    onError: e.onError === undefined ? undefined : wrap(index, 'expect.onError', () => compileFormat(e.onError!)),
    statusCode: e.statusCode === undefined ? undefined : wrap(index, 'expect.statusCode', () => compileExpr(e.statusCode!)),
    head: -1,
  };
}

function compileConnect(c: TcpCheckConnectConfig, index: number): ConnectRule {
  let port: number | Expr | undefined;
  if (typeof c.port === 'number') {
    if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) throw new RuleError(index, `connect.port ${c.port} is not 1-65535`);
    port = c.port;
  } else if (typeof c.port === 'string') {
    port = /^\d+$/.test(c.port) ? Number(c.port) : wrap(index, 'connect.port', () => compileExpr(c.port as string));
  }
  return {
    kind: 'connect',
    index,
    implicit: false,
    useDefault: c.default === true,
    port,
    addr: c.addr,
    ssl: c.ssl === true,
    sni: c.sni,
    alpn: c.alpn,
    sendProxy: c.sendProxy === true,
    linger: c.linger === true,
  };
}

/**
 * Compiles a tcp-check rule list as HAProxy 2.6 does: an implicit connect is put first when
 * the first real rule is not a connect (it is "step 0"), a `comment` line applies to the
 * next rule and to the rules of the same action right after it, and each rule keeps its
 * config position as its step number.
 */
export function compileRules(list: ReadonlyArray<TcpCheckRuleConfig | Rule>, protocol: RulesetProtocol = 'tcp-check', presetVars: ReadonlyArray<[string, Buffer | number]> = []): Ruleset {
  const rules: Rule[] = [];
  let pendingComment: string | undefined;
  let prevAction: string | null = null;
  list.forEach((r, index) => {
    if ('kind' in r) {
      rules.push(r);
      prevAction = r.kind;
      return;
    }
    const actions = ACTIONS.filter((a) => r[a] !== undefined);
    if (actions.length > 1) throw new RuleError(index, `a rule holds one action (got ${actions.join(', ')})`);
    if (actions.length === 0) {
      if (r.comment === undefined) throw new RuleError(index, 'empty rule (expected connect, send, sendLf, sendBinary, sendBinaryLf, expect, setVar, setVarFmt, unsetVar or comment)');
      pendingComment = r.comment;
      prevAction = 'comment';
      return;
    }
    const a = actions[0]!;
    let rule: Rule;
    switch (a) {
      case 'connect':
        rule = compileConnect(r.connect!, index);
        break;
      case 'send':
        rule = { kind: 'send', index, data: Buffer.from(r.send!, 'latin1'), hexFormat: false };
        break;
      case 'sendBinary':
        rule = { kind: 'send', index, data: hex(r.sendBinary!, index, 'sendBinary'), hexFormat: false };
        break;
      case 'sendLf':
        rule = { kind: 'send', index, data: wrap(index, 'sendLf', () => compileFormat(r.sendLf!)), hexFormat: false };
        break;
      case 'sendBinaryLf':
        rule = { kind: 'send', index, data: wrap(index, 'sendBinaryLf', () => compileFormat(r.sendBinaryLf!)), hexFormat: true };
        break;
      case 'expect':
        rule = compileExpect(r.expect!, index);
        break;
      case 'setVar':
        rule = { kind: 'set-var', index, name: wrap(index, 'setVar.name', () => checkVarName(r.setVar!.name)), value: wrap(index, 'setVar.expr', () => compileExpr(r.setVar!.expr)), isFormat: false };
        break;
      case 'setVarFmt':
        rule = { kind: 'set-var', index, name: wrap(index, 'setVarFmt.name', () => checkVarName(r.setVarFmt!.name)), value: wrap(index, 'setVarFmt.format', () => compileFormat(r.setVarFmt!.format)), isFormat: true };
        break;
      case 'unsetVar':
        rule = { kind: 'unset-var', index, name: wrap(index, 'unsetVar', () => checkVarName(r.unsetVar!)) };
        break;
    }
    // HAProxy's comment inheritance: kept while the action repeats, dropped on another action.
    const kindName = rule.kind === 'send' ? `send` : rule.kind;
    if (prevAction !== null && prevAction !== 'comment' && prevAction !== kindName) pendingComment = undefined;
    if (r.comment !== undefined) rule.comment = r.comment;
    else if (pendingComment !== undefined && (rule.kind === 'connect' || rule.kind === 'send' || rule.kind === 'expect')) rule.comment = pendingComment;
    if (rule.kind === 'connect' || rule.kind === 'set-var' || rule.kind === 'unset-var') pendingComment = undefined;
    prevAction = kindName;
    rules.push(rule);
  });
  const first = rules.find((r) => r.kind !== 'set-var' && r.kind !== 'unset-var');
  if (first === undefined || first.kind !== 'connect') {
    const at = first === undefined ? rules.length : rules.indexOf(first);
    const implicit: ConnectRule = { kind: 'connect', index: 0, implicit: true, useDefault: true, ssl: false, sendProxy: false, linger: false };
    rules.splice(at, 0, implicit);
  }
  let head = -1;
  rules.forEach((r, i) => {
    if (r.kind === 'expect') {
      if (head === -1) head = i;
      r.head = head;
    } else if (r.kind !== 'set-var' && r.kind !== 'unset-var') head = -1;
  });
  return { protocol, rules, presetVars };
}

/** HAProxy's step number: config position + 1, and 0 for the implicit first connect. */
export function stepOf(rule: Rule): number {
  return rule.kind === 'connect' && rule.implicit ? 0 : rule.index + 1;
}

/** " (expect string 'x')", " (connect port 6380)"… : what HAProxy appends to a connection error's step. */
export function describeStep(rule: Rule): string {
  switch (rule.kind) {
    case 'connect':
      return typeof rule.port === 'number' ? ` (connect port ${rule.port})` : ' (connect)';
    case 'send':
      return ' (send)';
    case 'expect':
      switch (rule.match.type) {
        case 'string':
          return ` (expect string '${rule.match.text}')`;
        case 'binary':
          return ` (expect binary '${rule.match.text}')`;
        case 'rstring':
          return ' (expect regex)';
        case 'rbinary':
          return ' (expect binary regex)';
        case 'string-lf':
          return ' (expect log-format string)';
        case 'binary-lf':
          return ' (expect log-format binary)';
        case 'custom':
          return ' (expect custom function)';
      }
    // falls through (unreachable)
    default:
      return '';
  }
}

/** "TCPCHK did not match content 'role:master' at step 3": the generic expect failure of a tcp-check. */
export function expectFailureText(rule: ExpectRule, matched: boolean): string {
  let t = matched ? 'TCPCHK matched unwanted content' : 'TCPCHK did not match content';
  const step = stepOf(rule);
  switch (rule.match.type) {
    case 'string':
    case 'binary':
      t += rule.match.type === 'string' ? ` '${rule.match.text}' at step ${step}` : ` (binary) at step ${step}`;
      break;
    case 'rstring':
      t += ` (regex) at step ${step}`;
      break;
    case 'rbinary':
      t += ` (binary regex) at step ${step}`;
      break;
    case 'string-lf':
      t += ` (log-format string) at step ${step}`;
      break;
    case 'binary-lf':
      t += ` (log-format binary) at step ${step}`;
      break;
    case 'custom':
      t += ` (custom function) at step ${step}`;
      break;
  }
  return t;
}

export type { CheckContext };
