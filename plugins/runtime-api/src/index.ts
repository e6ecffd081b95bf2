import { CLI_COMMAND_SLOT, definePlugin, type GatewayApi } from '@switchyard/sdk';
import { configSchema, type RuntimeApiConfig } from './schema';
import { adminCommand } from './cli';
import { provideHaproxyDirectives } from './haproxy';
import { trackSessions } from './sessions';
import { CliSocketServer } from './cli-server';
import { RuntimeErrors } from './errors';
import { LEVELS, type Level } from './levels';
import { RuntimeApiServer, splitListen, type ApiToken } from './server';

export { BUILTIN_COMMANDS, HEALTH_DISABLED_KEY, HEALTH_CONTROL_KEY, describeServer, dynamicWeights, findServer, parseWeight } from './commands';
export { RuntimeApiServer, commandTable, runCommand, type ApiToken } from './server';
export { CliSocketServer, describeCliSocket, type CliSocketConfig } from './cli-server';
export { splitCommands, RequestReader } from './cli-protocol';
export { HAPROXY_CLI_COMMANDS, findCliCommand, type HaproxyCliCommand } from './haproxy-commands';
export { LEVELS, levelAtLeast, levelOf, type Level } from './levels';
export { adminCommand } from './cli';
export { RuntimeErrors } from './errors';

/** Container token of the running runtime API. */
export const RUNTIME_API_SERVICE = 'switchyard.runtimeApi';

export interface RuntimeApiService {
  readonly server: RuntimeApiServer | null;
  /** Resolves with the API's address once it listens (after `started`); rejects when disabled. */
  readonly ready: Promise<{ host: string; port: number; url: string }>;
  /** The HAProxy CLI sockets, in config order. */
  readonly sockets: ReadonlyArray<CliSocketServer>;
  /** Resolves with what each CLI socket listens on ("unix@/path", "127.0.0.1:9999", "fd@3"), in order. */
  readonly socketsReady: Promise<string[]>;
}

export type { RuntimeApiConfig };

export const plugin = definePlugin({
  name: '@switchyard/plugin-runtime-api',
  version: '0.3.9',
  core: '>=0.1.3 <1.0.0',
  description: 'Runtime API over HTTP with a bearer token (off by default), and `switchyard admin <command>`.',
  configKey: 'runtimeApi',
  schema: { config: configSchema },
  register({ slots }) {
    slots.provide(CLI_COMMAND_SLOT, 'admin', adminCommand, { description: adminCommand.summary });
    provideHaproxyDirectives(slots);
  },
  apply(gateway, config) {
    const tokens: ApiToken[] = [...(config.token ? [{ token: config.token, level: 'admin' as Level }] : []), ...(config.tokens ?? [])];
    if (config.enabled && tokens.length === 0) throw RuntimeErrors.CONFIG('runtimeApi.enabled needs runtimeApi.token');
    const server = config.enabled ? new RuntimeApiServer(gateway, tokens, config.listen) : null;
    const sockets = (config.sockets ?? []).map((c) => new CliSocketServer(gateway, c));
    if (sockets.length > 0) trackSessions(gateway);
    for (const c of config.sockets ?? []) {
      if (c.address === undefined || c.token) continue;
      const { host } = splitListen(String(c.address));
      if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
        gateway.logger.warn({ address: c.address }, `runtime API CLI socket ${c.address} is not on loopback and has no token: anyone who reaches it has level ${c.level}`);
      }
    }
    let settleSockets!: { resolve: (a: string[]) => void; reject: (e: unknown) => void };
    const socketsReady = new Promise<string[]>((resolve, reject) => (settleSockets = { resolve, reject }));
    socketsReady.catch(() => undefined);
    let settle!: { resolve: (a: { host: string; port: number; url: string }) => void; reject: (e: unknown) => void };
    const ready = new Promise<{ host: string; port: number; url: string }>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => undefined);
    gateway.container.register(RUNTIME_API_SERVICE, { useValue: { server, ready, sockets, socketsReady } satisfies RuntimeApiService });
    gateway.events.once('started', () => {
      Promise.all(sockets.map((s) => s.listen())).then(
        (where) => {
          for (const w of where) gateway.logger.info({ socket: w }, `runtime API CLI on ${w}`);
          settleSockets.resolve(where);
        },
        (err: unknown) => {
          gateway.logger.error({ err }, 'runtime API CLI socket could not listen');
          settleSockets.reject(err);
        },
      );
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
    gateway.onStop(async () => {
      await Promise.all([server?.close(), ...sockets.map((s) => s.close())]);
    });
  },
});

export default plugin;
