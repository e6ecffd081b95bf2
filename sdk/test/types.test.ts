import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** Typed contracts are checked by the compiler: the fixture's @ts-expect-error lines must all be errors. */
describe('typed contracts (compile-time)', () => {
  it('tokens, keys, slot keys and schema-derived options type-check, and misuse does not', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    const file = path.join(__dirname, 'types', 'contracts.ts');
    const out = (() => {
      try {
        return execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--moduleResolution', 'node10', '--skipLibCheck', '--types', 'node', file], { encoding: 'utf8' });
      } catch (err) {
        return String((err as { stdout?: string }).stdout ?? err);
      }
    })();
    expect(out).toBe('');
  }, 60_000);
});
