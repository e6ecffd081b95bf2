import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers';

/** Every package's coded errors (src/errors.ts registries) and docs/errors.md list the same codes. */
describe('docs/errors.md', () => {
  const packageDirs = [path.join(ROOT, 'sdk'), path.join(ROOT, 'core'), ...fs.readdirSync(path.join(ROOT, 'plugins')).map((d) => path.join(ROOT, 'plugins', d))];

  function codesInCode(): Map<string, string> {
    const out = new Map<string, string>();
    for (const dir of packageDirs) {
      const srcDir = path.join(dir, 'src');
      if (!fs.existsSync(srcDir)) continue;
      const stack = [srcDir];
      while (stack.length > 0) {
        const d = stack.pop()!;
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) stack.push(p);
          else if (/\.ts$/.test(e.name)) {
            for (const m of fs.readFileSync(p, 'utf8').matchAll(/code:\s*'(SWY_ERR_[A-Z0-9_]+)'/g)) out.set(m[1]!, path.relative(ROOT, p));
          }
        }
      }
    }
    return out;
  }

  it('lists every code the packages define, and no code that does not exist', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/\b(SWY_ERR_[A-Z0-9_]+)\b/g)].map((m) => m[1]!));
    const defined = codesInCode();
    expect(defined.size).toBeGreaterThan(20);
    const undocumented = [...defined.keys()].filter((c) => !documented.has(c)).map((c) => `${c} (${defined.get(c)})`);
    const stale = [...documented].filter((c) => !defined.has(c));
    expect({ undocumented, stale }).toEqual({ undocumented: [], stale: [] });
  });
});
