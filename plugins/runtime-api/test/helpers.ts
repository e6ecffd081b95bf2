import type { TestGateway } from '@switchyard/sdk/testing';

/**
 * The core's config loader keeps one Ajv instance per process and the composed schema has a
 * fixed $id, so a second loadConfig in one module registry fails ("schema with key or id ...
 * already exists"). Each gateway here loads the core in its own registry until that is fixed.
 */
export function startIsolatedGateway(config: Record<string, unknown>): Promise<TestGateway> {
  let started!: Promise<TestGateway>;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const testing = require('@switchyard/sdk/testing') as typeof import('@switchyard/sdk/testing');
    started = testing.startTestGateway(config);
  });
  return started;
}

export async function until<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
