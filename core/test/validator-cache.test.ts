import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { ConfigErrors, loadConfig } from '@switchyard/core';
import type { Logger } from '@switchyard/sdk';

const logger = pino({ level: 'silent' }) as unknown as Logger;
const plugins = ['@switchyard/plugin-http-forwarder', '@switchyard/plugin-roundrobin'];

const good = {
  plugins,
  defaults: { timeouts: { connect: '2s', server: '1m' } },
  frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
  backends: { app: { servers: [{ address: '127.0.0.1:9' }] } },
};
const bad = {
  plugins,
  defaults: { timeouts: { connect: 'soon' } },
  frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app', tiemouts: {} } },
  backends: { app: { servers: [{ address: '127.0.0.1:9', weight: -1 }] } },
};

function messages(object: Record<string, unknown>, baseDir: string): string[] {
  try {
    loadConfig({ object: structuredClone(object), baseDir }, { logger });
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => `${e.location?.path ?? ''}: ${e.message}`);
    throw err;
  }
  return [];
}

const validators = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^validator-[0-9a-f]+\.js$/.test(f)) : []);

describe('the composed schema validator cache (SWITCHYARD_CACHE_DIR)', () => {
  let dir: string;
  let cache: string;
  const saved = process.env.SWITCHYARD_CACHE_DIR;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-validator-'));
    cache = path.join(dir, 'cache');
    process.env.SWITCHYARD_CACHE_DIR = cache;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.SWITCHYARD_CACHE_DIR;
    else process.env.SWITCHYARD_CACHE_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles once, writes the code owner-only, and then accepts and refuses exactly as the compiled one', () => {
    const first = messages(bad, dir);
    expect(first).toEqual(expect.arrayContaining([expect.stringMatching(/defaults\.timeouts\.connect: must be a duration/), expect.stringMatching(/tiemouts: unknown key/), expect.stringMatching(/weight: must be >= 0/)]));
    const files = validators(cache);
    expect(files).toHaveLength(1);
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(cache, files[0]!)).mode & 0o777).toBe(0o600);
    // From the cache now: the same problems, in the same words; durations still converted.
    expect(messages(bad, dir)).toEqual(first);
    const loaded = loadConfig({ object: structuredClone(good), baseDir: dir }, { logger });
    expect(loaded.config.defaults.timeouts).toMatchObject({ connect: 2000, server: 60_000 });
    expect(loaded.config.backends.app!.servers[0]).toMatchObject({ weight: 1, host: '127.0.0.1', port: 9 });
    expect(validators(cache)).toEqual(files);
  });

  it('loads the cached code (a replaced file is what runs), but never a file others may write', () => {
    messages(good, dir);
    const [file] = validators(cache).map((f) => path.join(cache, f));
    // Code that accepts anything: if the cache is read, the bad config passes.
    fs.writeFileSync(file!, '"use strict";module.exports = function validate() { return true; };');
    const schemaProblems = (list: string[]): string[] => list.filter((m) => /unknown key|must be a duration|must be >= 0/.test(m));
    expect(schemaProblems(messages(bad, dir))).toEqual([]);
    fs.chmodSync(file!, 0o666);
    expect(schemaProblems(messages(bad, dir)).length).toBe(3);
  });

  it('with SWITCHYARD_CACHE_DIR=off, or an unusable directory, compiles every time and still validates', () => {
    process.env.SWITCHYARD_CACHE_DIR = 'off';
    expect(messages(bad, dir).length).toBeGreaterThan(0);
    const blocked = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocked, '');
    process.env.SWITCHYARD_CACHE_DIR = blocked;
    expect(messages(bad, dir).length).toBeGreaterThan(0);
    expect(messages(good, dir)).toEqual([]);
  });
});
