import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';

/**
 * Every range one workspace package declares on another must accept the version that
 * package has now: on 0.x, `^0.1.3` does not accept 0.2.0, and `npm ci` then looks the
 * package up in the registry and fails. A version bump must bring its dependents along.
 */
const ROOT = path.resolve(__dirname, '..');

function workspacePackages(): Map<string, { dir: string; json: Record<string, unknown> }> {
  const dirs = ['sdk', 'core', ...fs.readdirSync(path.join(ROOT, 'plugins')).map((d) => path.join('plugins', d))];
  const out = new Map<string, { dir: string; json: Record<string, unknown> }>();
  for (const dir of dirs) {
    const file = path.join(ROOT, dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    out.set(String(json.name), { dir, json });
  }
  return out;
}

describe('workspace version ranges', () => {
  it('every range on a workspace package accepts its current version', () => {
    const pkgs = workspacePackages();
    expect(pkgs.size).toBeGreaterThan(10);
    const offenders: string[] = [];
    for (const { dir, json } of pkgs.values()) {
      for (const section of ['dependencies', 'peerDependencies', 'devDependencies', 'optionalDependencies']) {
        for (const [name, range] of Object.entries((json[section] as Record<string, string> | undefined) ?? {})) {
          const target = pkgs.get(name);
          if (target && !semver.satisfies(String(target.json.version), range)) {
            offenders.push(`${dir}/package.json ${section} ${name}@${range} does not accept ${String(target.json.version)}`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
