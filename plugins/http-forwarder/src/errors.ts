import { ForwardErrors, type SwitchyardError } from '@switchyard/sdk';

/** Maps what undici reports to the shared forward errors (refused 503, reset 502, timeout 504). */
export function forwardError(err: unknown, server: string, timeouts: { connect: number; server: number }): SwitchyardError {
  const e = err as { code?: string; message?: string };
  const detail = e.code ?? e.message ?? String(err);
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return ForwardErrors.REFUSED.with({ cause: err }, server, detail);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return ForwardErrors.CONNECT_TIMEOUT.with({ cause: err }, server, timeouts.connect);
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return ForwardErrors.TIMEOUT.with({ cause: err }, server, timeouts.server);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return ForwardErrors.RESET.with({ cause: err }, server, detail);
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return ForwardErrors.CLIENT_ABORT.with({ cause: err }, server);
    default:
      return ForwardErrors.BAD_RESPONSE.with({ cause: err }, server, detail);
  }
}
