import * as http2 from 'node:http2';
import { durationSchema, sizeSchema, type Logger } from '@switchyard/sdk';

/**
 * HTTP/2 session limits with HAProxy's names (`tune.h2.*`, written camelCase under
 * `global.tune.h2`) and safe defaults: what one client connection may ask of the gateway
 * before it is refused or closed. Each limit either goes to nghttp2 as a SETTINGS value or
 * session option, or is enforced here on session events.
 */
export interface Http2Tuning {
  /** tune.h2.max-concurrent-streams: SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients. */
  maxConcurrentStreams: number;
  /** tune.h2.header-table-size: SETTINGS_HEADER_TABLE_SIZE (HPACK dynamic table). */
  headerTableSize: number;
  /** tune.h2.initial-window-size: SETTINGS_INITIAL_WINDOW_SIZE for request bodies. */
  initialWindowSize: number;
  /** tune.h2.max-frame-size: SETTINGS_MAX_FRAME_SIZE. */
  maxFrameSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: a request head larger than this is refused (431). */
  maxHeaderListSize: number;
  /** tune.http.maxhdr: header fields per request (beyond it the stream is refused). */
  maxHeaderFields: number;
  /**
   * tune.h2.fe.glitches-threshold: protocol "glitches" one connection may cause before it is
   * closed with GOAWAY ENHANCE_YOUR_CALM — streams the client resets before their answer
   * (rapid reset, CVE-2023-44487), streams refused, frames nghttp2 rejects. 0 = no limit.
   */
  glitchesThreshold: number;
  /** RST_STREAM rate limit in nghttp2 (token bucket): burst, then `resetRate` per second. */
  resetBurst: number;
  resetRate: number;
  /** Invalid frames (a CONTINUATION flood among them) nghttp2 tolerates per session. */
  maxInvalidFrames: number;
  /** SETTINGS frames and PINGs a client may have outstanding (SETTINGS / PING floods). */
  maxSettings: number;
  maxOutstandingPings: number;
  /** The client must acknowledge our SETTINGS within this (RFC 9113 §6.5.3), ms. */
  settingsTimeout: number;
  /** Memory nghttp2 may use per session before refusing new streams, MB. */
  maxSessionMemory: number;
}

export const HTTP2_DEFAULTS: Readonly<Http2Tuning> = Object.freeze({
  maxConcurrentStreams: 100,
  headerTableSize: 4096,
  initialWindowSize: 65_535,
  maxFrameSize: 16_384,
  maxHeaderListSize: 65_536,
  maxHeaderFields: 101,
  glitchesThreshold: 200,
  resetBurst: 200,
  resetRate: 33,
  maxInvalidFrames: 100,
  maxSettings: 32,
  maxOutstandingPings: 10,
  settingsTimeout: 10_000,
  maxSessionMemory: 10,
});

const int = (description: string, dflt: number, minimum: number, maximum: number): Record<string, unknown> => ({
  type: 'integer', minimum, maximum, default: dflt, description,
});

/** `global.tune.h2` in the config schema. */
export const HTTP2_TUNING_SCHEMA: Record<string, unknown> = {
  type: 'object',
  default: {},
  additionalProperties: false,
  description: 'HTTP/2 session limits (HAProxy tune.h2.*), for every frontend that speaks h2.',
  properties: {
    maxConcurrentStreams: int('tune.h2.max-concurrent-streams: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).', HTTP2_DEFAULTS.maxConcurrentStreams, 1, 2 ** 31 - 1),
    headerTableSize: int('tune.h2.header-table-size: HPACK dynamic table size, bytes.', HTTP2_DEFAULTS.headerTableSize, 0, 2 ** 32 - 1),
    initialWindowSize: int('tune.h2.initial-window-size: flow-control window for request bodies, bytes.', HTTP2_DEFAULTS.initialWindowSize, 0, 2 ** 31 - 1),
    maxFrameSize: int('tune.h2.max-frame-size: largest frame payload the gateway accepts, bytes.', HTTP2_DEFAULTS.maxFrameSize, 16_384, 16_777_215),
    maxHeaderListSize: sizeSchema('Largest request head (SETTINGS_MAX_HEADER_LIST_SIZE, decoded); larger ones are refused.', HTTP2_DEFAULTS.maxHeaderListSize),
    maxHeaderFields: int('tune.http.maxhdr: header fields per request; more and the stream is refused.', HTTP2_DEFAULTS.maxHeaderFields, 1, 32_767),
    glitchesThreshold: int('tune.h2.fe.glitches-threshold: streams reset by the client before their answer (rapid reset), refused streams and rejected frames one connection may cause before it is closed with GOAWAY ENHANCE_YOUR_CALM; 0 = no limit.', HTTP2_DEFAULTS.glitchesThreshold, 0, 2 ** 31 - 1),
    resetBurst: int('RST_STREAM frames accepted in a burst (nghttp2 rate limit); then resetRate per second.', HTTP2_DEFAULTS.resetBurst, 1, 2 ** 31 - 1),
    resetRate: int('RST_STREAM frames accepted per second after the burst.', HTTP2_DEFAULTS.resetRate, 1, 2 ** 31 - 1),
    maxInvalidFrames: int('Invalid frames (a CONTINUATION flood among them) tolerated per connection before it is closed.', HTTP2_DEFAULTS.maxInvalidFrames, 0, 2 ** 31 - 1),
    maxSettings: int('SETTINGS frames a client may send without waiting for their acknowledgement (SETTINGS flood).', HTTP2_DEFAULTS.maxSettings, 1, 2 ** 31 - 1),
    maxOutstandingPings: int('PINGs a client may have unanswered (PING flood).', HTTP2_DEFAULTS.maxOutstandingPings, 1, 2 ** 31 - 1),
    settingsTimeout: durationSchema('Time the client has to acknowledge the gateway\'s SETTINGS (RFC 9113 §6.5.3); then the connection is closed.', '10s'),
    maxSessionMemory: int('Memory nghttp2 may use per connection, MB; above it new streams are refused.', HTTP2_DEFAULTS.maxSessionMemory, 1, 1024),
  },
};

/** Fills what a config leaves out (embedders and tests that build a config by hand). */
export function http2Tuning(partial: Partial<Http2Tuning> | undefined): Http2Tuning {
  return { ...HTTP2_DEFAULTS, ...(partial ?? {}) };
}

/** The node:http2 server options these limits become. */
export function http2ServerOptions(t: Http2Tuning): http2.ServerOptions & { streamResetBurst: number; streamResetRate: number } {
  return {
    maxSessionMemory: t.maxSessionMemory,
    // Node counts the 4 pseudo-headers among the pairs.
    maxHeaderListPairs: t.maxHeaderFields + 4,
    maxSettings: t.maxSettings,
    maxOutstandingPings: t.maxOutstandingPings,
    maxSessionInvalidFrames: t.maxInvalidFrames,
    maxSessionRejectedStreams: t.glitchesThreshold > 0 ? t.glitchesThreshold : 2 ** 31 - 1,
    streamResetBurst: t.resetBurst,
    streamResetRate: t.resetRate,
    settings: {
      enableConnectProtocol: false,
      maxConcurrentStreams: t.maxConcurrentStreams,
      headerTableSize: t.headerTableSize,
      initialWindowSize: t.initialWindowSize,
      maxFrameSize: t.maxFrameSize,
      maxHeaderListSize: t.maxHeaderListSize,
    },
  };
}

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_SETTINGS_TIMEOUT } = http2.constants;

/** Per-session counters kept on the session, for tests and stats. */
export interface Http2SessionGuard {
  glitches: number;
  closedFor: string | null;
}

const kGuard = Symbol('switchyard.h2.guard');

export function guardOf(session: http2.Http2Session): Http2SessionGuard | undefined {
  return (session as http2.Http2Session & { [kGuard]?: Http2SessionGuard })[kGuard];
}

/**
 * Watches one server session: the SETTINGS acknowledgement deadline, and the glitch budget
 * (a stream the client resets before its response ended, a stream nghttp2 refused, a frame
 * error). Over budget, the session gets GOAWAY ENHANCE_YOUR_CALM and is destroyed, which
 * aborts its streams (and with them their upstream requests).
 */
export function guardSession(session: http2.ServerHttp2Session, t: Http2Tuning, logger: Logger, frontend: string): void {
  const guard: Http2SessionGuard = { glitches: 0, closedFor: null };
  (session as http2.ServerHttp2Session & { [kGuard]?: Http2SessionGuard })[kGuard] = guard;
  const close = (why: string, code: number): void => {
    if (guard.closedFor !== null || session.destroyed) return;
    guard.closedFor = why;
    logger.warn({ frontend, remote: session.socket?.remoteAddress, glitches: guard.glitches }, `HTTP/2 session closed: ${why}`);
    // GOAWAY first, then the socket once it is flushed: destroying at once would drop the frame.
    session.goaway(code);
    setImmediate(() => session.destroy(undefined, code));
  };
  const glitch = (): void => {
    guard.glitches++;
    if (t.glitchesThreshold > 0 && guard.glitches >= t.glitchesThreshold) close(`${guard.glitches} glitches (tune.h2.fe.glitches-threshold ${t.glitchesThreshold}): rapid reset or protocol abuse`, NGHTTP2_ENHANCE_YOUR_CALM);
  };
  if (t.settingsTimeout > 0) {
    const timer = setTimeout(() => close(`the client did not acknowledge SETTINGS within ${t.settingsTimeout} ms`, NGHTTP2_SETTINGS_TIMEOUT), t.settingsTimeout);
    timer.unref();
    session.once('localSettings', () => clearTimeout(timer));
    session.once('close', () => clearTimeout(timer));
  }
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    // 'aborted': the stream ended (a client RST_STREAM) before the gateway finished answering.
    stream.once('aborted', () => {
      if (guard.closedFor === null && !session.destroyed) glitch();
    });
  });
  session.on('frameError', () => glitch());
}
