import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * "No string key is spelled in two packages" (DESIGN.md, Contracts between plugins): a service
 * token, a per-exchange / per-server key or a slot name is defined once, by its owner, and
 * every other package imports the owner's token. This scans the sources and tests of every
 * workspace package for the places a key is spelled:
 *
 * - the id given to `defineService` / `defineKey` / `defineSlot` / `Symbol.for`;
 * - a string constant named like a key (`*_KEY`, `*_VAR`, `*_SERVICE`, `*_SLOT`, `*_TOKEN`, `*_DATA`);
 * - a string literal passed where a key goes: `vars`/`data` `.get/.set/.has/.delete`,
 *   `slots.get/provide/names/ownerOf`, `container.resolve/register/isRegistered`;
 * - and, for dotted keys (`switchyard.health.control`), any string literal equal to one.
 *
 * A key found in two packages fails the test, naming every place.
 */
const ROOT = path.resolve(__dirname, '..');
const KEY_CONST = /(_KEY|_VAR|_VARS|_SERVICE|_SLOT|_TOKEN|_DATA)$/;
const DOTTED = /^[a-z][\w-]*(\.[\w-]+)+$/i;

interface Place {
  pkg: string;
  where: string;
  how: string;
}

function packages(): string[] {
  return ['sdk', 'core', ...fs.readdirSync(path.join(ROOT, 'plugins')).map((d) => `plugins/${d}`)].filter((d) =>
    fs.existsSync(path.join(ROOT, d, 'package.json')),
  );
}

function sources(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name === 'fixtures') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.(ts|js|tmpl)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function parsed(): Array<{ pkg: string; file: string; sf: ts.SourceFile }> {
  const out: Array<{ pkg: string; file: string; sf: ts.SourceFile }> = [];
  for (const pkg of packages()) {
    for (const sub of ['src', 'test', 'bin', 'template']) {
      for (const file of sources(path.join(ROOT, pkg, sub))) {
        out.push({ pkg, file, sf: ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true) });
      }
    }
  }
  return out;
}

function scan(): Map<string, Place[]> {
  const files = parsed();
  const keys = new Map<string, Place[]>();
  const add = (key: string, pkg: string, sf: ts.SourceFile, node: ts.Node, how: string): void => {
    const where = `${path.relative(ROOT, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
    const list = keys.get(key) ?? [];
    if (!list.some((p) => p.where === where)) list.push({ pkg, where, how });
    keys.set(key, list);
  };
  for (const { pkg, sf } of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isStringLiteralLike(n.initializer)) {
        if (KEY_CONST.test(n.name.text) || DOTTED.test(n.initializer.text)) add(n.initializer.text, pkg, sf, n, `const ${n.name.text}`);
      }
      if (ts.isCallExpression(n) && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0])) {
        const key = n.arguments[0].text;
        const callee = n.expression;
        if (ts.isIdentifier(callee) && /^define(Service|Key|Slot)$/.test(callee.text)) add(key, pkg, sf, n, callee.text);
        if (ts.isPropertyAccessExpression(callee)) {
          const method = callee.name.text;
          const target = callee.expression.getText(sf);
          if (target === 'Symbol' && method === 'for') add(key, pkg, sf, n, 'Symbol.for');
          if (/(^|\.)(vars|data)$/.test(target) && /^(get|set|has|delete)$/.test(method)) add(key, pkg, sf, n, `${target.split('.').pop()}.${method}`);
          if (/(^|\.)slots$/.test(target) && /^(get|provide|names|ownerOf)$/.test(method)) add(key, pkg, sf, n, `slots.${method}`);
          if (/(^|\.)container$/.test(target) && /^(resolve|register|isRegistered)$/.test(method)) add(key, pkg, sf, n, `container.${method}`);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  // Any other literal spelling of a dotted key (an array of slot names, a test's look-up…).
  const dotted = new Set([...keys.keys()].filter((k) => DOTTED.test(k)));
  for (const { pkg, sf } of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isStringLiteralLike(n) && dotted.has(n.text)) add(n.text, pkg, sf, n, 'literal');
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return keys;
}

describe('string keys between packages', () => {
  const keys = scan();

  it('finds the keys (the scan works)', () => {
    // Owners' definitions the scan must see: a service, a per-server key, a slot, an SDK key.
    for (const k of ['switchyard.stats', 'switchyard.health.control', 'acl.compiler', 'retries.failedAttempts', 'balance']) {
      expect(keys.has(k)).toBe(true);
    }
    expect(keys.size).toBeGreaterThan(30);
  });

  it('no key is spelled in two packages: consumers import the owner\'s token', () => {
    const offenders: string[] = [];
    for (const [key, places] of [...keys].sort(([a], [b]) => a.localeCompare(b))) {
      const pkgs = new Set(places.map((p) => p.pkg));
      if (pkgs.size > 1) offenders.push(`'${key}' in ${[...pkgs].join(', ')}: ${places.map((p) => `${p.where} (${p.how})`).join('; ')}`);
    }
    expect(offenders).toEqual([]);
  });
});
