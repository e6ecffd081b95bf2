import type { AsyncSeriesBailHook, SyncBailHook, SyncHook, SyncWaterfallHook } from 'tapable';
import type { SecureContext } from 'node:tls';
import type { Connection, Exchange, HttpExchange, ResponseHead } from './exchange';
import type { FrontendState, ServerState } from './state';
import type { BindConfig } from './config';

/** What the `tls` hook's taps see during a handshake. */
export interface TlsHello {
  readonly frontend: FrontendState;
  readonly servername: string;
  /** The bind (listening address) the handshake arrived on, as configured. */
  readonly bind?: BindConfig;
}

/**
 * What a `route` tap answers to end routing: the first answer wins.
 * - `{ backend }`: send the exchange to that backend.
 * - `{ handled: true }`: the tap already answered the client (respond(), a redirect…),
 *   or closed the TCP session; nothing more happens but the log.
 */
export type RouteDecision = { backend: string } | { handled: true };

/**
 * The seven lifecycle hooks. Tap them in a plugin's `apply` step only — never per
 * request — and order taps with `stage` (see Stage).
 */
export interface Hooks {
  /** A client connection arrives. Return `false` to refuse it (the socket is closed). */
  readonly accept: AsyncSeriesBailHook<[Connection], false | undefined>;
  /** TLS handshake with SNI: return a SecureContext to serve, or undefined for the default. */
  readonly tls: AsyncSeriesBailHook<[TlsHello], SecureContext | undefined>;
  /** A request (or TCP session) is ready: pick a backend or answer it. */
  readonly route: AsyncSeriesBailHook<[Exchange], RouteDecision | undefined>;
  /** Override the backend's balancing policy (stickiness): return a server or undefined. */
  readonly selectServer: SyncBailHook<[Exchange], ServerState | undefined>;
  /** The exchange with the chosen server. A forwarder returns `true` once it owns the exchange. */
  readonly forward: AsyncSeriesBailHook<[Exchange], true | undefined>;
  /** The response head on its way back: each tap returns the (possibly rewritten) head. */
  readonly respond: SyncWaterfallHook<[ResponseHead, HttpExchange]>;
  /** The exchange is over (any outcome). */
  readonly log: SyncHook<[Exchange]>;
}

export type HookName = keyof Hooks;

export const HOOK_NAMES: ReadonlyArray<HookName> = Object.freeze([
  'accept',
  'tls',
  'route',
  'selectServer',
  'forward',
  'respond',
  'log',
] as const);

/**
 * Stage constants order taps within a hook (lower runs first), like Kong's PRIORITY.
 * Leave gaps: a plugin may use `Stage.AUTH + 10` to run just after authentication.
 */
export const Stage = Object.freeze({
  /** Connection-level facts that everything after relies on (PROXY protocol, real client address). */
  CONNECTION: -400,
  /** Allow/deny by address or connection rate, before any work. */
  SECURITY: -300,
  /** Authentication (basic, JWT, forward auth, API keys). */
  AUTH: -200,
  /** Rate limits and quotas, once the caller is known. */
  RATE_LIMIT: -100,
  /** Ordinary taps. */
  DEFAULT: 0,
  /** Cache lookup: after auth and limits, before backend choice. */
  CACHE: 100,
  /** Backend choice (use_backend, routes). */
  ROUTING: 200,
  /** Request/response header rewrites just before the exchange. */
  REWRITE: 300,
  /** Retries wrap the forwarder. */
  RETRY: 900,
  /** The forwarder itself (HTTP or TCP). */
  FORWARDER: 1000,
  /** Observers that must see the final state (metrics, access log). */
  OBSERVE: 2000,
});
