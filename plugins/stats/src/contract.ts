import { defineService } from '@switchyard/sdk';
import type { StatsCollector } from './collector';

/**
 * What other plugins import from this one without loading it: `@switchyard/plugin-stats/contract`
 * (declare this package a peer dependency).
 */
export interface StatsService {
  readonly collector: StatsCollector;
  /** Resolves with the page's address once it listens (after the gateway's `started`). */
  readonly ready: Promise<{ host: string; port: number; url: string }>;
}

/** The running stats service of a gateway generation (the runtime API's `show stat`, tests). */
export const STATS = defineService<StatsService>('switchyard.stats', 'the stats collector and page');
