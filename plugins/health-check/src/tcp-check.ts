import * as net from 'node:net';
import * as tls from 'node:tls';
import * as fs from 'node:fs';
import type { CheckResult, CheckTarget, CheckTlsOptions, HealthCheckKind, HealthCheckOptions, HealthProbe } from './types';
import { HealthErrors } from './errors';

/** Milliseconds since `start` (hrtime), rounded. */
export function since(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e6);
}

/** TLS client options compiled once per backend (the CA file is read at apply time). */
export function tlsClientOptions(options: CheckTlsOptions, where: string): tls.ConnectionOptions | null {
  if (!options.enabled) return null;
  let ca: Buffer | undefined;
  if (options.ca !== undefined) {
    try {
      ca = fs.readFileSync(options.ca);
    } catch (err) {
      throw HealthErrors.BAD_OPTION.with({ cause: err }, where, `healthCheck.tls.ca: cannot read ${options.ca}`);
    }
  }
  return { rejectUnauthorized: options.verify, ...(ca ? { ca } : {}), ...(options.sni ? { servername: options.sni } : {}) };
}

/**
 * Connects (and completes a TLS handshake when asked), then closes: HAProxy's plain
 * `check` (Layer4) or `check-ssl` without httpchk (Layer6).
 */
export class TcpHealthCheck implements HealthCheckKind {
  readonly description = 'TCP connect (and TLS handshake with tls.enabled); passes when the connection opens.';

  compile(options: HealthCheckOptions, where: string): HealthProbe {
    const tlsOptions = tlsClientOptions(options.tls, where);
    return (target) => probeTcp(target, tlsOptions);
  }
}

function probeTcp(target: CheckTarget, tlsOptions: tls.ConnectionOptions | null): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    let connected = false;
    const socket = tlsOptions
      ? tls.connect({ ...tlsOptions, host: target.host, port: target.port, servername: tlsOptions.servername ?? (net.isIP(target.host) ? undefined : target.host) })
      : net.connect({ host: target.host, port: target.port });
    const done = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => {
      done(connected ? { ok: false, reason: 'Layer6 timeout' } : { ok: false, reason: 'Layer4 timeout' });
    }, target.timeout);
    socket.once('connect', () => {
      connected = true;
      if (!tlsOptions) done({ ok: true, reason: 'Layer4 check passed' });
    });
    if (tlsOptions) socket.once('secureConnect', () => done({ ok: true, reason: 'Layer6 check passed' }));
    socket.once('error', (err: Error & { code?: string }) => {
      done(
        connected
          ? { ok: false, reason: 'Layer6 invalid response', info: err.code ?? err.message }
          : { ok: false, reason: 'Layer4 connection problem', info: connectionInfo(err) },
      );
    });
  });
}

export function connectionInfo(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED': return 'Connection refused';
    case 'ECONNRESET': return 'Connection reset by peer';
    case 'EHOSTUNREACH': return 'No route to host';
    case 'ENETUNREACH': return 'Network is unreachable';
    default: return err.code ?? err.message;
  }
}
