import type { HealthCheckKind, HealthCheckOptions, HealthProbe } from '../types';
import { HealthErrors } from '../errors';
import { tlsClientOptions } from '../tcp-check';
import { runTcpCheck, type ProcVars } from './engine';
import { compileRules, RuleError, type Ruleset } from './rules';
import { ldapCheck, mysqlCheck, pgsqlCheck, redisCheck, smtpCheck, sslHelloCheck } from './protocols';

/** `proc.` variables: one map per kind instance, i.e. per gateway (the slot holds one instance). */
function probeFor(rs: Ruleset, options: HealthCheckOptions, where: string, procVars: ProcVars): HealthProbe {
  const tls = tlsClientOptions(options.tls, where);
  return (target) => runTcpCheck(rs, target, { tls, sendProxy: target.server.config.sendProxy ?? null }, procVars);
}

/** HAProxy's `option tcp-check` with `tcp-check` rules (`healthCheck.tcpCheck`). */
export class TcpRulesHealthCheck implements HealthCheckKind {
  readonly description = 'HAProxy tcp-check rule sequence: connect, send, expect (string, rstring, binary, rbinary, !), set-var, comment.';
  readonly #procVars: ProcVars = new Map();

  compile(options: HealthCheckOptions, where: string): HealthProbe {
    let rs: Ruleset;
    try {
      rs = compileRules(options.tcpCheck ?? []);
    } catch (err) {
      if (err instanceof RuleError) throw HealthErrors.BAD_OPTION.with({ cause: err }, where, `healthCheck.tcpCheck[${err.ruleIndex}]: ${err.message}`);
      throw err;
    }
    return probeFor(rs, options, where, this.#procVars);
  }
}

/** A protocol check: a fixed ruleset built from the kind's own options. */
export class ProtocolHealthCheck implements HealthCheckKind {
  readonly #build: (options: HealthCheckOptions, where: string) => Ruleset;
  readonly #procVars: ProcVars = new Map();
  readonly description: string;

  constructor(description: string, build: (options: HealthCheckOptions, where: string) => Ruleset) {
    this.description = description;
    this.#build = build;
  }

  compile(options: HealthCheckOptions, where: string): HealthProbe {
    return probeFor(this.#build(options, where), options, where, this.#procVars);
  }
}

/** The protocol kinds by HAProxy option name. */
export function protocolKinds(): Record<string, ProtocolHealthCheck> {
  return {
    'redis-check': new ProtocolHealthCheck('Redis PING answered +PONG (option redis-check).', () => redisCheck()),
    'mysql-check': new ProtocolHealthCheck('MySQL/MariaDB handshake, and a login without password with mysql.user (option mysql-check).', (o) =>
      mysqlCheck(o.mysql?.user, o.mysql?.variant ?? 'post-41'),
    ),
    'pgsql-check': new ProtocolHealthCheck('PostgreSQL StartupMessage answered without error (option pgsql-check user).', (o, where) => {
      if (!o.pgsql?.user) throw HealthErrors.BAD_OPTION(where, 'healthCheck.pgsql.user is required by a pgsql-check (HAProxy: option pgsql-check user <username>)');
      return pgsqlCheck(o.pgsql.user);
    }),
    smtpchk: new ProtocolHealthCheck('SMTP banner and HELO/EHLO answered 2xx (option smtpchk).', (o, where) => {
      const s = o.smtp;
      if (s?.hello !== undefined && !s.domain) throw HealthErrors.BAD_OPTION(where, 'healthCheck.smtp.domain is required with smtp.hello');
      return smtpCheck(s?.hello !== undefined ? { verb: s.hello, domain: s.domain! } : undefined);
    }),
    'ldap-check': new ProtocolHealthCheck('LDAPv3 anonymous bind answered success (option ldap-check).', () => ldapCheck()),
    'ssl-hello-chk': new ProtocolHealthCheck('SSLv3 CLIENT HELLO answered by a TLS record (option ssl-hello-chk).', () => sslHelloCheck()),
  };
}
