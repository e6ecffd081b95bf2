/**
 * Real haproxy.cfg files from public repositories (test/fixtures/haproxy-corpus: the files
 * as their authors wrote them, sources.json says where each comes from), normalised the same
 * way for both (normalise.ts: host names → 127.0.0.1, files → stubs), then given to
 * `haproxy -c` and to what `switchyard validate` runs (the config driver, then every plugin's
 * provision and validate steps):
 * - a file HAProxy accepts is either accepted by Switchyard strictly, or refused with a coded
 *   error naming the file, the line and the directive;
 * - a file HAProxy refuses is never accepted.
 * The counts are printed; the number accepted may only go up (FLOOR).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import pino from 'pino';
import { loadConfig, ConfigErrors, Gateway } from '@switchyard/core';
import { formatError, isSwitchyardError, type Logger } from '@switchyard/sdk';
import { makeCert, tmpDir } from './helpers';
import { normaliseConfig } from './normalise';

const HAPROXY = '/usr/sbin/haproxy';
const CORPUS = path.resolve(__dirname, '../../../test/fixtures/haproxy-corpus');
const logger = pino({ level: 'silent' }) as unknown as Logger;
/** Files run strictly at the last count: raise it when more pass, never lower it. */
const FLOOR = 65;

interface Source {
  file: string;
  repo: string;
  path: string;
  commit: string;
  url: string;
}

interface Outcome {
  file: string;
  haproxy: boolean;
  haproxyError?: string;
  switchyard: 'accepted' | 'refused';
  error?: string;
  precise?: boolean;
}

const dir = tmpDir('real-corpus');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

(fs.existsSync(HAPROXY) ? describe : describe.skip)('real-world haproxy.cfg corpus', () => {
  const sources = JSON.parse(fs.readFileSync(path.join(CORPUS, 'sources.json'), 'utf8')) as Source[];
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    const stubs = makeCert(dir);
    for (const s of sources) {
      const stubDir = path.join(dir, 'stubs', s.file.replace(/\.cfg$/, ''));
      fs.mkdirSync(stubDir, { recursive: true });
      const text = normaliseConfig(fs.readFileSync(path.join(CORPUS, 'files', s.file), 'utf8'), stubDir, stubs);
      const file = path.join(dir, s.file);
      fs.writeFileSync(file, text);
      const hp = spawnSync(HAPROXY, ['-c', '-f', file], { encoding: 'utf8', timeout: 20000, env: { PATH: process.env.PATH ?? '' } });
      const o: Outcome = { file: s.file, haproxy: hp.status === 0, switchyard: 'accepted' };
      if (hp.status !== 0) o.haproxyError = (hp.stderr || hp.stdout).split('\n').find((l) => l.includes('ALERT')) ?? hp.stderr;
      try {
        // what `switchyard validate` runs: load, then every plugin's provision and validate steps
        await (await Gateway.provision(loadConfig({ file }, { logger }), { logger })).stop(0);
      } catch (err) {
        o.switchyard = 'refused';
        o.error = err instanceof ConfigErrors ? err.errors.map((e) => formatError(e)).join('\n') : formatError(err);
        // precise: a coded error that names this file and a line in it
        const coded = err instanceof ConfigErrors || isSwitchyardError(err);
        o.precise = coded && new RegExp(`${s.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+`).test(o.error);
      }
      outcomes.push(o);
    }
    const valid = outcomes.filter((o) => o.haproxy);
    const strict = valid.filter((o) => o.switchyard === 'accepted');
    const lines = [
      `corpus: ${outcomes.length} files, HAProxy 2.6 accepts ${valid.length}, Switchyard runs ${strict.length} of those strictly (${((100 * strict.length) / Math.max(1, valid.length)).toFixed(1)} %)`,
      ...valid.filter((o) => o.switchyard === 'refused').map((o) => `  refused ${o.file}: ${o.error!.split('\n').slice(0, 3).join(' | ')}`),
    ];
    fs.writeFileSync(path.join(dir, 'outcomes.json'), JSON.stringify(outcomes, null, 1));
    if (process.env.SWY_CORPUS_REPORT) fs.writeFileSync(process.env.SWY_CORPUS_REPORT, JSON.stringify(outcomes, null, 1));
    process.stdout.write(lines.join('\n') + '\n');
  }, 240000);

  it('has at least 100 files, each with its source', () => {
    expect(sources.length).toBeGreaterThanOrEqual(100);
    for (const s of sources) {
      expect(fs.existsSync(path.join(CORPUS, 'files', s.file))).toBe(true);
      expect(s.url).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+\/blob\/[0-9a-f]{40}\//);
    }
  });

  it('accepts no file that HAProxy refuses', () => {
    expect(outcomes.filter((o) => !o.haproxy && o.switchyard === 'accepted').map((o) => `${o.file}: HAProxy says ${o.haproxyError}`)).toEqual([]);
  });

  it('refuses a HAProxy-valid file only with a coded error naming file:line', () => {
    expect(outcomes.filter((o) => o.haproxy && o.switchyard === 'refused' && !o.precise).map((o) => `${o.file}: ${o.error}`)).toEqual([]);
  });

  it(`runs at least ${FLOOR} HAProxy-valid files strictly`, () => {
    expect(outcomes.filter((o) => o.haproxy && o.switchyard === 'accepted').length).toBeGreaterThanOrEqual(FLOOR);
  });
});
