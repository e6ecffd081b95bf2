import { AsyncSeriesBailHook } from 'tapable';
import type { GatewayApi, HttpExchange, ServerState, SwitchyardError } from '@switchyard/sdk';

/** Why an attempt failed, in HAProxy's `retry-on` words (plus `status` and `other`). */
export type AttemptFailureCause = 'conn-failure' | 'empty-response' | 'junk-response' | 'response-timeout' | 'status' | 'other';

/** An attempt that failed before anything of the response reached the client. */
export interface ForwardAttemptFailure {
  /** The coded error the client would get if nothing retries. */
  readonly error: SwitchyardError;
  readonly cause: AttemptFailureCause;
  /** The status that was discarded (cause `status`), else 0. */
  readonly status: number;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The server the failed attempt went to. */
  readonly server: ServerState;
  /** Nothing reached the server (the connection was refused or never opened): safe to send whatever the method. */
  readonly notSent: boolean;
  /** The request can be sent again: it has no body, or a plan holds the body. */
  readonly bodyReplayable: boolean;
}

/**
 * What a `prepare` tap hands the forwarder for one exchange so it can send the request
 * more than once. The forwarder sends `body` on every attempt instead of streaming the
 * client request, and treats `retryStatuses` as failed attempts while `attemptsLeft > 0`.
 */
export interface ReplayPlan {
  /** The whole request body (null: none). */
  body: Buffer | null;
  /** Response statuses that count as a failed attempt, or null. */
  retryStatuses: ReadonlySet<number> | null;
  /** Retries still allowed; the tap that retries decrements it. */
  attemptsLeft: number;
}

/**
 * The HTTP forwarder's own extension points (webpack's `getHooks(owner)` pattern): a
 * retries plugin taps them instead of wrapping the forwarder. Untapped, the forwarder
 * takes its plain path and never calls them.
 */
export interface HttpForwarderHooks {
  /** Once per exchange before the first attempt: may read a small body and return a plan. */
  readonly prepare: AsyncSeriesBailHook<[HttpExchange], ReplayPlan | undefined>;
  /**
   * An attempt failed before the response head reached the client. A tap may move the
   * exchange to another server (releaseServer + acquireServer) and return true: the
   * forwarder then sends the request again to `ex.server`. Otherwise the client gets the error.
   */
  readonly attemptFailed: AsyncSeriesBailHook<[HttpExchange, ForwardAttemptFailure, ReplayPlan | undefined], true | undefined>;
  /**
   * Names of the backends whose exchanges go through `prepare`/`attemptFailed`; a plugin
   * that taps them adds its backends in `apply`. Other backends keep the plain path.
   */
  readonly attemptBackends: Set<string>;
}

// Kept on a global symbol so two installed copies of this package (a plugin built against
// another version) still share one set of hooks per gateway, as undici does for its errors.
const kHooks = Symbol.for('switchyard.http-forwarder.hooks');
const registry = globalThis as typeof globalThis & { [kHooks]?: WeakMap<GatewayApi, HttpForwarderHooks> };
const hooksByGateway = (registry[kHooks] ??= new WeakMap<GatewayApi, HttpForwarderHooks>());

/** The forwarder hooks of a gateway (created on first use). Tap them in `apply` only. */
export function getHttpForwarderHooks(gateway: GatewayApi): HttpForwarderHooks {
  let hooks = hooksByGateway.get(gateway);
  if (hooks === undefined) {
    hooks = Object.freeze({
      prepare: new AsyncSeriesBailHook<[HttpExchange], ReplayPlan | undefined>(['exchange']),
      attemptFailed: new AsyncSeriesBailHook<[HttpExchange, ForwardAttemptFailure, ReplayPlan | undefined], true | undefined>(['exchange', 'failure', 'plan']),
      attemptBackends: new Set<string>(),
    });
    hooksByGateway.set(gateway, hooks);
  }
  return hooks;
}
