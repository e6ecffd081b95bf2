import {
  FETCH_SLOT, Stage, definePlugin, type Exchange, type FetchDefinition, type FrontendState, type GatewayApi, type HttpExchange,
} from '@switchyard/sdk';
import { ACL_COMPILER } from '@switchyard/plugin-acl';
import { MonitorErrors } from './errors';
import { frontendOptions, type MonitorFrontendOptions } from './schema';

export { MonitorErrors };

export const NAME = '@switchyard/plugin-monitor';

export type { MonitorFrontendOptions };

interface Monitor {
  readonly uri: string;
  readonly fail: ((ex: Exchange) => boolean) | null;
}

const HEADERS = Object.freeze({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });

/**
 * `nbsrv(<backend>)`: servers of a backend that can take traffic now (HAProxy's nbsrv), for
 * `monitorFail: "nbsrv(api) lt 1"`. Provided per gateway at apply, unless another plugin has it.
 */
function nbsrvFetch(gateway: GatewayApi): FetchDefinition {
  return {
    description: 'Number of usable servers (up, ready, weight > 0) of the backend named as argument, backups included.',
    arg: 'required',
    modes: ['http', 'tcp'],
    defaultMatch: 'int',
    compile(arg) {
      const be = gateway.backends.get(arg ?? '');
      if (be === undefined) throw new Error(`nbsrv(${arg ?? ''}): no backend of that name (${[...gateway.backends.keys()].join(', ')})`);
      const servers = be.servers;
      return () => {
        let n = 0;
        for (const s of servers) if (s.available) n++;
        return n;
      };
    },
  };
}

function compile(gateway: GatewayApi, fe: FrontendState, opts: MonitorFrontendOptions): Monitor | null {
  if (opts.monitorUri === undefined) return null;
  if (fe.mode !== 'http') throw MonitorErrors.CONFIG(fe.name, 'monitorUri needs an http frontend');
  let fail: Monitor['fail'] = null;
  if (opts.monitorFail !== undefined) {
    const service = gateway.slots.get(ACL_COMPILER, 'default');
    if (service === undefined || typeof service.forGateway !== 'function') throw MonitorErrors.NO_ACL(fe.name);
    const where = `frontends.${fe.name}.monitorFail`;
    try {
      const c = service.forGateway(gateway).compileCondition(fe.name, opts.monitorFail, where);
      fail = (ex) => c.test(ex);
    } catch (err) {
      throw MonitorErrors.CONFIG.with({ cause: err, location: { path: where } }, fe.name, `monitorFail: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { uri: opts.monitorUri, fail };
}

/** Answers a monitor request: 503 while stopping or failing, else 200. */
function answer(gateway: GatewayApi, m: Monitor, ex: HttpExchange): void {
  if (gateway.stopping) ex.respond(503, 'draining\n', HEADERS);
  else if (m.fail !== null && m.fail(ex)) ex.respond(503, 'failing\n', HEADERS);
  else ex.respond(200, 'ready\n', HEADERS);
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.3',
  core: '>=0.1.2 <1.0.0',
  description: 'HAProxy monitor-uri: a health endpoint on a frontend path, 200 "ready" while serving and 503 "draining" once the gateway stops or reloads.',
  schema: { frontend: frontendOptions },
  apply(gateway) {
    if (gateway.slots.get(FETCH_SLOT, 'nbsrv') === undefined) {
      const f = nbsrvFetch(gateway);
      gateway.slots.provide(FETCH_SLOT, 'nbsrv', f, { description: f.description });
    }
    const monitors = new Map<FrontendState, Monitor>();
    for (const fe of gateway.frontends.values()) {
      const m = compile(gateway, fe, fe.config as typeof fe.config & MonitorFrontendOptions);
      if (m !== null) monitors.set(fe, m);
    }
    if (monitors.size === 0) return;
    gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.SECURITY }, async (ex) => {
      if (ex.kind !== 'http') return undefined;
      const m = monitors.get(ex.frontend);
      if (m === undefined || ex.path !== m.uri) return undefined;
      answer(gateway, m, ex);
      return { handled: true };
    });
  },
});

export default plugin;
