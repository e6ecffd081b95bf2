import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { loadConfig, loadPlugins, ServiceRegistry, SlotTable } from '@switchyard/core';
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

describe('preset members say when they are needed', () => {
  it.each(all.map((p) => [p.definition.name, p] as const))('%s', (name, p) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(p.file), '..', 'package.json'), 'utf8')) as {
      switchyard?: { activation?: { keys?: Record<string, string[]>; balance?: string[]; fetches?: string[]; mode?: string[] }; adapts?: boolean };
    };
    const activation = pkg.switchyard?.activation;
    if (!activation) {
      expect(ALWAYS[name]).toBeDefined();
      return;
    }
    expect(ALWAYS[name]).toBeUndefined();
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
    for (const [level, list] of Object.entries(keys)) {
      expect({ level, missing: list.filter((k) => !(activation.keys?.[level] ?? []).includes(k)) }).toEqual({ level, missing: [] });
    }
    expect(slots.names(Slots.BALANCE).filter((b) => !(activation.balance ?? []).includes(b))).toEqual([]);
    if (name !== '@switchyard/plugin-acl') {
      // acl's fetches are the base set every fetch consumer depends on (peerDependencies).
      expect(slots.names(FETCH_SLOT).filter((f) => !(activation.fetches ?? []).includes(f))).toEqual([]);
    }
    const adapts = slots.names(Slots.CONFIG_ADAPTER).length > 0 || slots.names(HAPROXY_DIRECTIVE_SLOT).length > 0;
    expect(pkg.switchyard?.adapts === true).toBe(adapts);
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
