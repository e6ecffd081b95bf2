/** `switchyard explain` through the built CLI, on a config file with ACLs, rules, maps and routes. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-explain-'));
const configFile = path.join(dir, 'gw.yaml');
const names = ['api', 'web', 'static', 'cart', 'org', 'docs', 'special', 'shopmap'];

beforeAll(() => {
  fs.writeFileSync(path.join(dir, 'hosts.map'), 'shop.map.example shopmap\n');
  fs.writeFileSync(
    configFile,
    `plugins: ['@switchyard/preset-standard', '@switchyard/plugin-acl', '@switchyard/plugin-http-rules']
frontends:
  web:
    bind: 127.0.0.1:0
    acls:
      is_api: path_beg /api
      is_internal: src 10.0.0.0/8
    httpRequest:
      - { action: deny, if: '{ path_beg /admin } !is_internal' }
    useBackend:
      - { backend: api, if: is_api }
      - { map: { file: hosts.map, key: host } }
    routes:
      - { host: shop.example, path: /cart, backend: cart, stripPrefix: true }
    defaultBackend: web
backends:
${names.map((n, i) => `  ${n}:\n    servers: [{ name: s1, address: "127.0.0.1:${9100 + i}" }]`).join('\n')}
`,
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function explain(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'core/bin/switchyard.js'), 'explain', '--config', configFile, ...args], { cwd: root, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const built = fs.existsSync(path.join(root, 'plugins/acl/dist/index.js')) && fs.existsSync(path.join(root, 'core/dist/cli.js'));
(built ? describe : describe.skip)('switchyard explain (built CLI)', () => {
  test('shows each ACL, the rule that chose the backend, and the server', async () => {
    const r = await explain('--request', 'GET http://shop.map.example/api/x', '--src', '10.1.2.3');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[x\] acl is_api: path_beg \/api → value "\/api\/x" matched/);
    expect(r.out).toMatch(/\[x\] acl is_internal: src 10\.0\.0\.0\/8 → value "10\.1\.2\.3" matched/);
    expect(r.out).toMatch(/httpRequest\[0\] deny 403 if .*: condition false → skipped/);
    expect(r.out).toMatch(/useBackend\[0\] backend api if is_api: condition true/);
    expect(r.out).toMatch(/backend {3}api {2}— useBackend\[0\] if is_api/);
    expect(r.out).toMatch(/server {4}api\/s1 \(127\.0\.0\.1:\d+\)/);
  });

  test('shows a deny that answers the request before any backend', async () => {
    const r = await explain('--request', 'GET /admin/x', '--header', 'Host: shop.example', '--src', '192.0.2.1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/httpRequest\[0\] deny 403 .*condition true → fires/);
    expect(r.out).toMatch(/answered by the gateway: httpRequest\[0\] deny 403 \(status 403\)/);
    expect(r.out).not.toMatch(/^backend/m);
  });

  test('shows routes with stripPrefix and the rewritten upstream path', async () => {
    const r = await explain('--request', 'GET http://shop.example/cart/items');
    expect(r.out).toMatch(/route\[\d\] shop\.example\/cart → cart \(strip prefix\): matches/);
    expect(r.out).toMatch(/upstream {2}GET \/items/);
    expect(r.out).toMatch(/server {4}cart\/s1/);
  });
});
