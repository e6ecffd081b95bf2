import { definePlugin, durationSchema, Stage, type Exchange, type FrontendState, type GatewayApi, type RouteDecision } from '@switchyard/sdk';
import { StatsCollector } from './collector';
import { STATS, type StatsService } from './contract';
import { StatsErrors } from './errors';
import { StatsServer, type StatsConfig } from './server';

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

interface RawStatsConfig extends Omit<StatsConfig, 'historySeconds'> {
  history: number;
}

export const plugin = definePlugin<RawStatsConfig>({
  name: '@switchyard/plugin-stats',
  version: '0.2.4',
  core: '^0.1.3',
  description: 'Live statistics page (HTML with SSE and charts, ;csv, ;json) on its own address.',
  configKey: 'stats',
  schema: {
    config: {
      type: 'object',
      description: 'The stats page (HAProxy `stats uri`), served on its own address.',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Serve the page (the collector runs either way).' },
        listen: { type: 'string', default: '127.0.0.1:8404', description: 'host:port the page listens on; port 0 picks a free port.' },
        path: { type: 'string', pattern: '^/[^;?#\\s]*$', default: '/stats', description: 'Path of the page; `;csv`, `;json` and `;events` are appended to it.' },
        title: { type: 'string', default: 'Switchyard statistics', description: 'Title shown on the page.' },
        auth: {
          type: 'object',
          description: 'Basic authentication for the page and its data (HAProxy `stats auth`).',
          additionalProperties: false,
          required: ['username', 'password'],
          properties: {
            username: { type: 'string', minLength: 1, description: 'User name.' },
            password: { type: 'string', minLength: 1, description: 'Password (compared in constant time).' },
            realm: { type: 'string', default: 'Switchyard statistics', description: 'Realm shown by the browser.' },
          },
        },
        history: durationSchema('How much per-second history the charts keep.', '5m'),
        latencyWindow: { type: 'integer', minimum: 8, maximum: 65536, default: 512, description: 'p50/p99 are over this many latest exchanges per frontend, backend and server.' },
        admin: { type: 'boolean', default: false, description: 'Admin actions on the page served on `listen` (HAProxy `stats admin`): set a server to ready / drain / maint and its weight, through the same server state API as the runtime API. Needs `auth`.' },
      },
    },
    frontend: {
      stats: {
        type: 'object',
        description: 'Also serve the stats page on this HTTP frontend at `path` (HAProxy `stats uri` in a frontend), with `stats.auth`.',
        additionalProperties: false,
        required: ['path'],
        properties: {
          path: { type: 'string', pattern: '^/[^;?#\\s]*$', description: 'Path of the page on this frontend; `;csv`, `;json`, `;events` are appended.' },
          admin: {
            type: 'object',
            additionalProperties: false,
            description: 'Admin actions on this frontend\'s page (HAProxy `stats admin if <cond>`), for requests where the condition holds (none: always). Needs `stats.auth`; conditions need @switchyard/plugin-acl.',
            properties: {
              if: { type: 'string', description: 'Allow admin actions when this condition is true.' },
              unless: { type: 'string', description: 'Allow admin actions when this condition is false.' },
            },
          },
        },
      },
    },
  },
  apply(gateway: GatewayApi, raw: RawStatsConfig) {
    const config: StatsConfig = { ...raw, historySeconds: Math.max(10, Math.round(raw.history / 1000)) };
    const collector = new StatsCollector(gateway, { latencyWindow: config.latencyWindow, historySeconds: config.historySeconds });
    collector.tap();
    const onFrontends = new Map<FrontendState, { path: string; admin: ((ex: Exchange) => boolean) | null }>();
    for (const fe of gateway.frontends.values()) {
      const fs = fe.config.stats as { path: string; admin?: { if?: string; unless?: string } } | undefined;
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
