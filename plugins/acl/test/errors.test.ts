/** ACL and routing mistakes are refused when the config loads, with a coded error. */
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';
import { isolatedGateway } from './client';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream({ name: 'web' });
});
afterAll(async () => {
  await up?.close();
});

test.each([
  ['an unknown ACL', { useBackend: [{ backend: 'web', if: 'nope' }] }, 'SWY_ERR_ACL_UNKNOWN_ACL'],
  ['a bad regex', { acls: { r: 'path_reg ([' } }, 'SWY_ERR_ACL_BAD_PATTERN'],
  ['an unknown fetch', { acls: { r: 'pathx /a' } }, 'SWY_ERR_ACL_UNKNOWN_FETCH'],
  ['an unknown backend', { useBackend: [{ backend: 'ghost' }] }, 'SWY_ERR_ACL_UNKNOWN_BACKEND'],
  ['a bad CIDR', { acls: { r: 'src 10.0.0.0/99' } }, 'SWY_ERR_ACL_BAD_PATTERN'],
  ['an ACL without pattern', { acls: { r: 'hdr(x)' } }, 'SWY_ERR_ACL_SYNTAX'],
])('config with %s is refused at load', async (_what, extra, code) => {
  await expect(
    isolatedGateway({
      plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl'],
      frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'web', ...extra } },
      backends: { web: { servers: [{ address: up.address }] } },
    }),
  ).rejects.toMatchObject({ code });
});


test.each([
  [['@switchyard/plugin-acl', '@switchyard/plugin-tls']],
  [['@switchyard/plugin-tls', '@switchyard/plugin-acl']],
])('loads beside plugin-tls (which also offers ssl_fc_sni) in either order: %j', async (order) => {
  const gw = await isolatedGateway({
    plugins: ['@switchyard/preset-standard', ...order],
    frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'web', acls: { sni: 'ssl_fc_sni -m found' } } },
    backends: { web: { servers: [{ address: up.address }] } },
  });
  await gw.stop();
});
