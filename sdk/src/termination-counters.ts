import type { Termination } from './exchange';

/**
 * HAProxy's per-proxy error counters (`econ`, `eresp`, `srv_abrt`, `cli_abrt`, `eint`) — the
 * fields the stats CSV and the Prometheus exporter both report.
 */
export interface TerminationCounters {
  connectionErrors: number;
  responseErrors: number;
  serverAborts: number;
  clientAborts: number;
  internalErrors: number;
}

/** Counts one ended exchange in the counters its termination belongs to, as HAProxy does. */
export function countTermination(c: TerminationCounters, termination: Termination): void {
  switch (termination) {
    case 'server-refused':
      c.connectionErrors++;
      break;
    case 'server-reset':
      c.responseErrors++;
      c.serverAborts++;
      break;
    case 'server-timeout':
      c.responseErrors++;
      break;
    case 'client-abort':
    case 'client-timeout':
      c.clientAborts++;
      break;
    case 'internal-error':
      c.internalErrors++;
      break;
    default:
  }
}
