import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { ROOT, type Running } from './helpers';
import { spawn } from 'node:child_process';

const exec = promisify(execFile);

/**
 * The user's path, from tarballs only: every workspace package is packed; a fresh project
 * outside the repository installs the one user-facing package (@switchyard/gateway) with
 * `--install-strategy=nested` (no hoisting: an undeclared dependency fails here); the demo
 * runs; a plugin made by `npm create switchyard-plugin` is installed, built, tested and
 * packed in its own folder; and a gateway composed from an explicit plugin list runs it.
 *
 * The registry does not have these versions, so each project's package.json `overrides`
 * points every @switchyard package at its tarball — as a registry would serve it.
 * Third-party packages come from the npm registry (cached after the first run).
 */
const NPM_FLAGS = ['--install-strategy=nested', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

async function npm(args: string[], cwd: string, timeout = 240_000): Promise<string> {
  const { stdout } = await exec('npm', args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return stdout;
}

function start(cmd: string, args: string[], cwd: string): Running {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHYARD_PLUGIN_PATH: '' } });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exit,
    waitFor: (re, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out}`)), ms);
        const check = (): void => {
          const m = out.match(re);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`exited (${child.exitCode}) before ${re}:\n${out}`));
          } else waiters.push(check);
        };
        check();
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

describe('the user path: tarballs into a fresh project outside the repository', () => {
  let work: string;
  let packs: string;
  let project: string;
  let overrides: Record<string, string>;
  const tarball = (name: string): string => overrides[name]!.replace(/^file:/, '');
  const running: Running[] = [];
  let up1: Upstream;
  let up2: Upstream;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-user-'));
    packs = path.join(work, 'packs');
    fs.mkdirSync(packs);
    await npm(['pack', '--workspaces', '--pack-destination', packs, '--silent'], ROOT);
    overrides = {};
    for (const dir of ['sdk', 'core', ...fs.readdirSync(path.join(ROOT, 'plugins')).map((d) => path.join('plugins', d))]) {
      const pj = path.join(ROOT, dir, 'package.json');
      if (!fs.existsSync(pj)) continue;
      const { name, version } = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name: string; version: string };
      const file = path.join(packs, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
      expect(fs.existsSync(file)).toBe(true);
      overrides[name] = `file:${file}`;
    }
    project = path.join(work, 'my-gateway');
    fs.mkdirSync(project);
    const { '@switchyard/gateway': _direct, ...others } = overrides;
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-gateway', version: '1.0.0', private: true, overrides: others }));
    await npm(['install', ...NPM_FLAGS, tarball('@switchyard/gateway')], project);
    up1 = await startUpstream({ name: 'one' });
    up2 = await startUpstream({ name: 'two' });
  }, 300_000);

  afterAll(async () => {
    for (const r of running) await r.stop();
    await up1?.close();
    await up2?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('installs nested: only @switchyard/gateway at the top, the rest under it', () => {
    expect(fs.readdirSync(path.join(project, 'node_modules', '@switchyard'))).toEqual(['gateway']);
    expect(fs.existsSync(path.join(project, 'node_modules', '@switchyard', 'gateway', 'node_modules', '@switchyard', 'core', 'demo', 'quickstart.yaml'))).toBe(true);
  });

  it('every package has exports, types, engines, repository, a LICENSE, and source maps that resolve', () => {
    const problems: string[] = [];
    const manifests = walk(path.join(project, 'node_modules')).filter((f) => /node_modules[\\/]@switchyard[\\/][^\\/]+[\\/]package\.json$/.test(f));
    expect(manifests.length).toBeGreaterThanOrEqual(Object.keys(overrides).length - 1); // all but the scaffolder
    for (const pj of manifests) {
      const dir = path.dirname(pj);
      const pkg = JSON.parse(fs.readFileSync(pj, 'utf8')) as Record<string, unknown>;
      for (const field of ['exports', 'types', 'engines', 'repository']) if (pkg[field] === undefined) problems.push(`${pkg.name}: no ${field}`);
      if (!fs.existsSync(path.join(dir, 'LICENSE'))) problems.push(`${pkg.name}: no LICENSE`);
      const types = path.join(dir, String(pkg.types));
      if (!fs.existsSync(types)) problems.push(`${pkg.name}: types ${pkg.types} missing`);
      const dist = path.join(dir, 'dist');
      if (!fs.existsSync(dist)) continue;
      for (const map of walk(dist).filter((f) => f.endsWith('.map'))) {
        const { sources, sourceRoot } = JSON.parse(fs.readFileSync(map, 'utf8')) as { sources: string[]; sourceRoot?: string };
        for (const s of sources) {
          if (!fs.existsSync(path.resolve(path.dirname(map), sourceRoot ?? '', s))) problems.push(`${path.relative(project, map)}: source ${s} missing`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('`npx switchyard run --demo` works from the fresh folder', async () => {
    // The bin npx runs (node_modules/.bin/switchyard), started directly so stop() reaches it.
    const demo = start(process.execPath, [path.join(project, 'node_modules', '.bin', 'switchyard'), 'run', '--demo', '--port', '0'], project);
    running.push(demo);
    const port = Number((await demo.waitFor(/"port":(\d+)/))[1]);
    const res = await request(`http://127.0.0.1:${port}/`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toMatch(/"upstream":"s\d"/);
    await demo.stop();
  }, 60_000);

  it('a config without plugins: uses the standard preset (never SWY_ERR_PLUGIN_NOT_FOUND) and loads only what it uses', async () => {
    const file = path.join(project, 'gateway.yaml');
    fs.writeFileSync(file, `frontends:\n  web: { bind: 127.0.0.1:0, defaultBackend: app }\nbackends:\n  app: { servers: [{ address: "${up1.address}" }] }\n`);
    const v = await exec('npx', ['--no-install', 'switchyard', 'validate', '--config', file], { cwd: project });
    expect(v.stdout).toBe(`${file}: valid (2 plugins, 1 frontends, 1 backends)\n`);
  }, 60_000);

  describe('a plugin made by `npm create switchyard-plugin`', () => {
    let pluginDir: string;
    let pluginTarball: string;

    beforeAll(async () => {
      const authorDir = path.join(work, 'author');
      fs.mkdirSync(authorDir);
      await npm(['exec', '--yes', `--package=${tarball('create-switchyard-plugin')}`, '--', 'create-switchyard-plugin', 'hello'], authorDir);
      pluginDir = path.join(authorDir, 'switchyard-plugin-hello');
      // The registry stand-in, as for the gateway project.
      const pj = path.join(pluginDir, 'package.json');
      const pkg = JSON.parse(fs.readFileSync(pj, 'utf8')) as Record<string, unknown>;
      const { '@switchyard/core': _c, '@switchyard/sdk': _s, '@switchyard/plugin-http-forwarder': _f, ...rest } = overrides;
      fs.writeFileSync(pj, JSON.stringify({ ...pkg, overrides: rest }, null, 2));
      await npm(['install', ...NPM_FLAGS, tarball('@switchyard/core'), tarball('@switchyard/sdk'), tarball('@switchyard/plugin-http-forwarder')], pluginDir);
    }, 300_000);

    it('builds, passes its own jest test on the SDK harness, and packs', async () => {
      await npm(['run', 'build'], pluginDir);
      expect(fs.existsSync(path.join(pluginDir, 'dist', 'index.d.ts'))).toBe(true);
      const t = await exec('npm', ['test', '--silent'], { cwd: pluginDir, timeout: 120_000 }).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${t.stderr}`).toMatch(/Tests:\s+3 passed, 3 total/);
      pluginTarball = (await npm(['pack', '--silent', '--pack-destination', work], pluginDir)).trim().split('\n').pop()!;
      expect(fs.existsSync(path.join(work, pluginTarball))).toBe(true);
    }, 240_000);

    it('installs into the gateway project and runs in a gateway composed from an explicit plugin list', async () => {
      await npm(['install', ...NPM_FLAGS, path.join(work, pluginTarball)], project);
      const file = path.join(project, 'composed.yaml');
      fs.writeFileSync(file, [
        'plugins:',
        '  - "@switchyard/plugin-http-forwarder"',
        '  - switchyard-plugin-hello',
        'hello: { message: bonjour }',
        'frontends:',
        '  web: { bind: 127.0.0.1:0, defaultBackend: app }',
        'backends:',
        `  app: { balance: hello-first, servers: [{ address: "${up1.address}" }, { address: "${up2.address}" }] }`,
      ].join('\n'));
      const listing = await exec('npx', ['--no-install', 'switchyard', 'plugins', '--config', file], { cwd: project });
      expect(listing.stdout).toMatch(/^@switchyard\/plugin-http-forwarder@/m);
      // The scaffolder writes its own documented range (docs/plugin-authoring.md, "Versions").
      const scaffolded = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', 'create-switchyard-plugin', 'package.json'), 'utf8')).switchyardRanges.core as string;
      const escaped = scaffolded.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(listing.stdout).toMatch(new RegExp(`^switchyard-plugin-hello@0\\.1\\.0 {2}\\(core ${escaped}\\)\\n\\s+hooks: route, respond\\n\\s+slots: balance:hello-first`, 'm'));
      // Run from another directory: plugins resolve from the config file's directory.
      const gw = start(process.execPath, [path.join(project, 'node_modules', '.bin', 'switchyard'), 'run', '--config', file], os.tmpdir());
      running.push(gw);
      const port = Number((await gw.waitFor(/"port":(\d+)/))[1]);
      const hello = await request(`http://127.0.0.1:${port}/hello`);
      expect(await hello.body.text()).toBe('bonjour\n');
      for (let i = 0; i < 3; i++) {
        const res = await request(`http://127.0.0.1:${port}/page`);
        await res.body.text();
        expect(res.headers['x-upstream']).toBe('one');
        expect(res.headers['x-hello']).toBe('ok');
      }
      expect(up2.hits).toBe(0);
      await gw.stop();
    }, 240_000);

    it('a mistake in its config names the plugin\'s key and line', async () => {
      const file = path.join(project, 'bad.yaml');
      fs.writeFileSync(file, ['plugins:', '  - "@switchyard/plugin-http-forwarder"', '  - switchyard-plugin-hello', 'hello:', '  path: no-slash', 'frontends: {}', 'backends: {}'].join('\n'));
      const r = await exec('npx', ['--no-install', 'switchyard', 'validate', '--config', file], { cwd: project }).catch((e: { code: number; stdout: string; stderr: string }) => e);
      expect((r as { code?: number }).code).toBe(1);
      expect(`${r.stdout}${r.stderr}`).toContain(`${file}:5: hello.path: must match pattern "^/" (SWY_ERR_CONFIG_INVALID)`);
    }, 60_000);
  });

  it('a plugin built for an incompatible core fails to load, naming both versions', async () => {
    const dir = path.join(work, 'old-plugin');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'switchyard-plugin-future', version: '3.0.0', main: 'index.js', license: 'MIT' }));
    fs.writeFileSync(path.join(dir, 'index.js'), "module.exports = { kind: 'plugin', name: 'switchyard-plugin-future', version: '3.0.0', core: '^2.0.0' };\n");
    const tgz = (await npm(['pack', '--silent', '--pack-destination', work], dir)).trim().split('\n').pop()!;
    await npm(['install', ...NPM_FLAGS, path.join(work, tgz)], project);
    const file = path.join(project, 'future.yaml');
    fs.writeFileSync(file, 'plugins: [switchyard-plugin-future]\nfrontends: {}\nbackends: {}\n');
    const r = await exec('npx', ['--no-install', 'switchyard', 'validate', '--config', file], { cwd: project }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const core = JSON.parse(fs.readFileSync(path.join(ROOT, 'core', 'package.json'), 'utf8')).version as string;
    expect(`${r.stdout}${r.stderr}`).toContain(`plugin switchyard-plugin-future@3.0.0 supports @switchyard/core ^2.0.0, but this is ${core} (SWY_ERR_PLUGIN_VERSION)`);
  }, 120_000);
});
