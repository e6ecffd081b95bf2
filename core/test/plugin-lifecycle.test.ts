import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { ConfigErrors, Gateway, loadConfig } from '@switchyard/core';
import { SwitchyardError, formatError, type Logger } from '@switchyard/sdk';
import { cli } from '../../test/helpers';

const logger = pino({ level: 'silent' }) as unknown as Logger;
const fixtures = path.join(__dirname, 'fixtures', 'plugins');
const A = path.join(fixtures, 'lifecycle-a.js');
const B = path.join(fixtures, 'lifecycle-b.js');
const g = globalThis as { __swyLife?: string[]; __swyLate?: unknown };

function caught(fn: () => unknown): SwitchyardError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors[0]!;
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

async function rejected(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

const base = (extra: string[]): string => [
  'plugins:',
  '  - "@switchyard/plugin-roundrobin"',
  '  - "@switchyard/plugin-http-forwarder"',
  ...extra,
  'frontends:',
  '  web: { bind: 127.0.0.1:0, defaultBackend: app }',
  'backends:',
  '  app: { servers: [{ address: "127.0.0.1:9" }] }',
].join('\n');

describe('plugin lifecycle: register, provision, validate, apply, stop', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-life-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    g.__swyLife = [];
    delete g.__swyLate;
  });

  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('runs each step in plugin order, stops in reverse, then disposes services newest first', async () => {
    const file = write('ok.yaml', base([`  - ${JSON.stringify(A)}`, `  - ${JSON.stringify(B)}`]));
    const gw = await Gateway.prepare(loadConfig({ file }, { logger }), { logger });
    await gw.stop(0);
    expect(g.__swyLife).toEqual([
      'provision a', 'provision b', 'validate a', 'validate b', 'apply a', 'apply b',
      'stop b', 'stop a', 'dispose b', 'dispose a',
    ]);
  });

  it('`switchyard validate` runs provision and validate but never apply', async () => {
    const file = write('apply-fails.yaml', base([`  - ${JSON.stringify(A)}`, 'life: { failApply: true }']));
    const r = await cli(['validate', '--config', file]);
    expect(r.output).toContain(`${file}: valid`);
    expect(r.code).toBe(0);
    const err = await rejected(Gateway.prepare(loadConfig({ file }, { logger }), { logger }));
    expect(err.code).toBe('SWY_ERR_PLUGIN_APPLY');
    expect(err.message).toBe('plugin lifecycle-a failed in its apply step: apply ran');
  });

  it('a coded provision error gets the file and line of the key it names, and the plugin', async () => {
    const file = write('bogus.yaml', base([`  - ${JSON.stringify(A)}`, 'life:', '  mode: bogus']));
    const r = await cli(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`error: ${file}:6: life.mode: plugin lifecycle-a: mode bogus is not supported (SWY_ERR_LIFE_MODE)`);
    // The same from `run`: it is refused before anything listens.
    const run = await cli(['run', '--config', file]);
    expect(run.code).toBe(1);
    expect(run.output).toContain(`${file}:6: life.mode: plugin lifecycle-a: mode bogus is not supported (SWY_ERR_LIFE_MODE)`);
  });

  it('an uncoded provision error is coded and names the plugin', async () => {
    const file = write('throw.yaml', base([`  - ${JSON.stringify(A)}`, 'life: { mode: throw }']));
    const err = await rejected(Gateway.provision(loadConfig({ file }, { logger }), { logger }));
    expect(err.code).toBe('SWY_ERR_PLUGIN_PROVISION');
    expect(formatError(err)).toBe('plugin lifecycle-a failed in its provision step: no luck (SWY_ERR_PLUGIN_PROVISION)');
    // Nothing was started, and the failed generation was stopped.
    expect(g.__swyLife).toEqual(['provision a', 'stop a']);
  });

  it('a service nobody offers is a coded error naming the token and the consumer', async () => {
    const file = write('missing.yaml', base([`  - ${JSON.stringify(A)}`, `  - ${JSON.stringify(B)}`, 'lifeB: { needMissing: true }']));
    const err = await rejected(Gateway.provision(loadConfig({ file }, { logger }), { logger }));
    expect(err.code).toBe('SWY_ERR_SERVICE_MISSING');
    expect(err.plugin).toBe('lifecycle-b');
    expect(err.message).toContain('test.lifecycle.nobody-offers-this');
    expect(g.__swyLife).toContain('dispose a'); // the half-built generation was disposed
  });

  it('services cannot be looked up once the gateway serves (never per request)', async () => {
    const file = write('late.yaml', base([`  - ${JSON.stringify(A)}`, 'life: { lateLookup: true }']));
    const gw = await Gateway.start(loadConfig({ file }, { logger }), { logger });
    await gw.stop(0);
    expect((g.__swyLate as SwitchyardError | undefined)?.code).toBe('SWY_ERR_SERVICE_LATE');
  });

  it('two generations (a reload) have their own services; stopping the old one disposes only its own', async () => {
    const file = write('two.yaml', base([`  - ${JSON.stringify(A)}`]));
    const one = await Gateway.prepare(loadConfig({ file }, { logger }), { logger });
    const two = await Gateway.prepare(loadConfig({ file }, { logger }), { logger });
    expect(one.services).not.toBe(two.services);
    g.__swyLife = [];
    await one.stop(0);
    expect(g.__swyLife).toEqual(['stop a', 'dispose a']);
    await two.stop(0);
    expect(g.__swyLife).toEqual(['stop a', 'dispose a', 'stop a', 'dispose a']);
  });
});

describe('slot implementations are checked for shape when provided', () => {
  it('a balance policy that is an object, not a class', () => {
    const err = caught(() => loadConfig({ object: { plugins: [path.join(fixtures, 'policy-object.js')], frontends: {}, backends: {} } }, { logger }));
    expect(err.code).toBe('SWY_ERR_SLOT_SHAPE');
    expect(err.message).toBe('plugin policy-object provides balance "objectish", which must be a BalancePolicyClass (a class whose instances have select(exchange)): got an object');
  });

  it('a balance policy class without select(), through `switchyard validate`', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-shape-'));
    try {
      const file = path.join(dir, 'g.yaml');
      fs.writeFileSync(file, `plugins: [${JSON.stringify(path.join(fixtures, 'policy-no-select.js'))}]\nfrontends: {}\nbackends: {}\n`);
      const r = await cli(['validate', '--config', file]);
      expect(r.code).toBe(1);
      expect(r.output).toContain('plugin policy-no-select provides balance "noselect", which must be a BalancePolicyClass (a class whose instances have select(exchange)): class NoSelect has no select() method (SWY_ERR_SLOT_SHAPE)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
