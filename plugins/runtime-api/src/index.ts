import { CLI_COMMAND_SLOT, definePlugin, type GatewayApi } from '@switchyard/sdk';
import { adminCommand } from './cli';
import { RuntimeErrors } from './errors';
import { RuntimeApiServer } from './server';

export { BUILTIN_COMMANDS, HEALTH_DISABLED_KEY, HEALTH_CONTROL_KEY, describeServer, findServer, parseWeight } from './commands';
export { RuntimeApiServer, commandTable, runCommand } from './server';
export { adminCommand } from './cli';
export { RuntimeErrors } from './errors';

/** Container token of the running runtime API. */
export const RUNTIME_API_SERVICE = 'switchyard.runtimeApi';

export interface RuntimeApiService {
  readonly server: RuntimeApiServer | null;
  /** Resolves with the API's address once it listens (after `started`); rejects when disabled. */
  readonly ready: Promise<{ host: string; port: number; url: string }>;
}

export interface RuntimeApiConfig {
  enabled: boolean;
  listen: string;
  token?: string;
}

export const plugin = definePlugin<RuntimeApiConfig>({
  name: '@switchyard/plugin-runtime-api',
  version: '0.2.0',
  core: '^0.1.0',
  description: 'Runtime API over HTTP with a bearer token (off by default), and `switchyard admin <command>`.',
  configKey: 'runtimeApi',
  schema: {
    config: {
      type: 'object',
      description: 'The runtime API (HAProxy\'s stats socket, over HTTP). Off unless enabled.',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Serve the runtime API.' },
        listen: { type: 'string', default: '127.0.0.1:9999', description: 'host:port; keep it on a local address. Port 0 picks a free port.' },
        token: { type: 'string', minLength: 16, description: 'Bearer token every request must carry (at least 16 characters). Required when enabled.' },
      },
    },
  },
  register({ slots }) {
    slots.provide(CLI_COMMAND_SLOT, 'admin', adminCommand, { description: adminCommand.summary });
  },
  apply(gateway: GatewayApi, config: RuntimeApiConfig) {
    if (config.enabled && !config.token) throw RuntimeErrors.CONFIG('runtimeApi.enabled needs runtimeApi.token');
    const server = config.enabled ? new RuntimeApiServer(gateway, config.token!, config.listen) : null;
    let settle!: { resolve: (a: { host: string; port: number; url: string }) => void; reject: (e: unknown) => void };
    const ready = new Promise<{ host: string; port: number; url: string }>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => undefined);
    gateway.container.register(RUNTIME_API_SERVICE, { useValue: { server, ready } satisfies RuntimeApiService });
    gateway.events.once('started', () => {
      if (!server) return settle.reject(new Error('the runtime API is off (runtimeApi.enabled: false)'));
      server.listen().then(
        (address) => {
          gateway.logger.info({ url: address.url }, `runtime API on ${address.url}`);
          settle.resolve(address);
        },
        (err: unknown) => {
          gateway.logger.error({ err }, 'runtime API could not listen');
          settle.reject(err);
        },
      );
    });
    gateway.onStop(() => server?.close());
  },
});

export default plugin;
