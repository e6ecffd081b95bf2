import { startTestGateway, type TestGateway } from '@switchyard/sdk/testing';
import { adminCommand, RUNTIME_API_SERVICE, type RuntimeApiService } from '@switchyard/plugin-runtime-api';

/** `switchyard admin` passes a word-reading command the rest of its line and prints its text as the CLI does. */
const TOKEN = 'admin-words-token-0123456789';

describe('switchyard admin with HAProxy-style commands (show table, set table)', () => {
  let gw: TestGateway;
  let api: string;
  beforeAll(async () => {
    gw = await startTestGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-runtime-api', '@switchyard/plugin-rate-limit'],
      runtimeApi: { enabled: true, listen: '127.0.0.1:0', token: TOKEN },
      rateLimit: { tables: [{ name: 'st', type: 'string', size: 100, store: [{ name: 'gpc0' }, { name: 'http_req_rate', period: 10000 }] }] },
      frontends: {},
      backends: {},
    });
    api = (await gw.gateway.container.resolve<RuntimeApiService>(RUNTIME_API_SERVICE).ready).url;
  });
  afterAll(() => gw?.stop());

  const admin = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await adminCommand.run({
      argv: ['--url', api, '--token', TOKEN, ...argv],
      configFile: undefined,
      out: (t) => (out += t),
      err: (t) => (err += t),
      prepare: () => Promise.reject(new Error('no config load expected')),
    });
    return { code, out, err };
  };

  it('set table, then show table with a filter, print HAProxy\'s text', async () => {
    expect(await admin('set', 'table', 'st', 'key', 'alice', 'data.gpc0', '7')).toEqual({ code: 0, out: '', err: '' });
    expect(await admin('set', 'table', 'st', 'key', 'bob', 'data.gpc0', '1')).toEqual({ code: 0, out: '', err: '' });
    const shown = await admin('show', 'table', 'st', 'data.gpc0', 'gt', '5');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^# table: st, type: string, size:100, used:2\n0x[0-9a-f]+: key=alice use=0 exp=0 gpc0=7 http_req_rate\(10000\)=0\n$/);
    expect((await admin('show', 'table', 'nope')).out).toBe('No such table\n');
  });
});
