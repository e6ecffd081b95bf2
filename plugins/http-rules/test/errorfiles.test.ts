/**
 * `http-request deny deny_status N` answers with the proxy's `errorfile N` (HAProxy: the file
 * is a whole response, sent as it is; an empty file closes the connection without an answer),
 * through a gateway adapted from a real haproxy.cfg and real sockets.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { freePort, startTestGateway, type TestGateway } from '@switchyard/sdk/testing';

describe('deny with errorfiles', () => {
  let gw: TestGateway;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-ef-'));
    fs.writeFileSync(path.join(dir, '400.http'), 'HTTP/1.1 400 Bad request\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\nx-err-type: default\r\n\r\n<html>400</html>\n');
    fs.writeFileSync(path.join(dir, '403-fe.http'), 'HTTP/1.0 403 Forbidden\nContent-Type: text/html\nx-err-type: frontend\n\n<html>403</html>\n');
    port = await freePort();
    const cfg =
      `defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n` +
      `  errorfile 400 ${dir}/400.http\n  errorfile 408 /dev/null\n` +
      `frontend fe\n  bind 127.0.0.1:${port}\n  errorfile 403 ${dir}/403-fe.http\n` +
      `  http-request deny deny_status 400 if { path /400 }\n  http-request deny deny_status 403 if { path /403 }\n` +
      `  http-request deny deny_status 408 if { path /408 }\n  http-request deny deny_status 404 if { path /404 }\n`;
    fs.writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
    gw = await startTestGateway(cfg, { file: path.join(dir, 'haproxy.cfg') });
  });

  afterAll(async () => {
    await gw?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers with the file\'s status, headers and body (defaults and frontend files)', async () => {
    const r400 = await request(`http://127.0.0.1:${port}/400`);
    expect(r400.statusCode).toBe(400);
    expect(r400.headers['x-err-type']).toBe('default');
    expect(await r400.body.text()).toBe('<html>400</html>\n');
    const r403 = await request(`http://127.0.0.1:${port}/403`);
    expect(r403.statusCode).toBe(403);
    expect(r403.headers['x-err-type']).toBe('frontend');
    expect(await r403.body.text()).toBe('<html>403</html>\n');
  });

  it('a status without a file gets the built-in page', async () => {
    const r = await request(`http://127.0.0.1:${port}/404`);
    expect(r.statusCode).toBe(404);
    expect(r.headers['x-err-type']).toBeUndefined();
    await r.body.dump();
  });

  it('an empty errorfile (/dev/null) closes the connection without an answer', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /408 HTTP/1.1\r\nHost: x\r\n\r\n'));
      let data = '';
      s.on('data', (d) => (data += d.toString()));
      s.on('close', () => resolve(data));
      s.on('error', reject);
      s.setTimeout(5000, () => reject(new Error('no close within 5 s')));
    });
    expect(got).toBe('');
  });
});
