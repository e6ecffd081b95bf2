import { Stage, definePlugin, type Exchange, type FrontendState, type GatewayApi, type HttpExchange, type RouteDecision } from '@switchyard/sdk';
import { PROMETHEUS } from './contract';
import { configSchema, frontendSchema, type FrontendMetricsConfig, type PrometheusConfig } from './schema';
import { PrometheusErrors } from './errors';
import { HaproxyMetrics } from './haproxy-metrics';
import { timeHooks } from './hook-timing';
import { GatewayMetrics } from './metrics';
import { MetricsServer } from './server';

export { GatewayMetrics, DURATION_BUCKETS, HOOK_BUCKETS, FAILED_ATTEMPTS_VAR, countRedispatches } from './metrics';
export { FastHistogram, HistogramChild } from './histogram';
export { timeHooks } from './hook-timing';
export { HaproxyMetrics } from './haproxy-metrics';
export { PrometheusErrors } from './errors';

export { PROMETHEUS, type PrometheusService } from './contract';
/** @deprecated PROMETHEUS's id (the string-keyed container); use the typed token PROMETHEUS. */
export const PROMETHEUS_SERVICE = PROMETHEUS.id;

export type { PrometheusConfig };


/** @switchyard/plugin-acl's compiler slot key, when that optional peer is installed (its contract entry, no plugin code). */
function aclCompilerSlot(): typeof import('@switchyard/plugin-acl/contract').ACL_COMPILER | undefined {
  try {
    return (require('@switchyard/plugin-acl/contract') as typeof import('@switchyard/plugin-acl/contract')).ACL_COMPILER;
  } catch {
    return undefined;
  }
}

/** The route tap that answers the metrics on frontends that ask for them (HAProxy's use-service). */
function serveOnFrontends(gateway: GatewayApi, metrics: GatewayMetrics): void {
  const served = new Map<FrontendState, { path: string | undefined; test: ((ex: Exchange) => boolean) | null }>();
  for (const fe of gateway.frontends.values()) {
    const fc = fe.config.prometheus as FrontendMetricsConfig | undefined;
    if (!fc || fe.mode !== 'http') continue;
    let test: ((ex: Exchange) => boolean) | null = null;
    if (fc.if !== undefined || fc.unless !== undefined) {
      const where = `frontends.${fe.name}.prometheus`;
      const slot = aclCompilerSlot();
      const acl = slot === undefined ? undefined : gateway.slots.get(slot, 'default');
      if (!acl) throw PrometheusErrors.NO_ACL(where);
      const c = acl.forGateway(gateway).compileRuleCondition(fe.name, { if: fc.if, unless: fc.unless }, where);
      test = c ? (ex) => c.test(ex) : null;
    }
    served.set(fe, { path: fc.path, test });
  }
  if (served.size === 0) return;
  const registry = metrics.registry;
  // Before auth plugins, like HAProxy's use-service in http-request rules; after address-based security.
  gateway.hooks.route.tap({ name: '@switchyard/plugin-prometheus', stage: Stage.AUTH - 10 }, (ex: Exchange): RouteDecision | undefined => {
    if (ex.kind !== 'http' || ex.upgrade) return undefined;
    const rule = served.get(ex.frontend);
    if (rule === undefined) return undefined;
    if (rule.path !== undefined && ex.path !== rule.path) return undefined;
    if (rule.test !== null && !rule.test(ex)) return undefined;
    const hx: HttpExchange = ex;
    registry.metrics().then(
      (text) => hx.respond(200, hx.method === 'HEAD' ? '' : text, { 'content-type': registry.contentType, 'cache-control': 'no-store' }),
      (err: unknown) => {
        gateway.logger.error({ err }, 'collecting metrics failed');
        hx.respond(500, 'collecting metrics failed\n', { 'content-type': 'text/plain' });
      },
    );
    return { handled: true };
  });
}

export const plugin = definePlugin({
  name: '@switchyard/plugin-prometheus',
  version: '0.2.5',
  core: '>=0.1.3 <1.0.0',
  description: 'Prometheus /metrics (prom-client) per frontend, backend and server, and time spent per plugin per hook.',
  configKey: 'prometheus',
  schema: { config: configSchema, frontend: { prometheus: frontendSchema } },
  apply(gateway, config) {
    const haproxy = config.naming === 'haproxy';
    // With HAProxy naming, Switchyard-only families keep their own prefix: nothing pretends to be HAProxy's.
    const metrics = new GatewayMetrics(gateway, { ...config, prefix: haproxy ? 'switchyard_' : config.prefix ?? 'switchyard_', families: !haproxy });
    // Now, not on `started`: the core compiles its pipeline (and may keep the forward taps'
    // functions) once every plugin applied; the interceptor wraps taps added after this too.
    if (config.hookTiming) timeHooks(gateway.hooks, metrics.hookDuration);
    metrics.tap();
    const haproxyMetrics = haproxy ? new HaproxyMetrics(gateway, metrics.registry, config.prefix ?? 'haproxy_') : null;
    haproxyMetrics?.tap();
    serveOnFrontends(gateway, metrics);
    const server = config.enabled ? new MetricsServer(config.listen, config.path, metrics.registry, gateway.logger, gateway) : null;
    let settle!: { resolve: (a: { host: string; port: number; url: string }) => void; reject: (e: unknown) => void };
    const ready = new Promise<{ host: string; port: number; url: string }>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => undefined);
    gateway.services.provide(PROMETHEUS, { metrics, ready });
    gateway.events.once('started', () => {
      haproxyMetrics?.start();
      if (!server) return settle.reject(new Error('the metrics endpoint is disabled (prometheus.enabled: false)'));
      server.listen().then(
        (address) => {
          gateway.logger.info({ url: address.url }, `prometheus metrics on ${address.url}`);
          settle.resolve(address);
        },
        (err: unknown) => {
          gateway.logger.error({ err }, 'metrics endpoint could not listen');
          settle.reject(err);
        },
      );
    });
    gateway.onStop(async () => {
      haproxyMetrics?.stop();
      await server?.close();
      metrics.registry.clear();
    });
  },
});

export default plugin;
