import { definePlugin, type GatewayApi } from '@switchyard/sdk';
import { timeHooks } from './hook-timing';
import { GatewayMetrics } from './metrics';
import { MetricsServer } from './server';

export { GatewayMetrics, DURATION_BUCKETS, HOOK_BUCKETS, FAILED_ATTEMPTS_VAR, countRedispatches } from './metrics';
export { FastHistogram, HistogramChild } from './histogram';
export { timeHooks } from './hook-timing';
export { PrometheusErrors } from './errors';

/** Container token of the running metrics service. */
export const PROMETHEUS_SERVICE = 'switchyard.prometheus';

export interface PrometheusService {
  readonly metrics: GatewayMetrics;
  /** Resolves with the endpoint's address once it listens (after the gateway's `started`). */
  readonly ready: Promise<{ host: string; port: number; url: string }>;
}

export interface PrometheusConfig {
  enabled: boolean;
  listen: string;
  path: string;
  prefix: string;
  hookTiming: boolean;
  serverHistograms: boolean;
  processMetrics: boolean;
}

export const plugin = definePlugin<PrometheusConfig>({
  name: '@switchyard/plugin-prometheus',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Prometheus /metrics (prom-client) per frontend, backend and server, and time spent per plugin per hook.',
  configKey: 'prometheus',
  schema: {
    config: {
      type: 'object',
      description: 'The Prometheus endpoint, on its own address.',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Serve the endpoint (metrics are collected either way).' },
        listen: { type: 'string', default: '127.0.0.1:9101', description: 'host:port of the endpoint; port 0 picks a free port.' },
        path: { type: 'string', pattern: '^/', default: '/metrics', description: 'Path of the endpoint.' },
        prefix: { type: 'string', pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$', default: 'switchyard_', description: 'Prefix of every metric name.' },
        hookTiming: { type: 'boolean', default: true, description: 'Time every plugin\'s taps per hook (`<prefix>hook_duration_seconds`).' },
        serverHistograms: { type: 'boolean', default: true, description: 'A request-duration histogram per server too (one per frontend and backend always).' },
        processMetrics: { type: 'boolean', default: true, description: 'prom-client\'s default process metrics (CPU, memory, event-loop lag, GC), with the prefix.' },
      },
    },
  },
  apply(gateway: GatewayApi, config: PrometheusConfig) {
    const metrics = new GatewayMetrics(gateway, config);
    metrics.tap();
    const server = config.enabled ? new MetricsServer(config.listen, config.path, metrics.registry, gateway.logger) : null;
    let settle!: { resolve: (a: { host: string; port: number; url: string }) => void; reject: (e: unknown) => void };
    const ready = new Promise<{ host: string; port: number; url: string }>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => undefined);
    gateway.container.register(PROMETHEUS_SERVICE, { useValue: { metrics, ready } satisfies PrometheusService });
    gateway.events.once('started', () => {
      // Every plugin has tapped by now: wrap them all, ours included.
      if (config.hookTiming) timeHooks(gateway.hooks, metrics.hookDuration);
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
      await server?.close();
      metrics.registry.clear();
    });
  },
});

export default plugin;
