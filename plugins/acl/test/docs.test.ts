/**
 * Every complete config in docs/acl.md loads and compiles (plugins applied, ACLs, rules and
 * routes compiled) — the reference cannot drift from what the code accepts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/acl.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^frontends:/m.test(b) && /^backends:/m.test(b));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-acl-docs-'));

beforeAll(() => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=www.example.com', '-days', '1', '-keyout', path.join(dir, 'site.key'), '-out', path.join(dir, 'site.pem')], { stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'maintenance.html'), '<h1>maintenance</h1>\n');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the reference has complete examples', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(4);
});

test.each(blocks.map((b, i) => [i, b] as const))('example %i loads and compiles', async (i, text) => {
  const file = path.join(dir, `example-${i}.yaml`);
  fs.writeFileSync(file, text);
  let prepared: Promise<{ stop(ms?: number): Promise<void> }> | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const core = require('@switchyard/core') as typeof import('@switchyard/core');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const logger = require('pino')({ level: 'silent' });
    prepared = core.Gateway.prepare(core.loadConfig({ file }, { logger }), { logger });
  });
  const gw = await prepared!;
  await gw.stop(0);
});
