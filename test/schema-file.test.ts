/**
 * schema/config.json is the published config schema (core + every bundled plugin). It must be
 * what the code composes now: this test fails when a schema changed and the file was not
 * regenerated, and says how to regenerate it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { ROOT } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const script = require(path.join(ROOT, 'scripts', 'schema.js')) as { bundledPlugins(): string[]; composed(): string; FILE: string };

describe('published schema (schema/config.json)', () => {
  const committed = fs.readFileSync(script.FILE, 'utf8');

  it('is up to date with the code (else: npm run build && npm run schema, and commit schema/config.json)', () => {
    const now = script.composed();
    if (now !== committed) {
      throw new Error('schema/config.json is stale: run `npm run build && npm run schema` and commit schema/config.json');
    }
  });

  it('has an $id, and the keys of every bundled plugin', () => {
    const schema = JSON.parse(committed) as { $id: string; properties: Record<string, unknown>; definitions?: unknown };
    expect(schema.$id).toBe('https://switchyard.dev/schema/config.json');
    for (const key of ['stats', 'prometheus', 'cache', 'accessLog', 'rateLimit', 'runtimeApi', 'redis', 'compression']) {
      expect(Object.keys(schema.properties)).toContain(key);
    }
    expect(script.bundledPlugins().length).toBeGreaterThanOrEqual(30);
  });

  it('is a JSON Schema an editor can use: a plain draft-07 validator accepts good configs and reports bad keys', () => {
    const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: false });
    const validate = ajv.compile(JSON.parse(committed) as object);
    const good = {
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-prometheus'],
      prometheus: { naming: 'haproxy' },
      frontends: { web: { bind: '127.0.0.1:8080', defaultBackend: 'app' } },
      backends: { app: { servers: [{ name: 'a', address: '127.0.0.1:9001' }] } },
    };
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, prometheus: { naming: 'grafana' } })).toBe(false);
    expect(validate({ ...good, frontends: { web: { bind: '127.0.0.1:8080', defaultBakend: 'app' } } })).toBe(false);
  });
});
