import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { ConfigErrors, loadConfig, loadPlugins, ServiceRegistry, SlotTable, type Activation } from '@switchyard/core';
import { FETCH_SLOT, HAPROXY_DIRECTIVE_SLOT, Slots, type Logger } from '@switchyard/sdk';
import { ROOT } from './helpers';

/**
 * The standard preset loads only what a config uses: each member's package.json says when it
 * is needed (`switchyard.activation`), so the loader decides without loading its module. This
 * keeps those manifests true to the plugins: every key a plugin adds to the schema, every
 * balance name and fetch it provides is listed, so a config that uses any of them loads it.
 */
const logger = pino({ level: 'silent' }) as unknown as Logger;
/** Members loaded for every config, and why. */
const ALWAYS: Record<string, string> = {
  '@switchyard/plugin-http-forwarder': 'forwards every HTTP exchange (the default mode)',
  '@switchyard/plugin-roundrobin': 'the default balance',
};

const all = loadPlugins(['@switchyard/preset-standard'], ROOT);
const names = (cfg: Record<string, unknown>): string[] =>
  loadPlugins(['@switchyard/preset-standard'], ROOT, { config: cfg }).map((p) => p.definition.name);

/** What a member's manifest must say, derived from its definition (schema fragments, slots). */
function derived(p: (typeof all)[number]): { activation: Activation; adapts: boolean } {
  const d = p.definition;
  const slots = new SlotTable();
  const services = new ServiceRegistry();
  d.register?.({ slots, services, container: services.legacy(), logger });
  const keys: Record<string, string[]> = {};
  if (d.configKey) keys.config = [d.configKey];
  for (const level of ['frontend', 'backend', 'server', 'bind', 'tls', 'defaults'] as const) {
    const frag = d.schema?.[level];
    if (frag) keys[level] = Object.keys(frag);
  }
  const activation: Activation = {};
  if (Object.keys(keys).length > 0) activation.keys = keys;
  const balance = slots.names(Slots.BALANCE);
  if (balance.length > 0) activation.balance = balance;
  // acl's fetches are the base set every fetch consumer depends on (peerDependencies).
  const fetches = d.name === '@switchyard/plugin-acl' ? [] : slots.names(FETCH_SLOT);
  if (fetches.length > 0) activation.fetches = fetches;
  return { activation, adapts: slots.names(Slots.CONFIG_ADAPTER).length > 0 || slots.names(HAPROXY_DIRECTIVE_SLOT).length > 0 };
}

const UPDATE = process.env.SWY_UPDATE_ACTIVATION === '1';

describe('preset members say when they are needed (SWY_UPDATE_ACTIVATION=1 npx jest test/activation rewrites them)', () => {
  it.each(all.map((p) => [p.definition.name, p] as const))('%s', (name, p) => {
    const file = path.join(path.dirname(p.file), '..', 'package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { switchyard?: { activation?: Activation; adapts?: boolean } };
    const activation = pkg.switchyard?.activation;
    if (!activation) {
      expect(ALWAYS[name]).toBeDefined();
      return;
    }
    expect(ALWAYS[name]).toBeUndefined();
    const want = derived(p);
    if (UPDATE) {
      // Union with what is listed by hand (tls: any bind with tls), never a removal.
      const union = (a: ReadonlyArray<string> = [], b: ReadonlyArray<string> = []): string[] => [...new Set([...a, ...b])];
      const keys: Record<string, string[]> = {};
      for (const level of new Set([...Object.keys(activation.keys ?? {}), ...Object.keys(want.activation.keys ?? {})])) {
        keys[level] = union((activation.keys as Record<string, string[]> | undefined)?.[level], (want.activation.keys as Record<string, string[]> | undefined)?.[level]);
      }
      const merged: Activation = { ...activation, ...want.activation, ...(Object.keys(keys).length > 0 ? { keys } : {}) };
      for (const k of ['balance', 'fetches'] as const) {
        const u = union(activation[k], want.activation[k]);
        if (u.length > 0) merged[k] = u;
      }
      pkg.switchyard = { ...pkg.switchyard, activation: merged, ...(want.adapts ? { adapts: true } : {}) };
      if (!want.adapts) delete pkg.switchyard.adapts;
      fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
      return;
    }
    for (const [level, list] of Object.entries(want.activation.keys ?? {})) {
      const listed = (activation.keys as Record<string, ReadonlyArray<string>> | undefined)?.[level] ?? [];
      expect({ level, missing: list.filter((k) => !listed.includes(k)) }).toEqual({ level, missing: [] });
    }
    expect((want.activation.balance ?? []).filter((b) => !(activation.balance ?? []).includes(b))).toEqual([]);
    expect((want.activation.fetches ?? []).filter((f) => !(activation.fetches ?? []).includes(f))).toEqual([]);
    expect({ adapts: pkg.switchyard?.adapts === true }).toEqual({ adapts: want.adapts });
  });
});

describe('the standard preset resolves its plugin list from the config', () => {
  const one = {
    frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
    backends: { app: { servers: [{ address: '127.0.0.1:9' }] } },
  };

  it('a one-backend config loads the forwarder and the default policy only', () => {
    expect(names(one)).toEqual(['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin']);
    expect(all.length).toBeGreaterThan(25);
  });

  it('a key, a balance name or a mode loads the plugin that owns it, in preset order', () => {
    const cfg = {
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', httpsRedirect: true } },
      backends: { app: { balance: 'leastconn', servers: [{ address: '127.0.0.1:9', check: true }] }, db: { mode: 'tcp', servers: [{ address: '127.0.0.1:5432' }] } },
    };
    expect(names(cfg)).toEqual([
      '@switchyard/plugin-http-forwarder', '@switchyard/plugin-tcp-forwarder', '@switchyard/plugin-roundrobin',
      '@switchyard/plugin-leastconn', '@switchyard/plugin-health-check', '@switchyard/plugin-https-redirect',
    ]);
  });

  it('a plugin brings the preset members it depends on (http-rules needs the ACL compiler)', () => {
    const cfg = { ...one, frontends: { web: { ...one.frontends.web, httpRequest: [{ deny: {} }] } } };
    expect(names(cfg)).toContain('@switchyard/plugin-acl');
  });

  it('a fetch named in an ACL loads the plugin that provides it', () => {
    const cfg = { ...one, frontends: { web: { ...one.frontends.web, acls: { verified: 'ssl_c_verify eq 0' } } } };
    expect(names(cfg)).toEqual(expect.arrayContaining(['@switchyard/plugin-acl', '@switchyard/plugin-tls']));
  });

  it('a config file without plugins: runs on the used members only, and uses of any other key still validate', () => {
    const loaded = loadConfig({ object: { ...one, runtimeApi: { enabled: false } } }, { logger });
    expect(loaded.plugins.map((p) => p.definition.name)).toEqual([
      '@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', '@switchyard/plugin-runtime-api',
    ]);
    // `presets: 'all'` (switchyard schema, plugin commands) still sees every member.
    expect(loadConfig({ object: one, presets: 'all' }, { logger }).plugins.length).toBe(all.length);
  });
});

describe('a stale activation manifest costs memory, never a refused config', () => {
  it('a key no selected member knows loads every member, with a warning', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'swy-stale-'));
    try {
      const pkg = (name: string, json: object, js: string): void => {
        fs.mkdirSync(path.join(dir, 'node_modules', name), { recursive: true });
        fs.writeFileSync(path.join(dir, 'node_modules', name, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js', ...json }));
        fs.writeFileSync(path.join(dir, 'node_modules', name, 'index.js'), js);
      };
      pkg('stale-preset', {}, `module.exports = { kind: 'preset', name: 'stale-preset', version: '1.0.0', plugins: ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin', 'stale-member'] };`);
      // Its manifest says "other", its schema's key is "mine".
      pkg('stale-member', { switchyard: { activation: { keys: { config: ['other'] } } } },
        `module.exports = { kind: 'plugin', name: 'stale-member', version: '1.0.0', core: '>=0.1.0 <1.0.0', configKey: 'mine', schema: { config: { type: 'object', description: 'x' } } };`);
      const object = { plugins: ['stale-preset'], mine: {}, frontends: {}, backends: {} };
      const loaded = loadConfig({ object, baseDir: dir }, { logger });
      expect(loaded.plugins.map((p) => p.definition.name)).toContain('stale-member');
      expect(loaded.warnings.join('\n')).toContain('switchyard.activation');
      // A key nobody knows is still refused, with its path.
      let refused: unknown;
      try {
        loadConfig({ object: { ...object, notAKey: 1 }, baseDir: dir }, { logger });
      } catch (err) {
        refused = err;
      }
      expect((refused as ConfigErrors).errors.map((e) => e.location?.path)).toEqual(['notAKey']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
