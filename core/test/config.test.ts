import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { CORE_VERSION, ConfigErrors, loadConfig } from '@switchyard/core';
import { SwitchyardError, type Logger } from '@switchyard/sdk';

const logger = pino({ level: 'silent' }) as unknown as Logger;
const fixtures = path.join(__dirname, 'fixtures', 'plugins');

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function problems(fn: () => unknown): SwitchyardError[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors;
    if (err instanceof SwitchyardError) return [err];
    throw err;
  }
  throw new Error('expected the config to be refused');
}

describe('config driver', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-config-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fills defaults, parses durations and normalises binds and servers', () => {
    const file = write(dir, 'ok.yaml', [
      'defaults:',
      '  timeouts: { connect: 2s, server: 1m }',
      'frontends:',
      '  web: { bind: ":8080", defaultBackend: app, timeouts: { client: 250ms } }',
      'backends:',
      '  app:',
      '    servers:',
      '      - address: 127.0.0.1:9001',
      '      - { name: big, address: "[::1]:9002", weight: 3 }',
    ].join('\n'));
    const { config } = loadConfig({ file }, { logger });
    expect(config.frontends.web!.bind).toEqual([{ host: '0.0.0.0', port: 8080 }]);
    expect(config.frontends.web!.timeouts).toMatchObject({ client: 250, connect: 2000, server: 60000, httpRequest: 10000 });
    expect(config.frontends.web!.mode).toBe('http');
    expect(config.backends.app!.balance).toBe('roundrobin');
    expect(config.backends.app!.servers[0]).toMatchObject({ name: 's1', host: '127.0.0.1', port: 9001, weight: 1, maxconn: 0, backup: false });
    expect(config.backends.app!.servers[1]).toMatchObject({ name: 'big', host: '::1', port: 9002, weight: 3 });
    expect(config.global.gracePeriod).toBe(10000);
  });

  it('reports every problem with file, line, key path and what was expected', () => {
    const file = write(dir, 'bad.yaml', [
      'frontends:',
      '  web:',
      '    bind: 127.0.0.1:8080',
      '    defaultBackend: nowhere',
      '    colour: blue',
      'backends:',
      '  app:',
      '    balance: fastest',
      '    servers:',
      '      - address: 127.0.0.1:9001',
      '        weight: 999',
      '      - address: not-an-address',
      '    timeouts: { connect: soon }',
    ].join('\n'));
    const errs = problems(() => loadConfig({ file }, { logger }));
    const text = errs.map((e) => `${e.location?.line}|${e.location?.path}|${e.message}`);
    expect(errs.every((e) => e.location?.file === file)).toBe(true);
    expect(text).toEqual(expect.arrayContaining([
      '5|frontends.web.colour|unknown key (not in the schema of any loaded plugin)',
      expect.stringMatching(/^8\|backends\.app\.balance\|must be one of: roundrobin/),
      '11|backends.app.servers[0].weight|must be <= 256',
      expect.stringMatching(/^12\|backends\.app\.servers\[1\]\.address\|must match pattern/),
      expect.stringMatching(/^13\|backends\.app\.timeouts\.connect\|/),
    ]));
  });

  it('checks references after the schema: a default backend that does not exist', () => {
    const file = write(dir, 'ref.yaml', 'frontends:\n  web:\n    bind: 8080\n    defaultBackend: nowhere\nbackends: {}\n');
    const [err] = problems(() => loadConfig({ file }, { logger }));
    expect(err).toMatchObject({ code: 'SWY_ERR_CONFIG_REFERENCE', location: { file, line: 4, path: 'frontends.web.defaultBackend' } });
    expect(err!.message).toContain('backend "nowhere" does not exist');
  });

  it('refuses YAML syntax errors and duplicate keys with their line', () => {
    const file = write(dir, 'syntax.yaml', 'frontends:\n  web: { bind: 1\nbackends: {}\n');
    const [err] = problems(() => loadConfig({ file }, { logger }));
    expect(err!.code).toBe('SWY_ERR_CONFIG_PARSE');
    const dup = write(dir, 'dup.yaml', 'backends: {}\nbackends: {}\n');
    const [err2] = problems(() => loadConfig({ file: dup }, { logger }));
    expect(err2).toMatchObject({ code: 'SWY_ERR_CONFIG_PARSE', location: { line: 2 } });
  });

  it('reads JSON too', () => {
    const file = write(dir, 'c.json', JSON.stringify({ frontends: { web: { bind: 8080, defaultBackend: 'a' } }, backends: { a: { servers: [{ address: '127.0.0.1:1' }] } } }));
    expect(loadConfig({ file }, { logger }).config.frontends.web!.defaultBackend).toBe('a');
  });

  it('a missing file is a coded error naming it', () => {
    const [err] = problems(() => loadConfig({ file: path.join(dir, 'nope.yaml') }, { logger }));
    expect(err!.code).toBe('SWY_ERR_CONFIG_READ');
    expect(err!.message).toContain('nope.yaml');
  });

  it('composes plugin schemas: a plugin\'s own key and server properties, with defaults and durations', () => {
    const { config, schema } = loadConfig(
      {
        object: {
          plugins: ['@switchyard/preset-standard', './schema-plugin.js'],
          greeting: { text: 'hello' },
          backends: { app: { servers: [{ address: '127.0.0.1:1', zone: 'a' }] } },
        },
        baseDir: fixtures,
      },
      { logger },
    );
    expect(config.greeting).toEqual({ text: 'hello', every: 2000 });
    expect(config.backends.app!.servers[0]!.zone).toBe('a');
    expect(JSON.stringify(schema)).toContain('availability zone');
    const errs = problems(() =>
      loadConfig({ object: { plugins: ['@switchyard/preset-standard', './schema-plugin.js'], backends: { app: { servers: [{ address: '127.0.0.1:1', zone: 'c' }] } } }, baseDir: fixtures }, { logger }),
    );
    expect(errs[0]!.location?.path).toBe('backends.app.servers[0].zone');
  });

  it('a preset (plugin list) can be named in plugins, its entries resolved from its own directory', () => {
    const { plugins } = loadConfig({ object: { plugins: ['./my-preset.js'] }, baseDir: fixtures }, { logger });
    expect(plugins.map((p) => p.definition.name)).toEqual(['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', 'schema-plugin']);
    expect(plugins.every((p) => p.via === 'my-preset')).toBe(true);
  });

  it('without a plugins key, the standard preset loads (the members the config uses)', () => {
    const { plugins } = loadConfig({ object: {}, baseDir: dir }, { logger });
    expect(plugins.map((p) => p.definition.name)).toEqual(['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin']);
    const all = loadConfig({ object: {}, baseDir: dir, presets: 'all' }, { logger }).plugins.map((p) => p.definition.name);
    expect(all).toEqual(expect.arrayContaining(['@switchyard/plugin-roundrobin', '@switchyard/plugin-http-forwarder', '@switchyard/plugin-tcp-forwarder']));
  });
});

describe('plugin loader errors name the plugin', () => {
  const load = (plugins: string[]) => () => loadConfig({ object: { plugins }, baseDir: fixtures }, { logger });

  it('a core range the plugin does not support', () => {
    const [err] = problems(load(['./old-core.js']));
    expect(err!.code).toBe('SWY_ERR_PLUGIN_VERSION');
    expect(err!.message).toBe('plugin needs-old-core@2.0.0 supports @switchyard/core ^0.0.1, but this is ' + CORE_VERSION);
  });
  it('a missing package', () => {
    const [err] = problems(load(['@switchyard/plugin-does-not-exist']));
    expect(err!.code).toBe('SWY_ERR_PLUGIN_NOT_FOUND');
    expect(err!.message).toContain('@switchyard/plugin-does-not-exist');
  });
  it('two plugins with one name', () => {
    const [err] = problems(load(['./dup-a.js', './dup-b.js']));
    expect(err!.code).toBe('SWY_ERR_PLUGIN_DUPLICATE');
    expect(err!.message).toContain('same-name');
  });
  it('a register step that throws', () => {
    const [err] = problems(load(['./throws-register.js']));
    expect(err!.code).toBe('SWY_ERR_PLUGIN_REGISTER');
    expect(err!.message).toBe('plugin throws-register failed in its register step: cannot register today');
  });
  it('a module that is not a plugin', () => {
    const [err] = problems(load(['./not-a-plugin.js']));
    expect(err!.code).toBe('SWY_ERR_PLUGIN_INVALID');
  });
  it('a plugin that redefines a core property', () => {
    const [err] = problems(load(['@switchyard/preset-standard', './conflict-plugin.js']));
    expect(err!.code).toBe('SWY_ERR_PLUGIN_SCHEMA_CONFLICT');
    expect(err!.message).toContain('conflict-plugin');
  });
  it('a backend naming a policy no plugin provides', () => {
    const errs = problems(() => loadConfig({ object: { plugins: ['@switchyard/plugin-http-forwarder'], backends: { a: { servers: [{ address: '127.0.0.1:1' }] } } }, baseDir: fixtures }, { logger }));
    expect(errs[0]!.message).toContain('no loaded plugin provides balance "roundrobin"');
  });
});
