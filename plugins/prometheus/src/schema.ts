import { Enum, Type, type Static } from '@switchyard/sdk';

/** The top-level `prometheus` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'Serve the endpoint (metrics are collected either way).' }),
  listen: Type.String({ default: '127.0.0.1:9101', description: 'host:port of the endpoint; port 0 picks a free port.' }),
  path: Type.String({ pattern: '^/', default: '/metrics', description: 'Path of the endpoint.' }),
  naming: Enum(['native', 'haproxy'], { default: 'native', description: '`native`: Switchyard\'s metric names (label `frontend`/`backend`/`server`). `haproxy`: the names, labels (`proxy`, `server`, `state`, `code`) and types of HAProxy\'s own exporter, so HAProxy dashboards and alerts work; Switchyard-only metrics (histograms, hook timing, process) keep the `switchyard_` prefix. The haproxy.cfg adapter sets `haproxy`.' }),
  prefix: Type.Optional(Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$', description: 'Prefix of every metric name. Default: `switchyard_`, or `haproxy_` for the HAProxy families with `naming: haproxy`.' })),
  hookTiming: Type.Boolean({ default: true, description: 'Time every plugin\'s taps per hook (`<prefix>hook_duration_seconds`).' }),
  serverHistograms: Type.Boolean({ default: true, description: 'A request-duration histogram per server too (one per frontend and backend always).' }),
  processMetrics: Type.Boolean({ default: true, description: 'prom-client\'s default process metrics (CPU, memory, event-loop lag, GC), with the prefix.' }),
}, { description: 'The Prometheus endpoint, on its own address.', additionalProperties: false, default: {} });

/** A frontend's `prometheus` (HAProxy use-service prometheus-exporter). */
export const frontendSchema = Type.Object({
  path: Type.Optional(Type.String({ pattern: '^/', description: 'Serve the metrics for requests to exactly this path.' })),
  if: Type.Optional(Type.String({ description: 'Serve the metrics when this condition is true.' })),
  unless: Type.Optional(Type.String({ description: 'Serve the metrics when this condition is false.' })),
}, { description: 'Also serve the metrics on this HTTP frontend (HAProxy `http-request use-service prometheus-exporter [if …]`): at `path`, and/or where the `if`/`unless` condition holds (ACL syntax, needs @switchyard/plugin-acl); `{}` answers every request of the frontend.', additionalProperties: false });

/** `prometheus` after validation. `naming`: `native` (Switchyard's names) or `haproxy` (HAProxy's exporter's); `prefix` default `switchyard_` / `haproxy_`. */
export type PrometheusConfig = Static<typeof configSchema>;
/** A frontend's `prometheus`. */
export type FrontendMetricsConfig = Static<typeof frontendSchema>;
