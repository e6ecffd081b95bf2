import * as os from 'node:os';

/**
 * The part of HAProxy's sample language a tcp-check needs: fetches (`var()`, `res.payload()`,
 * `str()`, `int()`, `bin()`, `date()`, `srv_name`…) and converters (`hex`, `htonl`,
 * `cut_crlf`, `ltrim()`, `rtrim()`, `lower`, `upper`, `length`), and log-format strings
 * (`%[expr]`, `%%`, `%H`) built from them. Everything is compiled once, at load; a check
 * only evaluates closures.
 */

/** A sample: an integer, bytes (strings are latin1 bytes), or absent. */
export type Sample = number | Buffer | undefined;

/** What a check's expressions read. */
export interface CheckContext {
  /** Variables of the scopes `check`, `sess` (this check) and `proc` (process-wide), by full name. */
  readonly vars: Map<string, Sample>;
  readonly procVars: Map<string, Sample>;
  /** Bytes received since the last send. */
  readonly input: Buffer;
  readonly server: { readonly name: string; readonly backend: string; readonly host: string; readonly port: number };
}

export type Expr = (ctx: CheckContext) => Sample;
export type Format = (ctx: CheckContext) => Buffer;

/** A sample or log-format the check cannot use: the message says what and where. */
export class SampleSyntaxError extends Error {}

const VAR_NAME = /^(check|sess|proc)\.[A-Za-z0-9._-]+$/;

export function checkVarName(name: string): string {
  if (!VAR_NAME.test(name)) {
    throw new SampleSyntaxError(`variable "${name}": a tcp-check variable is check.<name>, sess.<name> or proc.<name> (letters, digits, '.', '_', '-')`);
  }
  return name;
}

export function readVar(ctx: CheckContext, name: string): Sample {
  return name.startsWith('proc.') ? ctx.procVars.get(name) : ctx.vars.get(name);
}

export function writeVar(ctx: CheckContext, name: string, value: Sample): void {
  const m = name.startsWith('proc.') ? ctx.procVars : ctx.vars;
  if (value === undefined) m.delete(name);
  else m.set(name, value);
}

export function asBuffer(s: Sample): Buffer | undefined {
  if (s === undefined) return undefined;
  return typeof s === 'number' ? Buffer.from(String(s), 'latin1') : s;
}

export function asInt(s: Sample): number | undefined {
  if (s === undefined) return undefined;
  if (typeof s === 'number') return s;
  const m = /^\s*(-?\d+)/.exec(s.toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/** Splits `a,b(c,d),e` on top-level commas. */
function splitTop(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && i + 1 < text.length) {
        cur += c + text[++i];
        continue;
      }
      if (c === quote) quote = null;
      cur += c;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === sep && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quote || depth !== 0) throw new SampleSyntaxError(`unbalanced quotes or parentheses in "${text}"`);
  out.push(cur);
  return out;
}

function unquote(arg: string): string {
  // Only a quoted argument loses its surrounding blanks: str() keeps what it is given.
  const a = /^\s*["']/.test(arg) ? arg.trim() : arg;
  if (a.length >= 2 && (a[0] === '"' || a[0] === "'") && a[a.length - 1] === a[0]) {
    return a.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return a;
}

interface Call {
  name: string;
  args: string[];
}

function parseCall(text: string): Call {
  const t = text.trim();
  const m = /^([a-z_][a-z0-9_.]*)(?:\((.*)\))?$/is.exec(t);
  if (!m) throw new SampleSyntaxError(`"${t}" is not a fetch or converter`);
  return { name: m[1]!.toLowerCase(), args: m[2] === undefined ? [] : m[2] === '' ? [] : splitTop(m[2], ',').map(unquote) };
}

function intArg(c: Call, i: number, dflt?: number): number {
  const a = c.args[i]?.trim();
  if (a === undefined || a === '') {
    if (dflt !== undefined) return dflt;
    throw new SampleSyntaxError(`${c.name}() needs argument ${i + 1}`);
  }
  if (!/^-?\d+$/.test(a)) throw new SampleSyntaxError(`${c.name}(): "${a}" is not an integer`);
  return Number(a);
}

function hexToBuffer(hex: string, what: string): Buffer {
  const h = hex.replace(/\s+/g, '');
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new SampleSyntaxError(`${what}: "${hex}" is not an even number of hexadecimal digits`);
  return Buffer.from(h, 'hex');
}

function compileFetch(c: Call): Expr {
  switch (c.name) {
    case 'var': {
      const name = checkVarName(c.args[0] ?? '');
      return (ctx) => readVar(ctx, name);
    }
    case 'str': {
      const b = Buffer.from(c.args[0] ?? '', 'latin1');
      return () => b;
    }
    case 'bin': {
      const b = hexToBuffer(c.args[0] ?? '', 'bin()');
      return () => b;
    }
    case 'int': {
      const n = intArg(c, 0);
      return () => n;
    }
    case 'date': {
      const offset = intArg(c, 0, 0);
      return () => Math.floor(Date.now() / 1000) + offset;
    }
    case 'res.payload':
    case 'req.payload': {
      const off = intArg(c, 0);
      const len = intArg(c, 1);
      return (ctx) => {
        if (ctx.input.length < off + len) return undefined;
        return ctx.input.subarray(off, len === 0 ? ctx.input.length : off + len);
      };
    }
    case 'res.len':
      return (ctx) => ctx.input.length;
    case 'srv_name':
      return (ctx) => Buffer.from(ctx.server.name, 'latin1');
    case 'be_name':
      return (ctx) => Buffer.from(ctx.server.backend, 'latin1');
    case 'srv_port':
      return (ctx) => ctx.server.port;
    case 'hostname': {
      const h = Buffer.from(os.hostname(), 'latin1');
      return () => h;
    }
    default:
      throw new SampleSyntaxError(`unknown fetch "${c.name}" (a tcp-check knows var, str, int, bin, date, res.payload, res.len, srv_name, srv_port, be_name, hostname)`);
  }
}

type Conv = (s: Sample) => Sample;

function trimChars(c: Call): string {
  return c.args[0] ?? ' ';
}

function compileConverter(c: Call): Conv {
  switch (c.name) {
    case 'hex':
      return (s) => {
        const b = asBuffer(s);
        return b === undefined ? undefined : Buffer.from(b.toString('hex').toUpperCase(), 'latin1');
      };
    case 'htonl':
      return (s) => {
        const n = asInt(s);
        if (n === undefined) return undefined;
        const b = Buffer.alloc(4);
        b.writeUInt32BE(n >>> 0);
        return b;
      };
    case 'cut_crlf':
      return (s) => {
        const b = asBuffer(s);
        if (b === undefined) return undefined;
        let i = 0;
        while (i < b.length && b[i] !== 0x0d && b[i] !== 0x0a) i++;
        return b.subarray(0, i);
      };
    case 'ltrim':
    case 'rtrim': {
      const chars = new Set(Buffer.from(trimChars(c), 'latin1'));
      const left = c.name === 'ltrim';
      return (s) => {
        const b = asBuffer(s);
        if (b === undefined) return undefined;
        let i = 0;
        let j = b.length;
        if (left) while (i < j && chars.has(b[i]!)) i++;
        else while (j > i && chars.has(b[j - 1]!)) j--;
        return b.subarray(i, j);
      };
    }
    case 'lower':
    case 'upper': {
      const up = c.name === 'upper';
      return (s) => {
        const b = asBuffer(s);
        if (b === undefined) return undefined;
        const t = b.toString('latin1');
        return Buffer.from(up ? t.toUpperCase() : t.toLowerCase(), 'latin1');
      };
    }
    case 'length':
      return (s) => asBuffer(s)?.length;
    case 'bytes': {
      const off = intArg(c, 0);
      const len = intArg(c, 1, 0);
      return (s) => {
        const b = asBuffer(s);
        if (b === undefined) return undefined;
        return b.subarray(off, len === 0 ? b.length : off + len);
      };
    }
    case 'add':
    case 'sub': {
      const n = intArg(c, 0);
      const sign = c.name === 'add' ? 1 : -1;
      return (s) => {
        const v = asInt(s);
        return v === undefined ? undefined : v + sign * n;
      };
    }
    default:
      throw new SampleSyntaxError(`unknown converter "${c.name}" (a tcp-check knows hex, htonl, cut_crlf, ltrim, rtrim, lower, upper, length, bytes, add, sub)`);
  }
}

/** Compiles `fetch(args),conv,conv(args)`. */
export function compileExpr(text: string): Expr {
  const parts = splitTop(text, ',');
  const fetch = compileFetch(parseCall(parts[0]!));
  const convs = parts.slice(1).map((p) => compileConverter(parseCall(p)));
  if (convs.length === 0) return fetch;
  return (ctx) => {
    let s = fetch(ctx);
    for (const c of convs) {
      if (s === undefined) return undefined;
      s = c(s);
    }
    return s;
  };
}

const DASH = Buffer.from('-', 'latin1');

/**
 * Compiles a log-format string: literal text, `%[expr]` samples (an absent sample is
 * written `-`, as in HAProxy logs), `%%`, and `%H` (this host's name).
 */
export function compileFormat(text: string): Format {
  const parts: Array<Buffer | Expr> = [];
  let lit = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      lit += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '%') {
      lit += '%';
      i++;
      continue;
    }
    if (next === '[') {
      let depth = 0;
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === '[') depth++;
        else if (text[j] === ']' && --depth === 0) break;
      }
      if (j >= text.length) throw new SampleSyntaxError(`log-format "${text}": missing ']'`);
      if (lit) parts.push(Buffer.from(lit, 'latin1'));
      lit = '';
      parts.push(compileExpr(text.slice(i + 2, j)));
      i = j;
      continue;
    }
    if (next === 'H') {
      lit += os.hostname();
      i++;
      continue;
    }
    throw new SampleSyntaxError(`log-format "${text}": only %[sample], %H and %% are available in a check`);
  }
  if (lit) parts.push(Buffer.from(lit, 'latin1'));
  if (parts.length === 1 && Buffer.isBuffer(parts[0])) {
    const b = parts[0];
    return () => b;
  }
  return (ctx) => {
    const out: Buffer[] = [];
    for (const p of parts) out.push(Buffer.isBuffer(p) ? p : (asBuffer(p(ctx)) ?? DASH));
    return Buffer.concat(out);
  };
}
