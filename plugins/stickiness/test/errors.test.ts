import { startTestGateway } from '@switchyard/sdk/testing';

/** Config mistakes fail at load with coded errors. */
async function codeOf(backend: Record<string, unknown>, mode: 'http' | 'tcp' = 'http'): Promise<string> {
  const config = {
    plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stickiness', './fixtures/test-plugin'],
    global: { logLevel: 'silent' },
    frontends: { fe: { mode, bind: '127.0.0.1:0', defaultBackend: 'be' } },
    backends: { be: { mode, balance: 'roundrobin', servers: [{ name: 's1', address: '127.0.0.1:9' }, { name: 's2', address: '127.0.0.1:10' }], ...backend } },
  };
  try {
    const gw = await startTestGateway(config, { baseDir: __dirname });
    await gw.stop();
    return 'started';
  } catch (err) {
    const e = err as { code?: string; errors?: Array<{ code: string }> };
    return e.code ?? e.errors?.map((x) => x.code).join(',') ?? String(err);
  }
}

describe('stickiness: errors at load', () => {
  it('an unknown store fails with SWY_ERR_STICK_STORE_UNKNOWN', async () => {
    expect(await codeOf({ stickTable: { store: 'nosuch' } })).toBe('SWY_ERR_STICK_STORE_UNKNOWN');
  });

  it('an unknown fetch fails with SWY_ERR_STICK_FETCH_UNKNOWN; src needs no fetch plugin', async () => {
    expect(await codeOf({ stickTable: { key: 'nosuch(x)' } })).toBe('SWY_ERR_STICK_FETCH_UNKNOWN');
    expect(await codeOf({ stickTable: { key: 'src' } })).toBe('started');
    expect(await codeOf({ stickTable: { key: 'src' } }, 'tcp')).toBe('started');
  });

  it('bad keys, cookies on tcp backends and shared cookie values fail with SWY_ERR_STICK_CONFIG', async () => {
    expect(await codeOf({ stickTable: { key: 'test.header' } })).toBe('SWY_ERR_STICK_CONFIG');
    expect(await codeOf({ stickTable: { key: 'test.header(x)' } }, 'tcp')).toBe('SWY_ERR_STICK_CONFIG');
    expect(await codeOf({ cookie: { name: 'SRV' } }, 'tcp')).toBe('SWY_ERR_STICK_CONFIG');
    expect(
      await codeOf({ cookie: { name: 'SRV' }, servers: [{ name: 's1', address: '127.0.0.1:9', cookie: 'x' }, { name: 's2', address: '127.0.0.1:10', cookie: 'x' }] }),
    ).toBe('SWY_ERR_STICK_CONFIG');
  });

  it('the schema rejects header-breaking cookie attributes', async () => {
    expect(await codeOf({ cookie: { name: 'SRV', attributes: ['SameSite=Lax\r\nX-Evil: 1'] } })).toBe('SWY_ERR_CONFIG_INVALID');
    expect(await codeOf({ cookie: { name: 'bad name' } })).toBe('SWY_ERR_CONFIG_INVALID');
  });
});
