import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';

/**
 * Every YAML example in docs/traffic-shaping.md loads: schema-valid, and the gateway prepares
 * (plugins applied, keys and conditions compiled) without listening.
 */
const DOC = path.resolve(__dirname, '../../docs/traffic-shaping.md');
const blocks = [...fs.readFileSync(DOC, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

interface Core {
  loadConfig(input: { text: string; file: string }, options: { logger: unknown }): unknown;
  Gateway: { prepare(loaded: unknown, options: { logger: unknown }): Promise<{ stop(graceMs?: number): Promise<void> }> };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('@switchyard/core') as Core;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pino = require('pino') as (o: Record<string, unknown>, d: Writable) => unknown;
const logger = pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() }));

describe('docs/traffic-shaping.md examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });

  it.each(blocks.map((b, i) => [i, b] as const))('example %i loads and prepares', async (_i, yaml) => {
    // Nothing listens; a Redis example connects to nothing and starts on its insurance limiter.
    const text = yaml.replace(/redis:\/\/127\.0\.0\.1:6379/g, 'redis://127.0.0.1:1').replace(/connectTimeout: 2s/g, 'connectTimeout: 200ms');
    const loaded = core.loadConfig({ text, file: path.join(path.dirname(DOC), 'example.yaml') }, { logger });
    const gw = await core.Gateway.prepare(loaded, { logger });
    await gw.stop(0);
  });
});
