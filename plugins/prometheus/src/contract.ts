import { defineService } from '@switchyard/sdk';
import type { GatewayMetrics } from './metrics';

/**
 * What other plugins import from this one without loading it: `@switchyard/plugin-prometheus/contract`
 * (declare this package a peer dependency, optional when you only add metrics if it is there).
 */
export interface PrometheusService {
  readonly metrics: GatewayMetrics;
  /** Resolves with the endpoint's address once it listens (after the gateway's `started`). */
  readonly ready: Promise<{ host: string; port: number; url: string }>;
}

/** The running metrics service of a gateway generation: its registry takes other plugins' metrics. */
export const PROMETHEUS = defineService<PrometheusService>('switchyard.prometheus', 'the metrics registry and endpoint');
