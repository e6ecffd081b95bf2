import { FAILED_ATTEMPTS, definePlugin, type BackendState, type Exchange, type GatewayApi, type ServerState } from '@switchyard/sdk';
import { getHttpForwarderHooks, type ForwardAttemptFailure, type ReplayPlan } from '@switchyard/plugin-http-forwarder';
import { getTcpForwarderHooks } from '@switchyard/plugin-tcp-forwarder';
import { backendOptions, compilePolicy, redispatchOn, type RetriesOptions, type RetryCause, type RetryPolicy } from './policy';
import { retriesSchema } from './schema';
import { readBody } from './body';

export { compilePolicy, redispatchOn, type RetriesOptions, type RetryPolicy };

export const NAME = '@switchyard/plugin-retries';

/** A failed attempt, as recorded in `exchange.vars` under the SDK's FAILED_ATTEMPTS key (passive health reads it). */
export interface FailedAttempt {
  readonly server: ServerState;
  readonly code: string;
  readonly cause: ForwardAttemptFailure['cause'];
  readonly status: number;
}

/** @deprecated the key's id; use FAILED_ATTEMPTS from @switchyard/sdk. */
export const FAILED_ATTEMPTS_VAR = FAILED_ATTEMPTS.id;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function hasOtherAvailable(be: BackendState, avoid: ServerState): boolean {
  for (const s of be.servers) if (s !== avoid && s.available) return true;
  return false;
}

/** Takes a slot on a server other than `avoid` when there is one (the policy turns, so a few tries find it). */
async function acquireOther(gateway: GatewayApi, ex: Exchange, avoid: ServerState): Promise<void> {
  const be = ex.backend!;
  for (let i = 0; i <= be.servers.length; i++) {
    const s = await gateway.acquireServer(ex);
    if (s !== avoid || !hasOtherAvailable(be, avoid)) return;
    gateway.releaseServer(ex);
  }
  await gateway.acquireServer(ex);
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.4',
  core: '>=0.1.2 <1.0.0',
  description: 'Retries failed HTTP attempts where replay is safe, on the same server then another (redispatch).',
  schema: {
    backend: { retries: retriesSchema },
    defaults: { retries: retriesSchema },
  },
  apply(gateway) {
    const defaults = gateway.config.defaults.retries as RetriesOptions | undefined;
    const policies = new Map<BackendState, RetryPolicy>();
    for (const be of gateway.backends.values()) {
      const o = backendOptions(be.config, defaults);
      if (o !== undefined) policies.set(be, compilePolicy(o));
    }
    if (policies.size === 0) return;
    const logger = gateway.logger.child({ plugin: NAME });
    const hooks = getHttpForwarderHooks(gateway);
    // Only backends with retries pay for the attempts path in the forwarder.
    for (const [be, p] of policies) if (be.mode === 'http' && p.count > 0) hooks.attemptBackends.add(be.name);

    /** Counts and records a retry, then moves the exchange to another server when it should. */
    const retry = async (ex: Exchange, p: RetryPolicy, f: Pick<FailedAttempt, 'server' | 'code' | 'cause' | 'status'>): Promise<true | undefined> => {
      ex.retries++;
      f.server.counters.errors++;
      let failed = ex.vars.get(FAILED_ATTEMPTS_VAR) as FailedAttempt[] | undefined;
      if (failed === undefined) ex.vars.set(FAILED_ATTEMPTS_VAR, (failed = []));
      failed.push({ server: f.server, code: f.code, cause: f.cause, status: f.status });
      const elsewhere = redispatchOn(p, ex.retries) || !f.server.available;
      logger.debug(
        { exchange: ex.id, server: f.server.id, cause: f.cause, code: f.code, retry: ex.retries, redispatch: elsewhere },
        `retry ${ex.retries}/${p.count} after ${f.cause} on ${f.server.id}${elsewhere ? ' (redispatch)' : ''}`,
      );
      if (elsewhere) {
        gateway.releaseServer(ex);
        try {
          await acquireOther(gateway, ex, f.server);
        } catch {
          return undefined; // no server left: the client gets the original error
        }
      } else if (p.delay > 0) {
        await sleep(p.delay);
      }
      return true;
    };

    // TCP mode: only failed connects, which never carried a byte, are retried.
    getTcpForwarderHooks(gateway).connectFailed.tapPromise({ name: NAME }, async (ex, f) => {
      const p = policies.get(ex.backend!);
      if (p === undefined || ex.retries >= p.count || !p.causes.has('conn-failure')) return undefined;
      return retry(ex, p, { server: f.server, code: f.error.code, cause: 'conn-failure', status: 0 });
    });

    hooks.prepare.tapPromise({ name: NAME }, async (ex): Promise<ReplayPlan | undefined> => {
      const p = policies.get(ex.backend!);
      if (p === undefined || p.count === 0 || ex.backend!.mode !== 'http') return undefined;
      const statuses = p.idempotent.has(ex.method) ? p.statuses : null;
      const length = ex.headers['content-length'];
      if (!ex.hasBody) {
        return { body: null, retryStatuses: statuses, attemptsLeft: p.count };
      }
      if (length === undefined || !/^\d+$/.test(length) || Number(length) > p.maxBodySize) return undefined; // streams; never replayed
      const body = await readBody(ex.body, Number(length), ex.server!.id);
      return { body, retryStatuses: statuses, attemptsLeft: p.count };
    });

    hooks.attemptFailed.tapPromise({ name: NAME }, async (ex, f, plan): Promise<true | undefined> => {
      const p = policies.get(ex.backend!);
      if (p === undefined || ex.retries >= p.count || !f.bodyReplayable) return undefined;
      const idempotent = p.idempotent.has(ex.method);
      if (f.cause === 'conn-failure') {
        if (!p.causes.has('conn-failure')) return undefined;
      } else if (f.cause === 'status') {
        if (!idempotent) return undefined;
      } else if (!idempotent || f.cause === 'other' || !p.causes.has(f.cause as RetryCause)) {
        return undefined;
      }
      if (plan !== undefined) plan.attemptsLeft = p.count - ex.retries - 1;
      return retry(ex, p, { server: f.server, code: f.error.code, cause: f.cause, status: f.status });
    });
  },
});

export default plugin;
