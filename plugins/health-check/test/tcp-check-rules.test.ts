/**
 * The tcp-check engine rule by rule, against TCP servers on 127.0.0.1 that answer each
 * connection with a scripted dialogue (Redis, PostgreSQL and MariaDB are exercised for real
 * in the other suites). The words are HAProxy 2.6's (src/tcpcheck.c, src/check.c).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { ServerState } from '@switchyard/sdk';
import { compileRules, runTcpCheck, TcpRulesHealthCheck, type TcpCheckRuleConfig } from '../src';
import { protocolKinds } from '../src/tcpcheck/kinds';
import { DEFAULT_HEALTH_CHECK } from '../src';

type Script = (s: net.Socket, data: Buffer) => void;

/** A server that runs `onData` for every chunk and `onConnect` once per connection. */
async function scripted(onConnect: (s: net.Socket) => void, onData: Script = () => undefined): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d) => onData(s, d));
    onConnect(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const SERVER = { name: 's1', backend: 'be', config: {} } as unknown as ServerState;

function run(rules: TcpCheckRuleConfig[], port: number, timeout = 1500) {
  return runTcpCheck(compileRules(rules), { server: SERVER, host: '127.0.0.1', port, timeout }, { tls: null, sendProxy: null }, new Map());
}

async function refusedPort(): Promise<number> {
  const s = await scripted(() => undefined);
  await s.close();
  return s.port;
}

describe('tcp-check rules', () => {
  it('numbers steps as HAProxy does: an implicit first connect is the initial step, comments count', async () => {
    const port = await refusedPort();
    expect(await run([{ send: 'PING\r\n' }, { expect: { string: '+PONG' } }], port)).toMatchObject({
      ok: false, status: 'L4CON', reason: 'Layer4 connection problem', info: 'Connection refused at initial connection step of tcp-check', step: 0,
    });
    expect(await run([{ comment: 'the cache' }, { connect: { port } }, { send: 'x' }], port)).toMatchObject({
      status: 'L4CON', info: `Connection refused at step 2 of tcp-check (connect port ${port}) comment: 'the cache'`, step: 2,
    });
  });

  it('a reply that ends without the string: "TCPCHK did not match content" at that step; a comment line applies to the rules of one action after it', async () => {
    const srv = await scripted(() => undefined, (s) => s.end('-ERR nope\r\n'));
    try {
      const r = await run([{ connect: {} }, { comment: 'is it up' }, { send: 'PING\r\n' }, { expect: { string: '+PONG' } }], srv.port);
      expect(r).toMatchObject({ ok: false, status: 'L7RSP', reason: 'Layer7 invalid response', info: "TCPCHK did not match content '+PONG' at step 4", step: 4 });
      const c = await run([{ connect: {} }, { send: 'PING\r\n' }, { expect: { string: '+PONG' }, comment: 'pong expected' }], srv.port);
      expect(c.info).toBe("TCPCHK did not match content '+PONG' at step 3 comment: pong expected");
    } finally {
      await srv.close();
    }
  });

  it('without min-recv a mismatch waits for more data, until the timeout: "Layer7 timeout" and where', async () => {
    const srv = await scripted(() => undefined, (s) => s.write('role:slave\r\n'));
    try {
      const r = await run([{ connect: {} }, { send: 'info\r\n' }, { expect: { string: 'role:master' } }], srv.port, 300);
      expect(r).toMatchObject({ ok: false, status: 'L7TOUT', reason: 'Layer7 timeout', info: " at step 3 of tcp-check (expect string 'role:master')" });
      // min-recv makes it conclusive once that many bytes are in.
      const m = await run([{ connect: {} }, { send: 'info\r\n' }, { expect: { string: 'role:master', minRecv: 5 } }], srv.port, 1000);
      expect(m).toMatchObject({ status: 'L7RSP', info: "TCPCHK did not match content 'role:master' at step 3" });
    } finally {
      await srv.close();
    }
  });

  it('"!" negates: unwanted content fails, its absence passes', async () => {
    const srv = await scripted(() => undefined, (s, d) => s.write(d.toString().startsWith('bad') ? '-ERR busy\r\n' : '+OK ready\r\n'));
    try {
      const bad = await run([{ connect: {} }, { send: 'bad\r\n' }, { expect: { string: 'ERR', negate: true, minRecv: 3 } }], srv.port);
      expect(bad).toMatchObject({ ok: false, status: 'L7RSP', info: "TCPCHK matched unwanted content 'ERR' at step 3" });
      const good = await run([{ connect: {} }, { send: 'good\r\n' }, { expect: { string: 'ERR', negate: true, minRecv: 3 } }], srv.port);
      expect(good).toMatchObject({ ok: true, status: 'L7OK', reason: 'Layer7 check passed', code: 0, info: '(tcp-check)', step: 3 });
    } finally {
      await srv.close();
    }
  });

  it('binary and rbinary match bytes (rbinary on the upper-case hex of the reply); send-binary sends bytes', async () => {
    const got: Buffer[] = [];
    const srv = await scripted(() => undefined, (s, d) => {
      got.push(d);
      s.write(Buffer.from([0x01, 0x02, 0xab, 0x00, 0x7f]));
    });
    try {
      expect(await run([{ connect: {} }, { sendBinary: '50494e470d0a' }, { expect: { binary: '02AB00' } }], srv.port)).toMatchObject({ ok: true });
      expect(got[0]!.toString()).toBe('PING\r\n');
      expect(await run([{ connect: {} }, { sendBinary: '00' }, { expect: { rbinary: '^0102AB' } }], srv.port)).toMatchObject({ ok: true });
      expect(await run([{ connect: {} }, { sendBinary: '00' }, { expect: { binary: 'ffff', minRecv: 0 } }], srv.port)).toMatchObject({ ok: false, info: 'TCPCHK did not match content (binary) at step 3' });
      expect(await run([{ connect: {} }, { sendBinary: '00' }, { expect: { rbinary: '^FF', minRecv: 0 } }], srv.port)).toMatchObject({ ok: false, info: 'TCPCHK did not match content (binary regex) at step 3' });
    } finally {
      await srv.close();
    }
  });

  it('set-var, send-lf and a connect port from a variable', async () => {
    const echo = await scripted(() => undefined, (s, d) => s.write(d));
    try {
      const r = await run(
        [
          { setVar: { name: 'check.port', expr: `int(${echo.port})` } },
          { setVarFmt: { name: 'check.who', format: 'wor%[str(ld)]' } },
          { connect: { port: 'var(check.port)' } },
          { sendLf: 'hello %[var(check.who)] %[var(check.none)] %[str(abc),hex]\r\n' },
          { expect: { stringLf: 'hello %[var(check.who)]' } },
          { expect: { string: 'hello world - 616263' } },
        ],
        1,
      );
      expect(r).toMatchObject({ ok: true, step: 6 });
    } finally {
      await echo.close();
    }
  });

  it('two connections in one check: each connect opens its own, a refused second one says which port', async () => {
    const a = await scripted((s) => s.write('+OK POP3 ready\r\n'));
    const gone = await refusedPort();
    try {
      const rules: TcpCheckRuleConfig[] = [{ connect: { port: a.port, linger: true } }, { expect: { string: '+OK POP3 ready' } }, { connect: { port: gone } }, { expect: { string: '* OK IMAP4 ready' } }];
      expect(await run(rules, 1)).toMatchObject({ ok: false, status: 'L4CON', info: `Connection refused at step 3 of tcp-check (connect port ${gone})` });
      expect(await run(rules.slice(0, 2), 1)).toMatchObject({ ok: true, status: 'L7OK', step: 2 });
      expect(await run([{ connect: { port: a.port } }], 1)).toMatchObject({ ok: true, status: 'L4OK', reason: 'Layer4 check passed', info: '(tcp-check)', step: 1 });
    } finally {
      await a.close();
    }
  });

  it('on-error and on-success log-formats, error-status and status-code', async () => {
    const srv = await scripted(() => undefined, (s, d) => s.write(d.toString().startsWith('bad') ? '550 mailbox unavailable\r\n' : '250 all good\r\n'));
    try {
      const expect250 = { rstring: '^2[0-9]{2} ', minRecv: 4, errorStatus: 'L7STS' as const, onError: "%[res.payload(4,0),ltrim(' '),cut_crlf]", onSuccess: '%[res.payload(4,0),cut_crlf] (%[res.len] bytes)', statusCode: 'res.payload(0,3)' };
      expect(await run([{ connect: {} }, { send: 'bad\r\n' }, { expect: expect250 }], srv.port)).toMatchObject({ ok: false, status: 'L7STS', reason: 'Layer7 wrong status', code: 550, info: 'mailbox unavailable' });
      expect(await run([{ connect: {} }, { send: 'good\r\n' }, { expect: expect250 }], srv.port)).toMatchObject({ ok: true, status: 'L7OK', code: 250, info: 'all good (14 bytes)' });
    } finally {
      await srv.close();
    }
  });

  it('a server that closes without a byte: "TCPCHK got an empty response"', async () => {
    const srv = await scripted(() => undefined, (s) => s.end());
    try {
      expect(await run([{ connect: {} }, { send: 'x' }, { expect: { string: 'y' } }], srv.port)).toMatchObject({ ok: false, status: 'L7RSP', info: 'TCPCHK got an empty response at step 3' });
    } finally {
      await srv.close();
    }
  });

  it('refuses rules it cannot run, naming the rule (SWY_ERR_HEALTH_BAD_OPTION)', () => {
    const kind = new TcpRulesHealthCheck();
    const bad = (tcpCheck: unknown[]): string => {
      try {
        kind.compile({ ...DEFAULT_HEALTH_CHECK, type: 'tcp-check', tcpCheck } as never, 'backends.redis');
        return 'compiled';
      } catch (err) {
        return `${(err as { code: string }).code}: ${(err as Error).message}`;
      }
    };
    expect(bad([{ connect: {} }, { expect: { rstring: '(' } }])).toMatch(/^SWY_ERR_HEALTH_BAD_OPTION: backends\.redis: healthCheck\.tcpCheck\[1\]: expect\.rstring: not a valid regular expression/);
    expect(bad([{ send: 'x', sendBinary: '00' }])).toBe('SWY_ERR_HEALTH_BAD_OPTION: backends.redis: healthCheck.tcpCheck[0]: a rule holds one action (got send, sendBinary)');
    expect(bad([{ sendBinary: 'abc' }])).toBe('SWY_ERR_HEALTH_BAD_OPTION: backends.redis: healthCheck.tcpCheck[0]: sendBinary: "abc" is not an even number of hexadecimal digits');
    expect(bad([{ sendLf: '%[nosuch()]' }])).toMatch(/^SWY_ERR_HEALTH_BAD_OPTION: backends\.redis: healthCheck\.tcpCheck\[0\]: sendLf: unknown fetch "nosuch"/);
    expect(bad([{ expect: { string: 'a', binary: '00' } }])).toBe('SWY_ERR_HEALTH_BAD_OPTION: backends.redis: healthCheck.tcpCheck[0]: expect needs exactly one of string, rstring, binary, rbinary, stringLf, binaryLf (got string, binary)');
    expect(bad([{ setVar: { name: 'txn.x', expr: 'int(1)' } }])).toMatch(/variable "txn\.x"/);
  });
});

describe('TLS in checks: connect ssl and ssl-hello-chk against a real TLS server', () => {
  let server: tls.Server;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swy-tcpchk-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    server = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert), ALPNProtocols: ['redis', 'http/1.1'] }, (s) => {
      s.on('error', () => undefined);
      s.on('data', (d) => s.write(`${s.alpnProtocol || 'none'} ${s.servername || 'nosni'} ${d.toString()}`));
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('connect ssl with sni and alpn, then send/expect over TLS', async () => {
    expect(await run([{ connect: { ssl: true } }], port)).toMatchObject({ ok: true, status: 'L6OK', reason: 'Layer6 check passed', info: '(tcp-check)' });
    expect(await run([{ connect: { ssl: true, sni: 'db.example', alpn: ['redis'] } }, { send: 'PING' }, { expect: { string: 'redis db.example PING' } }], port)).toMatchObject({ ok: true, status: 'L7OK' });
  });

  it('ssl-hello-chk: a TLS server answers the SSLv3 CLIENT HELLO with a TLS record; a plain one does not', async () => {
    const kind = protocolKinds()['ssl-hello-chk']!;
    const probe = kind.compile({ ...DEFAULT_HEALTH_CHECK, type: 'ssl-hello-chk' } as never, 'backends.tls');
    expect(await probe({ server: SERVER, host: '127.0.0.1', port, timeout: 1500 })).toMatchObject({ ok: true, status: 'L6OK', reason: 'Layer6 check passed' });
    const plain = await scripted(() => undefined, (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      expect(await probe({ server: SERVER, host: '127.0.0.1', port: plain.port, timeout: 1500 })).toMatchObject({ ok: false, status: 'L6RSP', reason: 'Layer6 invalid response' });
    } finally {
      await plain.close();
    }
  });
});

describe('smtpchk and ldap-check speak their protocols (scripted servers)', () => {
  it('smtpchk: banner 220, then HELO answered 250 — the 250 text is the info; a 554 banner fails with its code', async () => {
    const heard: string[] = [];
    const ok = await scripted((s) => s.write('220 mx.example ESMTP ready\r\n'), (s, d) => {
      heard.push(d.toString());
      s.write('250 mx.example greets you\r\n');
    });
    const busy = await scripted((s) => s.end('554 no service\r\n'));
    try {
      const smtp = protocolKinds().smtpchk!;
      const probe = smtp.compile({ ...DEFAULT_HEALTH_CHECK, type: 'smtpchk', smtp: { hello: 'EHLO', domain: 'proxy.example' } } as never, 'backends.mail');
      expect(await probe({ server: SERVER, host: '127.0.0.1', port: ok.port, timeout: 1500 })).toMatchObject({ ok: true, status: 'L7OK', code: 250, info: 'mx.example greets you' });
      expect(heard).toEqual(['EHLO proxy.example\r\n']);
      expect(await probe({ server: SERVER, host: '127.0.0.1', port: busy.port, timeout: 1500 })).toMatchObject({ ok: false, status: 'L7STS', reason: 'Layer7 wrong status', code: 554, info: 'no service' });
    } finally {
      await ok.close();
      await busy.close();
    }
  });

  it('ldap-check: sends an anonymous simple bind; resultCode 0 passes, 49 fails with its code', async () => {
    const bindRequest: Buffer[] = [];
    const reply = (code: number) => Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00]);
    const good = await scripted(() => undefined, (s, d) => {
      bindRequest.push(d);
      s.write(reply(0));
    });
    const denied = await scripted(() => undefined, (s) => s.write(reply(49)));
    try {
      const probe = protocolKinds()['ldap-check']!.compile({ ...DEFAULT_HEALTH_CHECK, type: 'ldap-check' } as never, 'backends.ldap');
      expect(await probe({ server: SERVER, host: '127.0.0.1', port: good.port, timeout: 1500 })).toMatchObject({ ok: true, status: 'L7OK', info: 'Success' });
      expect(bindRequest[0]!.toString('hex')).toBe('300c020101600702010304008000');
      expect(await probe({ server: SERVER, host: '127.0.0.1', port: denied.port, timeout: 1500 })).toMatchObject({ ok: false, status: 'L7STS', code: 49, info: 'See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9' });
    } finally {
      await good.close();
      await denied.close();
    }
  });
});
