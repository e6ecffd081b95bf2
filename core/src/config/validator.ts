import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type { default as AjvClass, ErrorObject, KeywordCxt } from 'ajv';
import { parseDuration, parseSize, type JsonSchema } from '@switchyard/sdk';

/**
 * The composed schema's validator, as ajv's standalone code, compiled once per distinct
 * schema and kept in a cache directory. Compiling the whole composed schema costs a few
 * hundred milliseconds and leaves V8's young generation grown by the garbage it makes
 * (issue 17 item 5); the schema only changes with the set (and versions) of plugins loaded,
 * so every start after the first loads the generated code instead, without ajv. A start
 * that misses the cache compiles as before and writes the file; `validate` and `run` take
 * the same path, so they accept and refuse the same configs.
 *
 * The cache is `SWITCHYARD_CACHE_DIR`, else `$XDG_CACHE_HOME/switchyard`, else
 * `~/.cache/switchyard`; `SWITCHYARD_CACHE_DIR=off` turns it off. Code is only loaded from a
 * directory and file owned by this user and writable by nobody else; when the directory
 * cannot be made or written (a read-only home, another owner), every start compiles.
 */
export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Part of every cache key: bump it when the keywords' generated code or ajv's options change. */
const FORMAT = 'switchyard-validator-2';
/** Module name the generated code requires the value converters by. */
const KEYWORDS_MODULE = 'switchyard:config-keywords';
/** Files kept in the cache directory (one per distinct composed schema). */
const KEEP = 64;

const KEYWORDS: Record<string, (v: string | number) => number | undefined> = { parseDuration, parseSize };

export interface CompiledValidator {
  validate: Validator;
  /** Where the code came from: the cache, a fresh compile (written to the cache, or not). */
  source: 'cache' | 'compiled' | 'compiled-uncached';
  file?: string;
}

export function cacheDir(): string | undefined {
  const env = process.env.SWITCHYARD_CACHE_DIR;
  if (env !== undefined) return env === '' || env === 'off' ? undefined : path.resolve(env);
  let base = process.env.XDG_CACHE_HOME;
  if (!base) {
    try {
      const home = os.homedir();
      if (!home) return undefined;
      base = path.join(home, '.cache');
    } catch {
      return undefined;
    }
  }
  return path.join(base, 'switchyard');
}

/** Owned by this user and not writable by group or others (no owner check where there are no uids). */
function trusted(st: fs.Stats): boolean {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid === undefined) return true;
  return st.uid === uid && (st.mode & 0o022) === 0;
}

function ajvVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('ajv/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Evaluates standalone code; it may require only ajv's runtime helpers and the converters. */
function instantiate(code: string, file: string): Validator {
  const mod: { exports: unknown } = { exports: {} };
  const requireFor = (name: string): unknown => {
    if (name === KEYWORDS_MODULE) return KEYWORDS;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (name.startsWith('ajv/dist/runtime/')) return require(name);
    throw new Error(`validator code asks for module "${name}"`);
  };
  const fn = vm.compileFunction(code, ['require', 'module', 'exports'], { filename: file });
  fn(requireFor, mod, mod.exports);
  const validate = mod.exports as Validator;
  if (typeof validate !== 'function') throw new Error('validator code exports no function');
  return validate;
}

function readCached(dir: string, file: string): string | undefined {
  let fd: number | undefined;
  try {
    if (!trusted(fs.lstatSync(dir))) return undefined;
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !trusted(st)) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeCached(dir: string, file: string, code: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(fs.lstatSync(dir))) return false;
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, code, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    prune(dir);
    return true;
  } catch {
    return false;
  }
}

/** Keeps the newest KEEP validators (a file per plugin set ever used would pile up). */
function prune(dir: string): void {
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('validator-') && f.endsWith('.js'));
  if (files.length <= KEEP) return;
  const byAge = files.map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
  for (const { f } of byAge.slice(0, files.length - KEEP)) fs.rmSync(path.join(dir, f), { force: true });
}

/** ajv with the core's options and its converting keywords, written so standalone code can carry them. */
function newAjv(): AjvClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ajvModule = require('ajv') as typeof import('ajv');
  const { _ } = ajvModule;
  const a = new ajvModule.default({ allErrors: true, useDefaults: true, strict: false, allowUnionTypes: true, code: { source: true } });
  const converting = (keyword: string, helper: keyof typeof KEYWORDS, what: string): void => {
    a.addKeyword({
      keyword,
      modifying: true,
      error: { message: `must be a ${what}` },
      code(cxt: KeywordCxt) {
        const { gen, data, it } = cxt;
        const parse = gen.scopeValue('func', { ref: KEYWORDS[helper], code: _`require(${KEYWORDS_MODULE})[${helper}]` });
        const v = gen.let('v');
        // A wrong type is the type keyword's to report; a readable value replaces the string.
        gen.if(_`typeof ${data} == "string" || typeof ${data} == "number"`, () => {
          gen.assign(v, _`${parse}(${data})`);
          cxt.fail(_`${v} === undefined`);
          if (it.parentData) {
            gen.if(_`${v} !== undefined`, () => {
              gen.assign(_`${it.parentData}[${it.parentDataProperty}]`, v);
              gen.assign(data, v);
            });
          }
        });
      },
    });
  };
  converting('x-duration', 'parseDuration', 'duration such as "250ms", "5s", "1m" or a number of milliseconds');
  converting('x-size', 'parseSize', 'size such as "64kb", "10mb" or a number of bytes');
  return a;
}

/**
 * The validator for a composed schema (without its `$id`): from the cache when this schema
 * was compiled before, else compiled now (and cached). Throws what ajv throws when the schema
 * does not compile.
 */
export function compileValidator(schema: JsonSchema): CompiledValidator {
  const json = JSON.stringify(schema);
  const key = crypto.createHash('sha256').update(`${FORMAT}\n${ajvVersion()}\n${json}`).digest('hex').slice(0, 32);
  const dir = cacheDir();
  const file = dir ? path.join(dir, `validator-${key}.js`) : undefined;
  if (dir && file) {
    const code = readCached(dir, file);
    if (code !== undefined) {
      try {
        return { validate: instantiate(code, file), source: 'cache', file };
      } catch {
        // A damaged file: compile again and replace it.
      }
    }
  }
  const a = newAjv();
  const compiled = a.compile(JSON.parse(json) as JsonSchema);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const standalone = (require('ajv/dist/standalone') as typeof import('ajv/dist/standalone')).default;
  const code = `// ${FORMAT} ${key}: ajv standalone code for one composed Switchyard schema (safe to delete)\n${standalone(a, compiled)}`;
  const stored = dir !== undefined && file !== undefined && writeCached(dir, file, code);
  return { validate: instantiate(code, file ?? `switchyard-validator-${key}.js`), source: stored ? 'compiled' : 'compiled-uncached', file: stored ? file : undefined };
}
