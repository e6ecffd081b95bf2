import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { ROOT, runCli, type Running } from './helpers';

/**
 * What "npm-installed extension" means: a plugin packed with `npm pack`, installed into a
 * separate project with `npm install <tarball>`, named in that project's config by its
 * package name, and run by the switchyard CLI.
 */
describe('a plugin installed from an npm tarball', () => {
  let project: string;
  let up: Upstream;
  let gw: Running | undefined;

  beforeAll(async () => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-npm-'));
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], {
      cwd: path.join(ROOT, 'core', 'test', 'fixtures', 'npm-plugin'),
      encoding: 'utf8',
    }).trim().split('\n').pop()!;
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-gateway', version: '1.0.0', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(project, packed)], { cwd: project, stdio: 'ignore' });
    up = await startUpstream({ name: 'app' });
  });
  afterAll(async () => {
    await gw?.stop();
    await up.close();
    fs.rmSync(project, { recursive: true, force: true });
  });

  it('is resolved from the config file\'s directory and runs', async () => {
    expect(fs.existsSync(path.join(project, 'node_modules', 'switchyard-plugin-greeter', 'index.js'))).toBe(true);
    const config = path.join(project, 'gateway.yaml');
    fs.writeFileSync(config, [
      'plugins:',
      '  - "@switchyard/preset-standard"',
      '  - switchyard-plugin-greeter',
      'greeter: { greeting: bonjour }',
      'frontends:',
      '  web: { bind: 127.0.0.1:0, defaultBackend: app }',
      'backends:',
      `  app: { servers: [{ address: "${up.address}" }] }`,
    ].join('\n'));
    // Run from another directory: resolution must start at the config file's directory.
    gw = runCli(['run', '--config', config], { cwd: os.tmpdir() });
    const port = Number((await gw.waitFor(/"port":(\d+)/))[1]);
    const greet = await request(`http://127.0.0.1:${port}/greet`);
    expect(await greet.body.text()).toBe('bonjour from an npm-installed plugin\n');
    const proxied = await request(`http://127.0.0.1:${port}/other`);
    expect(proxied.headers['x-upstream']).toBe('app');
    await proxied.body.text();

    const listing = runCli(['plugins', '--config', config], { cwd: os.tmpdir() });
    expect(await listing.exit).toBe(0);
    expect(listing.output()).toMatch(/switchyard-plugin-greeter@1\.2\.3\s+\(core \^0\.1\.0\)\n\s+hooks: route/);
  });
});
