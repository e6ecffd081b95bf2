import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers';

function filesUnder(dir: string, ext: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : filesUnder(p, ext);
    return ext.test(e.name) ? [p] : [];
  });
}

const IMPORT = /(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => m[1]!);
}

describe('architecture', () => {
  it('the core depends on no plugin package and imports none', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'core', 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
    expect(deps.filter((d) => /plugin|preset/.test(d))).toEqual([]);
    const offenders = filesUnder(path.join(ROOT, 'core', 'src'), /\.ts$/).flatMap((f) =>
      importsOf(f)
        .filter((spec) => /@switchyard\/(plugin|preset)-|(^|\/)plugins\//.test(spec))
        .map((spec) => `${path.relative(ROOT, f)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('plugins import the SDK, never core internals', () => {
    const offenders = filesUnder(path.join(ROOT, 'plugins'), /\.ts$/)
      .filter((f) => f.includes(`${path.sep}src${path.sep}`))
      .flatMap((f) =>
        importsOf(f)
          .filter((spec) => spec === '@switchyard/core' || spec.startsWith('@switchyard/core/') || /\.\.\/.*core\//.test(spec))
          .map((spec) => `${path.relative(ROOT, f)} imports ${spec}`),
      );
    expect(offenders).toEqual([]);
  });

  it('the core contains no balancing algorithm, health check, cache, ACL, auth, rate limit, stats or log format', () => {
    const words = /\b(leastconn|consistent hash|healthcheck|http-cache-semantics|rate-limiter-flexible|prom-client|jose|bcrypt)\b/i;
    const offenders = filesUnder(path.join(ROOT, 'core', 'src'), /\.ts$/).filter((f) => words.test(fs.readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('every plugin package has a version, a CHANGELOG entry for it, a README and tests', () => {
    const problems: string[] = [];
    for (const dir of fs.readdirSync(path.join(ROOT, 'plugins'))) {
      const root = path.join(ROOT, 'plugins', dir);
      if (!fs.existsSync(path.join(root, 'package.json'))) continue;
      const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
      const changelog = path.join(root, 'CHANGELOG.md');
      if (!fs.existsSync(changelog) || !fs.readFileSync(changelog, 'utf8').includes(`## ${pkg.version}`)) problems.push(`${pkg.name}: CHANGELOG.md has no entry for ${pkg.version}`);
      if (!fs.existsSync(path.join(root, 'README.md'))) problems.push(`${pkg.name}: no README.md`);
      if (!dir.startsWith('preset-') && filesUnder(path.join(root, 'test'), /\.test\.ts$/).length === 0) problems.push(`${pkg.name}: no tests`);
    }
    expect(problems).toEqual([]);
  });
});
