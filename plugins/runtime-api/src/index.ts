import { CLI_COMMAND_SLOT, definePlugin, durationSchema, type GatewayApi } from '@switchyard/sdk';
import { adminCommand } from './cli';
import { provideHaproxyDirectives } from './haproxy';
import { CliSocketServer, type CliSocketConfig } from './cli-server';
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

export interface RuntimeApiConfig {
  enabled: boolean;
  listen: string;
  token?: string;
  tokens?: ApiToken[];
  sockets: CliSocketConfig[];
}

const levelSchema = (dflt: Level, what: string) => ({ enum: [...LEVELS], default: dflt, description: what });

const socketSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'One HAProxy CLI socket (HAProxy\'s `stats socket`): exactly one of path, address, fd.',
  oneOf: [{ required: ['path'] }, { required: ['address'] }, { required: ['fd'] }],
  properties: {
    path: { type: 'string', minLength: 1, description: 'Unix socket path (relative to the config file); a stale socket file there is replaced.' },
    address: {
      type: ['string', 'integer'],
      pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^\\s:\\[\\]]*):(\\d{1,5})$|^(\\d{1,5})$',
      description: 'TCP "host:port"; ":port" or a bare port listens on 127.0.0.1 only.',
    },
    fd: { type: 'integer', minimum: 0, description: 'An inherited, already bound socket (HAProxy\'s `stats socket fd@N`).' },
    level: levelSchema('operator', 'Highest level a client of this socket has: user (show), operator (+ drain, maint, weight, health checks), admin (+ add/del server, maps, reload). HAProxy\'s default is operator.'),
    mode: { type: 'string', pattern: '^[0-7]{3,4}$', default: '600', description: 'Unix socket file mode, octal.' },
    user: { type: ['string', 'integer'], description: 'Owner of the unix socket (name or uid).' },
    group: { type: ['string', 'integer'], description: 'Group of the unix socket (name or gid).' },
    token: { type: 'string', minLength: 16, description: 'TCP sockets: every connection must send `auth <token>` first.' },
    timeout: durationSchema('Idle time an interactive (prompt) session is kept (HAProxy `stats timeout`).', '10s'),
  },
};

export const plugin = definePlugin<RuntimeApiConfig>({
  name: '@switchyard/plugin-runtime-api',
  version: '0.3.4',
  core: '^0.1.3',
  description: 'Runtime API over HTTP with a bearer token (off by default), and `switchyard admin <command>`.',
  configKey: 'runtimeApi',
  schema: {
    config: {
      type: 'object',
      description: 'The runtime API (HAProxy\'s stats socket, over HTTP). Off unless enabled.',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Serve the runtime API over HTTP (the CLI sockets do not need it).' },
        listen: { type: 'string', default: '127.0.0.1:9999', description: 'host:port; keep it on a local address. Port 0 picks a free port.' },
        token: { type: 'string', minLength: 16, description: 'Bearer token with level admin (at least 16 characters). Required when enabled, unless tokens are given.' },
        tokens: {
          type: 'array',
          description: 'Bearer tokens, each with its level (user, operator, admin).',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['token', 'level'],
            properties: { token: { type: 'string', minLength: 16, description: 'The bearer token.' }, level: levelSchema('user', 'What it may run.') },
          },
        },
        sockets: { type: 'array', default: [], description: 'HAProxy CLI sockets (`stats socket`): socat, hatop and HAProxy tooling work on them unchanged.', items: socketSchema },
      },
      // validate and run refuse the same thing: an HTTP API without a token.
      if: { required: ['enabled'], properties: { enabled: { const: true } }, not: { required: ['tokens'] } },
      then: { required: ['token'] },
    },
  },
  register({ slots }) {
    slots.provide(CLI_COMMAND_SLOT, 'admin', adminCommand, { description: adminCommand.summary });
    provideHaproxyDirectives(slots);
  },
  apply(gateway: GatewayApi, config: RuntimeApiConfig) {
    const tokens: ApiToken[] = [...(config.token ? [{ token: config.token, level: 'admin' as Level }] : []), ...(config.tokens ?? [])];
    if (config.enabled && tokens.length === 0) throw RuntimeErrors.CONFIG('runtimeApi.enabled needs runtimeApi.token');
    const server = config.enabled ? new RuntimeApiServer(gateway, tokens, config.listen) : null;
    const sockets = (config.sockets ?? []).map((c) => new CliSocketServer(gateway, c));
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
