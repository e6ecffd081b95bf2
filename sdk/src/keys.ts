import { defineKey } from './contracts';
import type { Exchange } from './exchange';
import type { ServerState } from './state';

/**
 * Per-exchange keys that several plugins write and others read, so no single plugin owns
 * them: the SDK does (as it owns `exchange.vars`). A key one plugin owns alone lives in that
 * plugin's package instead (`HEALTH_CONTROL` in @switchyard/plugin-health-check).
 */

/** One attempt at a server that failed before the response reached the client, and was retried. */
export interface FailedAttempt {
  readonly server: ServerState;
  /** The coded error of the attempt (SWY_ERR_…). */
  readonly code: string;
  /** Why it failed: 'conn-failure', 'empty-response', 'junk-response', 'response-timeout', 'status', 'other'. */
  readonly cause: string;
  /** The status the attempt would have answered (502, 503, 504…). */
  readonly status: number;
}

/**
 * The attempts of an exchange that failed and were retried, oldest first: written by the
 * retry plugin, read by passive health, stats and the Prometheus exporter.
 */
export const FAILED_ATTEMPTS = defineKey<FailedAttempt[]>('retries.failedAttempts');

/** Retries that moved to another server (HAProxy's `wredis`): a failed attempt followed by one on a different server. */
export function countRedispatches(ex: Exchange): number {
  const failed = FAILED_ATTEMPTS.get(ex);
  if (!Array.isArray(failed)) return 0;
  let n = 0;
  for (let i = 0; i < failed.length; i++) {
    const next = i + 1 < failed.length ? failed[i + 1]!.server : ex.server;
    if (failed[i]!.server !== next) n++;
  }
  return n;
}

/** The authenticated user's name: written by each auth plugin that knows one (basic, API key, JWT `sub`). */
export const AUTH_USER = defineKey<string>('auth.user');
/** How the exchange was authenticated: 'basic', 'apikey', 'jwt', 'forward'. */
export const AUTH_METHOD = defineKey<string>('auth.method');
