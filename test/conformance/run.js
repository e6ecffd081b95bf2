#!/usr/bin/env node
'use strict';
/**
 * HAProxy's own regression tests (reg-tests, driven by VTest) against Switchyard, through
 * the haproxy.cfg adapter: runs ../shared/conformance/run.sh when that folder exists, then
 * merges its results into test/conformance/results.tsv and rewrites the compatibility table
 * in docs/haproxy-migration.md (per directory: passing, and each failure with its cause).
 *
 *   npm run conformance                          the 165 tests of HAProxy 2.6's reference set, strict
 *   npm run conformance -- --only 'balance/'     a subset (its rows are merged into the table)
 *   npm run conformance -- --lenient             unsupported directives as warnings (table not written)
 *   npm run conformance -- --table-only          rewrite the table from results.tsv, run nothing
 *   npm run conformance -- --from <OUT>          re-read the results and logs of an earlier run in OUT
 *
 * The folder is looked up as $SWITCHYARD_CONFORMANCE_DIR, then ../shared/conformance and
 * ../../shared/conformance from the project root. Its files are HAProxy's and VTest's: they
 * are only read, never copied into the project.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { causeOf, mergeResults, readResults, renderTable, writeResults, replaceTable } = require('./table');

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(__dirname, 'results.tsv');
const DOC = path.join(ROOT, 'docs', 'haproxy-migration.md');

function findSuite() {
  const candidates = [process.env.SWITCHYARD_CONFORMANCE_DIR, path.join(ROOT, '..', 'shared', 'conformance'), path.join(ROOT, '..', '..', 'shared', 'conformance')];
  return candidates.find((d) => d && fs.existsSync(path.join(d, 'run.sh')));
}

function main() {
  const args = process.argv.slice(2);
  const tableOnly = args.includes('--table-only');
  const suite = findSuite();
  if (tableOnly) {
    const results = readResults(RESULTS);
    replaceTable(DOC, renderTable(results, suite ? referenceSet(suite) : null));
    console.log(`conformance: table in docs/haproxy-migration.md rewritten from ${path.relative(ROOT, RESULTS)}`);
    return 0;
  }
  if (!suite) {
    console.log('conformance: no ../shared/conformance/run.sh (nor $SWITCHYARD_CONFORMANCE_DIR): nothing to run');
    return 0;
  }
  const from = args.indexOf('--from');
  const out = from !== -1 ? path.resolve(args[from + 1] ?? '.') : process.env.OUT || path.join(require('node:os').tmpdir(), 'switchyard-conformance');
  const r = from !== -1 ? { status: 0 } : spawnSync(path.join(suite, 'run.sh'), args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, OUT: out } });
  if (r.error) throw r.error;
  const tsv = path.join(out, 'results.tsv');
  if (!fs.existsSync(tsv)) return r.status ?? 1;
  if (args.includes('--lenient')) {
    console.log('conformance: --lenient run; the table (strict results) is left as it is');
    return r.status ?? 1;
  }
  const fresh = fs
    .readFileSync(tsv, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [test, result] = line.split('\t');
      const name = test.replace(/^reg-tests\//, '').replace(/\//g, '__').replace(/\.vtc$/, '');
      const logFile = path.join(out, 'logs', `${name}.log`);
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      return { test, result, cause: result === 'pass' ? '' : causeOf(log) };
    });
  const results = mergeResults(readResults(RESULTS), fresh);
  writeResults(RESULTS, results);
  replaceTable(DOC, renderTable(results, referenceSet(suite)));
  console.log(`conformance: ${path.relative(ROOT, RESULTS)} and the table in docs/haproxy-migration.md updated`);
  return r.status ?? 1;
}

function referenceSet(suite) {
  return fs.readFileSync(path.join(suite, 'reference-set.txt'), 'utf8').split('\n').filter(Boolean);
}

process.exitCode = main();
