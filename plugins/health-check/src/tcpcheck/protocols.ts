import { compileRules, type CustomExpect, type CustomVerdict, type ExpectRule, type Ruleset, type TcpCheckRuleConfig } from './rules';

/*
 * HAProxy 2.6's protocol checks, ported from src/tcpcheck.c (proxy_parse_*_check_opt):
 * each is a tcp-check ruleset with the same bytes, patterns, statuses and messages, run by
 * the same engine as a user's `tcp-check` rules.
 */

function customExpect(index: number, fn: CustomExpect): ExpectRule {
  return { kind: 'expect', index, match: { type: 'custom', fn }, negate: false, minRecv: -1, head: -1 };
}

/** `option redis-check`: PING, expect +PONG. */
export function redisCheck(): Ruleset {
  return compileRules(
    [
      { send: '*1\r\n$4\r\nPING\r\n' },
      { expect: { string: '+PONG\r\n', errorStatus: 'L7STS', onError: '%[res.payload(0,0),cut_crlf]', onSuccess: 'Redis server is ok' } },
    ],
    'redis-check',
  );
}

/** `option smtpchk [EHLO|HELO <domain>]`: banner 2xx, then HELO/EHLO answered 2xx. */
export function smtpCheck(hello?: { verb: 'EHLO' | 'HELO'; domain: string }): Ruleset {
  const cmd = hello ? `${hello.verb} ${hello.domain}` : 'HELO localhost';
  const rules: TcpCheckRuleConfig[] = [
    { connect: { default: true, linger: true } },
    { expect: { rstring: '^[0-9]{3}[ \r]', minRecv: 4, errorStatus: 'L7RSP', onError: '%[res.payload(0,0),cut_crlf]' } },
    { expect: { rstring: '^2[0-9]{2}[ \r]', minRecv: 4, errorStatus: 'L7STS', onError: "%[res.payload(4,0),ltrim(' '),cut_crlf]", statusCode: 'res.payload(0,3)' } },
    { sendLf: '%[var(check.smtp_cmd)]\r\n' },
    {
      expect: {
        rstring: '^2[0-9]{2}[- \r]', minRecv: 4, errorStatus: 'L7STS',
        onError: "%[res.payload(4,0),ltrim(' '),cut_crlf]", onSuccess: "%[res.payload(4,0),ltrim(' '),cut_crlf]", statusCode: 'res.payload(0,3)',
      },
    },
  ];
  return compileRules(rules, 'smtpchk', [['check.smtp_cmd', Buffer.from(cmd, 'latin1')]]);
}

/** `option pgsql-check user <u>`: a v3.0 StartupMessage; no ErrorResponse, an AuthenticationOk/MD5/cleartext request passes. */
export function pgsqlCheck(user: string): Ruleset {
  const rules: TcpCheckRuleConfig[] = [
    { connect: { default: true, linger: true } },
    // length, protocol 3.0, "user", the user name, and the final NUL of the parameter list.
    { sendBinaryLf: '%[var(check.plen),htonl,hex]' + '00030000' + '7573657200' + '%[var(check.username),hex]00' + '00' },
    { expect: { rstring: '^E', negate: true, minRecv: 5, errorStatus: 'L7RSP', onError: '%[res.payload(6,0)]' } },
    {
      expect: {
        rbinary: '^52000000(08|0A|0C)000000(00|02|03|04|05|06)', minRecv: 9, errorStatus: 'L7STS',
        onSuccess: 'PostgreSQL server is ok', onError: 'PostgreSQL unknown error',
      },
    },
  ];
  return compileRules(rules, 'pgsql-check', [
    ['check.username', Buffer.from(user, 'latin1')],
    ['check.plen', 15 + Buffer.byteLength(user, 'latin1')],
  ]);
}

/** Parses one MySQL packet at `offset` (tcpcheck_mysql_expect_packet). */
function mysqlPacket(input: Buffer, offset: number, lastRead: boolean, isLast: boolean): CustomVerdict {
  if (input.length < offset + 4) return lastRead ? { ret: 'stop', status: 'L7RSP' } : { ret: 'wait' };
  const plen = input[offset]! + (input[offset + 1]! << 8) + (input[offset + 2]! << 16);
  if (input.length < offset + plen + 4) return lastRead ? { ret: 'stop', status: 'L7RSP' } : { ret: 'wait' };
  if (input[offset + 4] === 0xff) {
    // An ERR packet: 0xff, the error code (LE16), then the message.
    const code = input[offset + 5]! + (input[offset + 6]! << 8);
    const rest = input.subarray(offset + 7);
    const z = rest.indexOf(0);
    return { ret: 'stop', status: 'L7STS', code, info: (z === -1 ? rest : rest.subarray(0, z)).toString('latin1') };
  }
  if (!isLast) return { ret: 'continue' };
  // The server version (NUL-terminated, after the protocol byte of the handshake) is the info.
  const v = input.subarray(5);
  const z = v.indexOf(0);
  return { ret: 'pass', status: 'L7OK', info: (z === -1 ? v : v.subarray(0, z)).toString('latin1') };
}

const mysqlInitialHandshake: CustomExpect = (input, lastRead, isLast) => mysqlPacket(input, 0, lastRead, isLast);
const mysqlOk: CustomExpect = (input, lastRead, isLast) => {
  if (input.length < 4) return lastRead ? { ret: 'stop', status: 'L7RSP' } : { ret: 'wait' };
  const hslen = 4 + input[0]! + (input[1]! << 8) + (input[2]! << 16);
  return mysqlPacket(input, hslen, lastRead, isLast);
};

/**
 * `option mysql-check [user <u> [post-41|pre-41]]`: without a user, the server's initial
 * handshake must not be an error; with one, a client authentication packet (no password)
 * and COM_QUIT are sent and the server must answer OK.
 */
export function mysqlCheck(user?: string, variant: 'post-41' | 'pre-41' = 'post-41'): Ruleset {
  const rules: Array<TcpCheckRuleConfig | ExpectRule> = [{ connect: { default: true, linger: true } }];
  const preset: Array<[string, Buffer | number]> = [];
  if (user !== undefined) {
    const userlen = Buffer.byteLength(user, 'latin1');
    const packetlen = variant === 'post-41' ? userlen + 7 + 27 : userlen + 7;
    const hdr = Buffer.from([packetlen & 0xff, (packetlen >> 8) & 0xff, (packetlen >> 16) & 0xff, 1]);
    preset.push(['check.header', hdr], ['check.username', Buffer.from(user, 'latin1')]);
    const body = variant === 'post-41'
      ? '00820000' + '00800001' + '21' + '00'.repeat(23) + '%[var(check.username),hex]00' + '00' + '010000' + '00' + '01'
      : '0080' + '000001' + '%[var(check.username),hex]00' + '00' + '010000' + '00' + '01';
    rules.push({ sendBinaryLf: '%[var(check.header),hex]' + body });
  }
  rules.push(customExpect(rules.length, mysqlInitialHandshake));
  if (user !== undefined) rules.push(customExpect(rules.length, mysqlOk));
  return compileRules(rules, 'mysql-check', preset);
}

/** The bind response check of `option ldap-check` (tcpcheck_ldap_expect_bindrsp). */
const ldapBindResponse: CustomExpect = (input, lastRead) => {
  const notLdap: CustomVerdict = { ret: 'stop', status: 'L7RSP', info: 'Not LDAPv3 protocol' };
  const short = (): CustomVerdict => (lastRead ? { ret: 'stop', status: 'L7RSP' } : { ret: 'wait' });
  let p = 1;
  if (input.length < 2) return short();
  let nbytes = 0;
  let msglen: number;
  if (input[p]! & 0x80) {
    nbytes = input[p]! & 0x7f;
    if (input.length < 1 + nbytes) return short();
    if (nbytes === 4) msglen = input.readUInt32BE(p + 1);
    else if (nbytes === 2) msglen = input.readUInt16BE(p + 1);
    else return notLdap;
  } else msglen = input[p]!;
  p += 1 + nbytes;
  if (input.length < 2 + nbytes + msglen) return short();
  // messageID INTEGER 1, then protocolOp bindResponse (0x61).
  if (!input.subarray(p, p + 4).equals(Buffer.from([0x02, 0x01, 0x01, 0x61]))) return notLdap;
  p += 4;
  nbytes = input[p]! & 0x80 ? input[p]! & 0x7f : 0;
  p += 1 + nbytes;
  // ldapResult: ENUMERATED resultCode.
  if (input[p] !== 0x0a || input[p + 1] !== 0x01) return notLdap;
  p += 2;
  const code = input[p]!;
  if (code !== 0) return { ret: 'stop', status: 'L7STS', code, info: 'See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9' };
  return { ret: 'pass', status: 'L7OK', info: 'Success' };
};

/** `option ldap-check`: an anonymous LDAPv3 simple bind; the bind response must say success. */
export function ldapCheck(): Ruleset {
  return compileRules(
    [
      { sendBinary: '300C020101600702010304008000' },
      { expect: { rbinary: '^30', minRecv: 14, onError: 'Not LDAPv3 protocol' } },
      customExpect(2, ldapBindResponse),
    ],
    'ldap-check',
  );
}

/** The 39 most common SSLv3 ciphers HAProxy offers: 0x01-0x1B and 0x2F-0x3A. */
const SSL_HELLO_CIPHERS = [...Array.from({ length: 0x1b }, (_, i) => i + 1), ...Array.from({ length: 12 }, (_, i) => 0x2f + i)]
  .map((c) => c.toString(16).toUpperCase().padStart(4, '0'))
  .join('');

/** `option ssl-hello-chk`: an SSLv3 CLIENT HELLO; a handshake (0x16) or alert (0x15) record back passes. */
export function sslHelloCheck(): Ruleset {
  const hello =
    '16' + '0300' + '0079' + '01' + '000075' + '0300' +
    '%[date(),htonl,hex]' +
    '%[str(HAPROXYSSLCHK\nHAPROXYSSLCHK\n),hex]' +
    '00' + '004E' +
    SSL_HELLO_CIPHERS +
    '01' + '00';
  return compileRules(
    [
      { sendBinaryLf: hello },
      { expect: { rbinary: '^1[56]', minRecv: 5, okStatus: 'L6OK', errorStatus: 'L6RSP', toutStatus: 'L6TOUT' } },
    ],
    'ssl-hello-chk',
  );
}
