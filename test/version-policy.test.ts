import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';

/**
 * The 0.x version policy of docs/plugin-authoring.md ("Versions"), held by the code: every
 * bundled plugin declares the core and the SDK it supports as `>=0.x.y <1.0.0` (never a caret,
 * which on 0.x refuses the next minor), the same floor for both, and no newer than the
 * workspace's own core and SDK. Plus the package metadata every package ships with.
 */
const ROOT = path.resolve(__dirname, '..');
const POLICY = /^>=(0\.\d+\.\d+) <1\.0\.0$/;

interface Pkg {
  dir: string;
  json: Record<string, any>;
}

function workspace(): Pkg[] {
  const dirs = ['sdk', 'core', ...fs.readdirSync(path.join(ROOT, 'plugins')).map((d) => `plugins/${d}`)];
  return dirs
    .filter((d) => fs.existsSync(path.join(ROOT, d, 'package.json')))
    .map((dir) => ({ dir, json: JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) }));
}

const pkgs = workspace();
const version = (name: string): string => pkgs.find((p) => p.json.name === name)!.json.version;
const bundled = pkgs.filter((p) => (p.json.keywords ?? []).includes('switchyard-plugin'));

describe('version policy (docs/plugin-authoring.md, "Versions")', () => {
  it('the docs state the policy this test checks', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'plugin-authoring.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Versions'), doc.indexOf('## Publishing'));
    expect(section).toContain('never a caret on 0.x');
    expect(section).toContain('test/version-policy.test.ts');
    // Every range the table recommends has the policy's form.
    const table = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| you use')).join('\n');
    const ranges = [...table.matchAll(/`(>=[^`]+)`/g)].map((m) => m[1]!);
    expect(ranges.length).toBeGreaterThan(4);
    for (const r of ranges) expect(r).toMatch(POLICY);
  });

  it('every bundled plugin declares core and sdk as >=0.x.y <1.0.0 with one floor, no newer than the workspace', () => {
    expect(bundled.length).toBeGreaterThan(30);
    const core = version('@switchyard/core');
    const sdk = version('@switchyard/sdk');
    const offenders: string[] = [];
    for (const { dir, json } of bundled) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(ROOT, dir, json.main ?? 'dist/index.js'));
      const def = mod.plugin ?? mod.default;
      const sdkOnly = def?.kind === 'preset'; // a preset is a list: it has no core range of its own
      const coreRange = String(def?.core);
      const sdkRange = String(json.peerDependencies?.['@switchyard/sdk']);
      const c = POLICY.exec(coreRange);
      const s = POLICY.exec(sdkRange);
      if (!c && !sdkOnly) offenders.push(`${dir}: definition core "${coreRange}" is not >=0.x.y <1.0.0`);
      if (!s) offenders.push(`${dir}: peerDependencies @switchyard/sdk "${sdkRange}" is not >=0.x.y <1.0.0`);
      if (c && s && c[1] !== s[1]) offenders.push(`${dir}: core floor ${c[1]} and sdk floor ${s[1]} differ`);
      if (c && !semver.satisfies(core, coreRange)) offenders.push(`${dir}: core ${core} is outside "${coreRange}"`);
      if (s && !semver.satisfies(sdk, sdkRange)) offenders.push(`${dir}: sdk ${sdk} is outside "${sdkRange}"`);
      if (json.version !== def?.version) offenders.push(`${dir}: definition version ${String(def?.version)} differs from package.json ${json.version}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the SDK, the core and the scaffolder follow it too', () => {
    const at = (dir: string): Record<string, any> => pkgs.find((p) => p.dir === dir)!.json;
    expect(at('sdk').peerDependencies['@switchyard/core']).toMatch(POLICY);
    expect(at('core').dependencies['@switchyard/sdk']).toMatch(POLICY);
    const ranges = at('plugins/create-switchyard-plugin').switchyardRanges;
    expect(ranges.core).toMatch(POLICY);
    expect(ranges.sdk).toBe(ranges.core);
  });
});

describe('package metadata', () => {
  it('every package names one repository, with a directory that exists and is the package', () => {
    const urls = new Set<string>();
    const offenders: string[] = [];
    for (const { dir, json } of pkgs) {
      const repo = json.repository;
      if (!repo || repo.type !== 'git' || typeof repo.url !== 'string') {
        offenders.push(`${dir}: repository must be { type: "git", url, directory }`);
        continue;
      }
      urls.add(repo.url);
      if (repo.directory !== dir) offenders.push(`${dir}: repository.directory is "${String(repo.directory)}"`);
      if (!fs.existsSync(path.join(ROOT, String(repo.directory), 'package.json'))) offenders.push(`${dir}: repository.directory ${String(repo.directory)} does not exist`);
      if (!/^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/.test(repo.url)) offenders.push(`${dir}: repository.url ${repo.url} is not a git+https GitHub URL`);
    }
    expect(offenders).toEqual([]);
    expect([...urls]).toHaveLength(1);
  });
});
