import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import pino from 'pino';
import { ConfigErrors, loadConfig } from '@switchyard/core';
import type { Logger } from '@switchyard/sdk';
import { freePort, startTestGateway } from '@switchyard/sdk/testing';

describe('error pages (errorFiles)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-pages-'));
    fs.writeFileSync(path.join(dir, 'sorry.html'), '<h1>We are back soon</h1>\n');
    fs.writeFileSync(path.join(dir, 'site.html'), '<h1>Site-wide 503</h1>\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers with the backend\'s page when every server is down, else the frontend\'s or defaults\'', async () => {
    const gw = await startTestGateway(
      {
        defaults: { errorFiles: { '503': 'site.html' } },
        frontends: {
          web: { bind: '127.0.0.1:0', defaultBackend: 'app' },
          other: { bind: '127.0.0.1:0', defaultBackend: 'plain' },
        },
        backends: {
          app: { errorFiles: { '503': 'sorry.html' }, servers: [{ name: 'a', address: `127.0.0.1:${await freePort()}` }] },
          plain: { servers: [{ name: 'b', address: `127.0.0.1:${await freePort()}` }] },
        },
      },
      { baseDir: dir },
    );
    try {
      gw.gateway.backends.get('app')!.servers[0]!.setHealth('down', 'test');
      const a = await request(gw.url('/', 'web'));
      expect(a.statusCode).toBe(503);
      expect(await a.body.text()).toBe('<h1>We are back soon</h1>\n');
      const b = await request(gw.url('/', 'other')); // refused connection → 503 from defaults
      expect(b.statusCode).toBe(503);
      expect(await b.body.text()).toBe('<h1>Site-wide 503</h1>\n');
    } finally {
      await gw.stop();
    }
  });

  it('a page file that cannot be read is a config error naming its key', () => {
    const logger = pino({ level: 'silent' }) as unknown as Logger;
    let errors: ConfigErrors | undefined;
    try {
      loadConfig({ object: { backends: { app: { errorFiles: { '503': 'missing.html' }, servers: [{ address: '127.0.0.1:1' }] } } }, baseDir: dir }, { logger });
    } catch (err) {
      errors = err as ConfigErrors;
    }
    expect(errors?.errors[0]).toMatchObject({ code: 'SWY_ERR_CONFIG_REFERENCE', location: { path: 'backends.app.errorFiles.503' } });
  });
});
