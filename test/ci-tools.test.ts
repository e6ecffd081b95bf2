import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

/**
 * Some suites run against a real tool only where it is installed (HAProxy for differential
 * tests, systemd-analyze, script(1), …). On a developer's machine a missing tool skips them;
 * in CI (.ci/run installs them all) a missing tool must fail here, so nothing is skipped there
 * without anyone seeing it.
 */
const TOOLS: ReadonlyArray<[string, string]> = [
  ['/usr/sbin/haproxy', 'haproxy'],
  ['/usr/bin/systemd-analyze', 'systemd'],
  ['/usr/bin/script', 'bsdutils (util-linux)'],
  ['logger', 'bsdutils (util-linux)'],
  ['socat', 'socat'],
  ['python3', 'python3'],
  ['ss', 'iproute2'],
  ['pgrep', 'procps'],
  ['nghttp', 'nghttp2-client'],
  ['h2load', 'nghttp2-client'],
  ['redis-server', 'redis-server'],
  ['curl', 'curl'],
  ['openssl', 'openssl'],
  ['chromium', 'chromium'],
  ['/usr/sbin/dnsmasq', 'dnsmasq-base'],
];

function found(tool: string): boolean {
  if (path.isAbsolute(tool)) return fs.existsSync(tool);
  return spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
}

describe('tools the suite runs against', () => {
  const inCi = process.env.CI === 'true';
  (inCi ? it : it.skip)('are all installed in CI (.ci/run installs them)', () => {
    const missing = TOOLS.filter(([tool]) => !found(tool)).map(([tool, pkg]) => `${tool} (Debian package ${pkg})`);
    expect(missing).toEqual([]);
  });
  it('the built CLI exists after `npm test`s build step (suites that run it would skip otherwise)', () => {
    const root = path.resolve(__dirname, '..');
    expect(fs.existsSync(path.join(root, 'core/dist/cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'plugins/acl/dist/index.js'))).toBe(true);
  });
});
