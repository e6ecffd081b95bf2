import { definePlugin, Stage, type Exchange, type FrontendState, type GatewayApi, type RouteDecision } from '@switchyard/sdk';
import { StatsCollector } from './collector';
import { STATS, type StatsService } from './contract';
import { configSchema, frontendSchema, type FrontendStatsConfig, type StatsConfig } from './schema';
import { StatsErrors } from './errors';
import { StatsServer } from './server';

export { StatsCollector, serverStatus, HEALTH_CONTROL_KEY, HEALTH_DISABLED_KEY, FAILED_ATTEMPTS_VAR, countRedispatches } from './collector';
export { LatencyWindow } from './latency';
export { toCsv, CSV_COLUMNS, statRows, statField, serverStatusText, type StatRow, type CsvColumn } from './csv';
export { StatsErrors } from './errors';
export type { StatsConfig } from './server';
export type * from './types';

export { STATS, type StatsService } from './contract';
/** @deprecated STATS's id (the string-keyed container); use the typed token STATS. */
export const STATS_SERVICE = STATS.id;


/** @switchyard/plugin-acl's compiler slot key, when that optional peer is installed (its contract entry, no plugin code). */
function aclCompilerSlot(): typeof import('@switchyard/plugin-acl/contract').ACL_COMPILER | undefined {
  try {
    return (require('@switchyard/plugin-acl/contract') as typeof import('@switchyard/plugin-acl/contract')).ACL_COMPILER;
  } catch {
    return undefined;
  }
}

/** `stats admin if <cond>`: the condition compiled once (no condition: always). */
function adminCondition(gateway: GatewayApi, frontend: string, rule: { if?: string; unless?: string }): (ex: Exchange) => boolean {
  if (rule.if === undefined && rule.unless === undefined) return () => true;
  const where = `frontends.${frontend}.stats.admin`;
  const slot = aclCompilerSlot();
  const acl = slot === undefined ? undefined : gateway.slots.get(slot, 'default');
  if (!acl) throw StatsErrors.NO_ACL(where);
  const c = acl.forGateway(gateway).compileRuleCondition(frontend, rule, where);
  return c ? (ex) => c.test(ex) : () => true;
}


export const plugin = definePlugin({
  name: '@switchyard/plugin-stats',
  version: '0.2.5',
  core: '>=0.1.3 <1.0.0',
  description: 'Live statistics page (HTML with SSE and charts, ;csv, ;json) on its own address.',
  configKey: 'stats',
  schema: { config: configSchema, frontend: { stats: frontendSchema } },
  apply(gateway, raw) {
    const config: StatsConfig = { ...raw, historySeconds: Math.max(10, Math.round(raw.history / 1000)) };
    const collector = new StatsCollector(gateway, { latencyWindow: config.latencyWindow, historySeconds: config.historySeconds });
    collector.tap();
    const onFrontends = new Map<FrontendState, { path: string; admin: ((ex: Exchange) => boolean) | null }>();
    for (const fe of gateway.frontends.values()) {
      const fs = fe.config.stats as FrontendStatsConfig | undefined;
      if (!fs || fe.mode !== 'http') continue;
      let admin: ((ex: Exchange) => boolean) | null = null;
      if (fs.admin) {
        if (!config.auth) throw StatsErrors.ADMIN_AUTH(`frontends.${fe.name}.stats.admin`);
        admin = adminCondition(gateway, fe.name, fs.admin);
      }
      onFrontends.set(fe, { path: fs.path, admin });
    }
    if (config.admin && config.enabled && !config.auth) throw StatsErrors.ADMIN_AUTH('stats.admin');
    const http = config.enabled || onFrontends.size > 0 ? new StatsServer(gateway, collector, config) : null;
    const server = config.enabled ? http : null;
    if (http && onFrontends.size > 0) {
      // Before auth plugins (the page has its own basic auth), after address-based security.
      gateway.hooks.route.tap({ name: '@switchyard/plugin-stats', stage: Stage.AUTH - 10 }, (ex: Exchange): RouteDecision | undefined => {
        if (ex.kind !== 'http' || ex.upgrade) return undefined;
        const on = onFrontends.get(ex.frontend);
        if (on === undefined || !StatsServer.matches(ex.path, on.path)) return undefined;
        // The exchange is a StatsRequest: the page answers through the exchange's own API.
        http.serve(ex, on.path, { admin: on.admin !== null && on.admin(ex) });
        return { handled: true };
      });
    }
    let settle!: { resolve: (a: { host: string; port: number; url: string }) => void; reject: (e: unknown) => void };
    const ready = new Promise<{ host: string; port: number; url: string }>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => undefined);
    const service: StatsService = { collector, ready };
    gateway.services.provide(STATS, service);
    // Listen only once the gateway runs: `switchyard plugins` and CLI commands prepare a gateway too.
    gateway.events.once('started', () => {
      collector.start();
      if (!server) return settle.reject(new Error('the stats page is disabled (stats.enabled: false)'));
      server.listen().then(
        (address) => {
          gateway.logger.info({ url: address.url }, `stats page on ${address.url}`);
          settle.resolve(address);
        },
        (err: unknown) => {
          gateway.logger.error({ err }, 'stats page could not listen');
          settle.reject(err);
        },
      );
    });
    gateway.onStop(async () => {
      collector.stop();
      await http?.close();
    });
  },
});

export default plugin;
