/**
 * Docs that match the code:
 * - every `--flag` written after `switchyard …` in docs/ and README.md is a flag the CLI (or
 *   the plugin command named) accepts;
 * - every config key path written in backticks (`global.pidFile`, `stats.auth.realm`,
 *   `frontends.<name>.monitorUri`) and every key of a YAML example that is a whole config
 *   exists in the published schema (schema/config.json: core + every bundled plugin);
 * - the `global` table of docs/configuration.md lists every `global` key;
 * - claims fixed once stay fixed (SIGUSR2 reopens logs; the --workers master runs the cluster
 *   rate-limit store).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { CLI, ROOT } from './helpers';

type Schema = {
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  patternProperties?: Record<string, Schema>;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  then?: Schema;
  else?: Schema;
};

const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'config.json'), 'utf8')) as Schema;
const docFiles = [path.join(ROOT, 'README.md'), ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join(ROOT, 'docs', f))];
const docs = docFiles.map((file) => ({ file: path.relative(ROOT, file), text: fs.readFileSync(file, 'utf8') }));

/** Sub-schemas a key can lead to (through properties, maps, arrays and combinators). */
function children(s: Schema, key: string): Schema[] {
  const out: Schema[] = [];
  const visit = (x: Schema | undefined): void => {
    if (!x) return;
    if (x.properties?.[key]) out.push(x.properties[key]!);
    else if (x.patternProperties) for (const [re, sub] of Object.entries(x.patternProperties)) if (new RegExp(re).test(key)) out.push(sub);
    if (x.properties?.[key] === undefined && typeof x.additionalProperties === 'object') out.push(x.additionalProperties);
    for (const c of [...(x.oneOf ?? []), ...(x.anyOf ?? []), ...(x.allOf ?? []), x.then, x.else]) visit(c);
    if (x.items) visit(x.items);
  };
  visit(s);
  return out;
}

/** Whether `a.b.c` (placeholders `<name>` and `*` for map keys, `[]` / `[0]` for arrays) is a key path of the schema. */
function resolves(keyPath: string): boolean {
  return resolvesFrom(schema, keyPath);
}

function resolvesFrom(root: Schema, keyPath: string): boolean {
  let at: Schema[] = [root];
  for (const raw of keyPath.split('.')) {
    const seg = raw.replace(/\[\d*\]$/, '');
    const placeholder = /^<[^>]+>$|^\*$/.test(seg);
    const next: Schema[] = [];
    for (const s of at) {
      if (placeholder) {
        const visit = (x: Schema | undefined): void => {
          if (!x) return;
          if (typeof x.additionalProperties === 'object') next.push(x.additionalProperties);
          for (const sub of Object.values(x.patternProperties ?? {})) next.push(sub);
          if (x.items) visit(x.items);
          for (const c of [...(x.oneOf ?? []), ...(x.anyOf ?? []), ...(x.allOf ?? [])]) visit(c);
        };
        visit(s);
      } else next.push(...children(s, seg));
    }
    if (next.length === 0) return false;
    at = next;
  }
  return true;
}

const TOP = new Set(Object.keys(schema.properties ?? {}));

/** Every object schema in the composed schema: a key path in prose may start at any of them (`tls.verify` of a server). */
const ALL: Schema[] = [];
(function collect(s: Schema | undefined, seen: Set<Schema>): void {
  if (!s || typeof s !== 'object' || seen.has(s)) return;
  seen.add(s);
  if (s.properties) ALL.push(s);
  for (const sub of Object.values(s.properties ?? {})) collect(sub, seen);
  for (const sub of Object.values(s.patternProperties ?? {})) collect(sub, seen);
  if (typeof s.additionalProperties === 'object') collect(s.additionalProperties, seen);
  collect(s.items, seen);
  for (const c of [...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? []), s.then, s.else]) collect(c, seen);
})(schema, new Set());

/** From the root, or (a path relative to a frontend, a server, a plugin key…) from any object schema. */
function resolvesAnywhere(keyPath: string): boolean {
  return resolves(keyPath) || ALL.some((s) => resolvesFrom(s, keyPath));
}

describe('docs match the code', () => {
  it('every --flag after `switchyard <command>` exists', () => {
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout;
    const commands = spawnSync(process.execPath, [CLI, 'commands'], { encoding: 'utf8', cwd: ROOT }).stdout;
    const known = new Set<string>();
    for (const m of `${help}\n${commands}`.matchAll(/(?:^|[\s[|(])(--[a-z][a-z-]*)/g)) known.add(m[1]!);
    expect(known.has('--log-format')).toBe(true);
    const unknown: string[] = [];
    for (const { file, text } of docs) {
      text.split('\n').forEach((line, i) => {
        // A switchyard command line: from `switchyard ` (or npx switchyard) to the end of the code span or line.
        for (const m of line.matchAll(/(?:^|[\s`$(])(?:npx )?switchyard ((?:run|validate|plugins|schema|reload|adapt|admin|explain|commands|help)\b[^`#|;&]*)/g)) {
          for (const f of m[1]!.matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)) if (!known.has(f[1]!)) unknown.push(`${file}:${i + 1}: ${f[1]} (in "switchyard ${m[1]!.trim()}")`);
        }
      });
    }
    expect(unknown).toEqual([]);
  });

  it('every config key path in backticks exists in the schema', () => {
    const unknown: string[] = [];
    for (const { file, text } of docs) {
      if (file === 'docs/performance.md') continue; // generated from the benchmark's output
      text.split('\n').forEach((line, i) => {
        for (const m of line.matchAll(/`([a-z][A-Za-z0-9]*(?:\.(?:[A-Za-z][A-Za-z0-9]*|<[^>`]+>|\*)(?:\[\d*\])?)+)`/g)) {
          const keyPath = m[1]!;
          const segs = keyPath.split('.');
          if (!TOP.has(segs[0]!)) continue; // not a config path (a JS expression…)
          // A class (tls.TLSSocket) or a file name (cache.ts) is not a key path.
          if (segs.slice(1).some((x) => /^[A-Z]/.test(x)) || /^(ts|js|json|md|yaml|yml|cfg|pem|key)$/.test(segs[segs.length - 1]!)) continue;
          if (!resolvesAnywhere(keyPath)) unknown.push(`${file}:${i + 1}: ${keyPath}`);
        }
      });
    }
    expect(unknown).toEqual([]);
  });

  it('every key of a whole-config YAML example exists in the schema', () => {
    const unknown: string[] = [];
    const walk = (node: unknown, s: Schema[], where: string, out: string[]): void => {
      if (node === null || typeof node !== 'object') return;
      if (Array.isArray(node)) {
        node.forEach((x, k) => walk(x, s.flatMap((sc) => (sc.items ? [sc.items, ...(sc.oneOf ?? []).filter((o) => o.items).map((o) => o.items!)] : (sc.oneOf ?? []).filter((o) => o.items).map((o) => o.items!))), `${where}[${k}]`, out));
        return;
      }
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        const next = s.flatMap((sc) => children(sc, k));
        // A key no schema here can hold (the schema allows it only where additionalProperties is open).
        const open = s.some((sc) => sc.additionalProperties === undefined && sc.properties === undefined);
        if (next.length === 0) {
          if (!open) out.push(`${where}.${k}`);
          continue;
        }
        walk(v, next, `${where}.${k}`, out);
      }
    };
    for (const { file, text } of docs) {
      for (const block of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
        const body = block[1]!;
        // An indented block is a fragment of a bigger config (a bind's tls, a server…).
        if (/^\s/.test(body.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '')) continue;
        const line = text.slice(0, block.index).split('\n').length + 1;
        let doc: unknown;
        try {
          const parsed = parseAllDocuments(body);
          if (parsed.length !== 1 || parsed[0]!.errors.length > 0) continue;
          doc = parsed[0]!.toJS();
        } catch {
          continue;
        }
        if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) continue;
        const keys = Object.keys(doc as object);
        // Only whole configs (every top-level key is a config key), not fragments of one.
        if (keys.length === 0 || !keys.every((k) => TOP.has(k))) continue;
        const out: string[] = [];
        walk(doc, [schema], '', out);
        for (const k of out) unknown.push(`${file}:${line}: ${k.slice(1)}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('the global table of docs/configuration.md lists every global key', () => {
    const text = fs.readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const section = text.slice(text.indexOf('## `global`'), text.indexOf('\n## ', text.indexOf('## `global`') + 1));
    const listed = new Set([...section.matchAll(/^\| `([A-Za-z]+)[`.]/gm)].map((m) => m[1]!));
    expect(Object.keys(schema.properties!.global!.properties!).filter((k) => !listed.has(k))).toEqual([]);
  });

  it('claims that were false stay fixed', () => {
    // The access log file is reopened on SIGUSR2 (SIGUSR1 is the soft stop).
    const accessLog = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', 'access-log', 'package.json'), 'utf8')) as { description: string };
    expect(accessLog.description).toContain('SIGUSR2');
    expect(accessLog.description).not.toContain('SIGUSR1');
    // The --workers master runs the cluster rate-limit store (high-availability.md says so, and it does).
    const shaping = fs.readFileSync(path.join(ROOT, 'docs', 'traffic-shaping.md'), 'utf8');
    expect(shaping).not.toMatch(/does not start the cluster store/);
    expect(shaping).toContain('master set-up done: rate-limit-cluster-store');
    // A pid file is written only when the config asks for one: a logrotate example must not assume one.
    for (const { file, text } of docs) {
      for (const m of text.matchAll(/kill -USR2 \$\(cat ([^)]+)\)/g)) {
        expect({ file, pidFile: m[1], explained: /global\.pidFile/.test(text) }).toEqual({ file, pidFile: m[1], explained: true });
      }
    }
  });
});
