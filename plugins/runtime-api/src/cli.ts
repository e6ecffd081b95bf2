import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CliCommand, CliContext } from '@switchyard/sdk';
import { splitListen } from './listen';

/*
 * `switchyard admin` runs from this module alone (package.json `switchyard.commands`): the CLI
 * loads no plugin and validates nothing, so it answers in well under a second. Keep its imports
 * to node built-ins and ./listen.
 */
// The admin command's own codes (listed in docs/errors.md), here rather than in ./errors.ts so it needs no SDK at run time.
const ADMIN_ERRORS = {
  TARGET: { code: 'SWY_ERR_RUNTIME_ADMIN_TARGET' },
  UNREACHABLE: { code: 'SWY_ERR_RUNTIME_ADMIN_UNREACHABLE' },
} as const;
const TARGET = ADMIN_ERRORS.TARGET.code;
const UNREACHABLE = ADMIN_ERRORS.UNREACHABLE.code;

class AdminError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

type RuntimeSection = { enabled?: boolean; listen?: string; token?: string; tokens?: Array<{ token: string; level: string }> };

/**
 * The runtimeApi section of a config, read from the file as it is (YAML/JSON), with the
 * schema's defaults for what it leaves out; other formats go through the config driver.
 */
async function runtimeSection(ctx: CliContext, file: string): Promise<RuntimeSection | undefined> {
  const ext = path.extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json', ''].includes(ext)) {
    const gw = await ctx.prepare({ file });
    const rc = gw.config.runtimeApi as RuntimeSection | undefined;
    await gw.stop(0);
    return rc;
  }
  let raw: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    raw = (require('yaml') as typeof import('yaml')).parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AdminError(`cannot read the runtime API's address from ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, TARGET);
  }
  const rc = (raw as { runtimeApi?: unknown } | null)?.runtimeApi;
  if (rc === undefined || rc === null) return undefined;
  if (typeof rc !== 'object' || Array.isArray(rc)) throw new AdminError(`${file}: runtimeApi must be a mapping`, TARGET);
  const section = rc as RuntimeSection;
  if (section.listen !== undefined && typeof section.listen !== 'string') throw new AdminError(`${file}: runtimeApi.listen must be "host:port"`, TARGET);
  return { ...section, listen: section.listen ?? '127.0.0.1:9999' };
}

interface Target {
  url: string;
  token: string;
}

interface ApiAnswer {
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

const USAGE = 'switchyard admin [--config <file> | --url <url> --token <token>] [--json] <command> [arg=value | value ...]';

function parseArgv(argv: ReadonlyArray<string>): { flags: Record<string, string | true>; words: string[] } {
  const flags: Record<string, string | true> = {};
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(a);
    if (m && !/^-\d/.test(a)) {
      const key = m[1] === 'c' ? 'config' : m[1]!;
      if (m[2] !== undefined) flags[key] = m[2];
      else if (key === 'json' || key === 'help' || key === 'h') flags[key] = true;
      else flags[key] = argv[++i] ?? '';
    } else {
      words.push(a);
    }
  }
  return { flags, words };
}

/** Where to talk: --url/--token, then SWITCHYARD_ADMIN_URL/_TOKEN, then the config's runtimeApi section. */
async function resolveTarget(ctx: CliContext, flags: Record<string, string | true>): Promise<Target> {
  let url = typeof flags.url === 'string' ? flags.url : process.env.SWITCHYARD_ADMIN_URL;
  let token = typeof flags.token === 'string' ? flags.token : process.env.SWITCHYARD_ADMIN_TOKEN;
  if (!url || !token) {
    // The core's CLI takes --config before the command name out of our argv: look at the process's too.
    let file = typeof flags.config === 'string' ? flags.config : ctx.configFile;
    if (!file) {
      const argv = process.argv;
      const i = argv.findIndex((a) => a === '--config' || a === '-c');
      file = i !== -1 ? argv[i + 1] : argv.find((a) => a.startsWith('--config='))?.slice(9);
    }
    if (!file) throw new AdminError('say where the runtime API is: --config <file>, or --url and --token (or SWITCHYARD_ADMIN_URL / SWITCHYARD_ADMIN_TOKEN)', TARGET);
    // A config the CLI loaded already (an older CLI) is used as it is; else the file's own section.
    let rc: RuntimeSection | undefined;
    if (ctx.config && ctx.configFile && path.resolve(file) === ctx.configFile) rc = ctx.config.runtimeApi as typeof rc;
    else rc = await runtimeSection(ctx, path.resolve(file));
    if (!rc?.enabled) throw new AdminError(`${file}: runtimeApi is not enabled (no runtime API over HTTP to talk to; set runtimeApi.enabled, listen and token)`, TARGET);
    const { host, port } = splitListen(rc.listen ?? '');
    const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    url ??= `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
    // The most capable token the config holds: the CLI user can read the file anyway.
    const rank = ['user', 'operator', 'admin'];
    token ??= rc.token ?? [...(rc.tokens ?? [])].sort((a, b) => rank.indexOf(b.level) - rank.indexOf(a.level))[0]?.token;
  }
  if (!token) throw new AdminError('no token for the runtime API (runtimeApi.token, --token or SWITCHYARD_ADMIN_TOKEN)', TARGET);
  return { url: url.replace(/\/+$/, ''), token };
}

async function call(t: Target, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; answer: ApiAnswer }> {
  const res = await fetch(t.url + path, {
    method,
    headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let answer: ApiAnswer;
  try {
    answer = JSON.parse(text) as ApiAnswer;
  } catch {
    answer = { ok: false, error: { code: `HTTP_${res.status}`, message: text.slice(0, 200) } };
  }
  return { status: res.status, answer };
}

function table(rows: Array<Record<string, unknown>>, cols: string[]): string {
  const cell = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  return line(cols) + rows.map((r) => line(cols.map((c) => cell(r[c])))).join('');
}

/** `switchyard admin <command>`: talks to a running gateway's runtime API. */
export const adminCommand: CliCommand = {
  summary: 'run a runtime API command on a running gateway (show servers, set server state, ...)',
  usage: USAGE,
  async run(ctx: CliContext): Promise<number> {
    const { flags, words } = parseArgv(ctx.argv);
    if (flags.help || flags.h) {
      ctx.out(`${USAGE}\n`);
      return 0;
    }
    let target: Target;
    try {
      target = await resolveTarget(ctx, flags);
    } catch (err) {
      ctx.err(`error: ${err instanceof Error ? err.message : String(err)}${err instanceof AdminError ? ` (${err.code})` : ''}\n`);
      return 2;
    }
    try {
      const list = await call(target, 'GET', '/v1/commands');
      if (!list.answer.ok) {
        ctx.err(`error: ${list.answer.error?.message ?? 'request failed'} (${list.answer.error?.code ?? list.status})\n`);
        return 1;
      }
      const commands = list.answer.result as Array<{ name: string; summary: string; args: string[] }>;
      if (words.length === 0 || (words.length === 1 && words[0] === 'help')) {
        for (const c of commands) ctx.out(`${c.name}${c.args.length ? ' ' + c.args.map((a) => `<${a}>`).join(' ') : ''}\n    ${c.summary}\n`);
        return 0;
      }
      // The longest command name the words start with: `set server state api/s1 drain`.
      let match: { name: string; args: string[] } | undefined;
      for (let n = words.length; n > 0 && !match; n--) {
        const name = words.slice(0, n).join(' ');
        const c = commands.find((x) => x.name === name);
        if (c) match = { name, args: c.args };
      }
      if (!match) {
        ctx.err(`error: unknown command "${words.join(' ')}"; \`switchyard admin help\` lists them\n`);
        return 2;
      }
      const args: Record<string, string> = {};
      const rest = words.slice(match.name.split(' ').length);
      let next = 0;
      // A command that reads its own words (show table, add map …) gets the rest of the line.
      if (match.args[0] === 'words') args.words = rest.join(' ');
      else for (const w of rest) {
        const eq = w.indexOf('=');
        if (eq > 0 && match.args.includes(w.slice(0, eq))) args[w.slice(0, eq)] = w.slice(eq + 1);
        else if (next < match.args.length) {
          while (next < match.args.length && args[match.args[next]!] !== undefined) next++;
          args[match.args[next++]!] = w;
        } else {
          ctx.err(`error: too many arguments for "${match.name}" (takes ${match.args.join(', ') || 'none'})\n`);
          return 2;
        }
      }
      const { answer } = await call(target, 'POST', `/v1/commands/${encodeURIComponent(match.name)}`, args);
      if (!answer.ok) {
        ctx.err(`error: ${answer.error?.message ?? 'failed'} (${answer.error?.code ?? '?'})\n`);
        return 1;
      }
      if (match.name === 'show servers' && !flags.json && Array.isArray(answer.result)) {
        const rows = (answer.result as Array<Record<string, unknown>>).map((r) => ({ ...r, role: r.backup ? 'backup' : 'active' }));
        ctx.out(table(rows, ['server', 'role', 'address', 'status', 'weight', 'active', 'sessions', 'healthChecks', 'lastChange']));
      } else if (typeof answer.result === 'string' && !flags.json) {
        // HAProxy-style commands answer text (show table, show map): print it as the CLI socket does.
        if (answer.result !== '') ctx.out(answer.result.endsWith('\n') ? answer.result : `${answer.result}\n`);
      } else {
        ctx.out(JSON.stringify(answer.result, null, 2) + '\n');
      }
      return 0;
    } catch (err) {
      const cause = (err as { cause?: { message?: string } } | null)?.cause?.message;
      ctx.err(`error: cannot reach the runtime API at ${target.url}: ${err instanceof Error ? err.message : String(err)}${cause ? ` (${cause})` : ''} (${UNREACHABLE})\n`);
      return 1;
    }
  },
};
