import { definePlugin, FETCH_SLOT, Stage, CLUSTER_MASTER_SLOT, type ClusterMasterSetup } from '@switchyard/sdk';
import { RateLimitErrors } from './errors';
import { RateLimits } from './limits';
import { configSchema, rateLimitsSchema, stickCountersSchema, trackSchema } from './schema';
import { STICK_TABLES } from './stick-table';
import { attachTables, StickCounterRules, StickTables, stickTableConverters, stickTableFetches } from './stick-counters';
import { provideHaproxyDirectives } from './haproxy';
import { provideTableCommands } from './table-commands';
import { CONVERTER_SLOT } from '@switchyard/plugin-acl';
import { clusterStore, startClusterStoreMaster } from './stores/cluster';
import { memoryStore } from './stores/memory';
import { redisStore } from './stores/redis';
import { stickFetches, StickTracking, trackedEntry } from './tracking';
import { RATELIMIT_STORE_SLOT, type RateLimitConfig, type RateLimitStoreProvider } from './types';

export * from './types';
export { RateLimitErrors, startClusterStoreMaster, trackedEntry };
export { cookieValue } from './keys';
export { STICK_TABLES, StickTable, FreqCounter, DATA_TYPES, DATA_TYPE_BY_NAME, parseStickTableWords, nowMs, type StickEntry, type StickTableConfig, type KeyType } from './stick-table';
export { StickTables, stickCounter, type StickRule, type StkCtr } from './stick-counters';


export const NAME = '@switchyard/plugin-rate-limit';

/** Tracking runs before the ACL's deny rules (Stage.SECURITY) so they can read sc_http_req_rate. */
export const TRACK_STAGE = Stage.SECURITY - 50;

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.10',
  core: '>=0.1.2 <1.0.0',
  description: 'Request rate limits (429 with RateLimit headers) and stick-table tracking, on rate-limiter-flexible.',
  configKey: 'rateLimit',
  schema: {
    config: configSchema,
    frontend: { rateLimits: rateLimitsSchema, track: trackSchema, stickCounters: stickCountersSchema },
  },
  register({ slots }) {
    slots.provide(RATELIMIT_STORE_SLOT, 'memory', memoryStore, { description: memoryStore.description });
    slots.provide(RATELIMIT_STORE_SLOT, 'cluster', clusterStore, { description: clusterStore.description });
    slots.provide(RATELIMIT_STORE_SLOT, 'redis', redisStore, { description: redisStore.description });
    for (const [name, def] of stickFetches()) slots.provide(FETCH_SLOT, name, def, { description: def.description });
    for (const [name, def] of stickTableFetches()) if (slots.get(FETCH_SLOT, name) === undefined) slots.provide(FETCH_SLOT, name, def, { description: def.description });
    for (const [name, def] of stickTableConverters()) if (slots.get(CONVERTER_SLOT, name) === undefined) slots.provide(CONVERTER_SLOT, name, def, { description: def.description });
    provideHaproxyDirectives(slots);
    provideTableCommands(slots);
    // Under `run --workers`, the master answers the workers' cluster-store requests.
    slots.provide<ClusterMasterSetup>(CLUSTER_MASTER_SLOT, 'rate-limit-cluster-store', { setup: () => void startClusterStoreMaster() }, {
      description: 'Starts rate-limiter-flexible\'s cluster master so `store: cluster` limits are shared by all workers.',
    });
  },
  // Sticky-counter keys and conditions are compiled here too (no store is opened), so
  // `switchyard validate` refuses an unknown fetch in a track-sc key as `run` does, at its line.
  validate(gateway, config) {
    void new StickCounterRules(gateway, new StickTables(config.tables ?? []), gateway.logger.child({ plugin: NAME }));
  },
  async apply(gateway, config) {
    const logger = gateway.logger.child({ plugin: NAME });
    const tables = new StickTables(config.tables ?? []);
    attachTables(gateway, tables);
    gateway.container.register(STICK_TABLES, { useValue: tables });
    const counters = new StickCounterRules(gateway, tables, logger);
    if (!counters.empty) {
      gateway.hooks.route.tap({ name: `${NAME}:stick-counters`, stage: TRACK_STAGE }, (ex) => counters.run(ex));
      gateway.hooks.log.tap({ name: `${NAME}:stick-counters` }, (ex) => counters.done(ex));
    }
    const anyLimits = [...gateway.frontends.values()].some(
      (fe) => ((fe.config.rateLimits as unknown[] | undefined)?.length ?? 0) > 0 || ((fe.config.track as unknown[] | undefined)?.length ?? 0) > 0,
    );
    if (!anyLimits) return;
    const provider = gateway.slots.get<RateLimitStoreProvider>(RATELIMIT_STORE_SLOT, config.store);
    if (!provider) throw RateLimitErrors.UNKNOWN_STORE(config.store, gateway.slots.names(RATELIMIT_STORE_SLOT).join(', '));
    const store = await provider.open({ gateway, logger: logger.child({ store: config.store }), config });
    let tracking: StickTracking;
    let limits: RateLimits;
    try {
      tracking = new StickTracking(gateway, store, logger);
      limits = new RateLimits(gateway, store, config, logger);
    } catch (err) {
      await store.close();
      throw err;
    }
    gateway.onStop(() => store.close());
    if (!tracking.empty) gateway.hooks.route.tapPromise({ name: NAME, stage: TRACK_STAGE }, (ex) => tracking.track(ex));
    if (!limits.empty) gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.RATE_LIMIT }, (ex) => limits.check(ex));
    if (limits.wantsHeaders) {
      gateway.hooks.respond.tap({ name: NAME, stage: Stage.REWRITE }, (head, ex) => {
        limits.addHeaders(head.headers, ex);
        return head;
      });
    }
    logger.debug({ store: store.name }, 'rate limits applied');
  },
});

export default plugin;
