import * as fs from 'node:fs';
import * as path from 'node:path';

const DOC = path.resolve(__dirname, '../../../docs/databases.md');

/** A fenced block of docs/databases.md whose first line is `# test: <name>`. */
export function docsBlock(name: string): { lang: string; text: string } {
  const md = fs.readFileSync(DOC, 'utf8');
  const re = /```(\w+)\n# test: ([\w-]+)\n([\s\S]*?)```/g;
  for (const m of md.matchAll(re)) if (m[2] === name) return { lang: m[1]!, text: m[3]! };
  throw new Error(`docs/databases.md has no block "# test: ${name}"`);
}

/** Every tested block's name. */
export function docsBlockNames(): string[] {
  const md = fs.readFileSync(DOC, 'utf8');
  return [...md.matchAll(/```\w+\n# test: ([\w-]+)\n/g)].map((m) => m[1]!);
}

/**
 * The block with its example addresses replaced by real ones and every `bind` on
 * 127.0.0.1 (port 0 for Switchyard, or the port given for each example port).
 */
export function localize(text: string, addresses: Record<string, string>, binds: Record<string, number> = {}): string {
  let out = text;
  for (const [from, to] of Object.entries(addresses)) out = out.split(from).join(to);
  out = out.replace(/bind :(\d+)/g, (_, p: string) => `bind 127.0.0.1:${binds[p] ?? 0}`);
  out = out.replace(/bind: ':(\d+)'/g, (_, p: string) => `bind: '127.0.0.1:${binds[p] ?? 0}'`);
  return out;
}
