import { DurationOption, Enum, Type, TypeList, type Static } from '@switchyard/sdk';
import { LEVELS, type Level } from './levels';

const levelSchema = (dflt: Level, what: string) => Enum(LEVELS as readonly Level[], { default: dflt, description: what });

/** One HAProxy CLI socket (`runtimeApi.sockets[i]`). */
export const socketSchema = Type.Object(
  {
    path: Type.Optional(Type.String({ minLength: 1, description: 'Unix socket path (relative to the config file); a stale socket file there is replaced.' })),
    address: Type.Optional(
      TypeList(['string', 'integer'], {
        pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^\\s:\\[\\]]*):(\\d{1,5})$|^(\\d{1,5})$',
        description: 'TCP "host:port"; ":port" or a bare port listens on 127.0.0.1 only.',
      }),
    ),
    fd: Type.Optional(Type.Integer({ minimum: 0, description: 'An inherited, already bound socket (HAProxy\'s `stats socket fd@N`).' })),
    level: levelSchema('operator', 'Highest level a client of this socket has: user (show), operator (+ drain, maint, weight, health checks), admin (+ add/del server, maps, reload). HAProxy\'s default is operator.'),
    mode: Type.String({ pattern: '^[0-7]{3,4}$', default: '600', description: 'Unix socket file mode, octal.' }),
    user: Type.Optional(TypeList(['string', 'integer'], { description: 'Owner of the unix socket (name or uid).' })),
    group: Type.Optional(TypeList(['string', 'integer'], { description: 'Group of the unix socket (name or gid).' })),
    token: Type.Optional(Type.String({ minLength: 16, description: 'TCP sockets: every connection must send `auth <token>` first.' })),
    timeout: DurationOption('Idle time an interactive (prompt) session is kept (HAProxy `stats timeout`).', '10s'),
  },
  {
    additionalProperties: false,
    description: 'One HAProxy CLI socket (HAProxy\'s `stats socket`): exactly one of path, address, fd.',
    oneOf: [{ required: ['path'] }, { required: ['address'] }, { required: ['fd'] }],
  },
);

/** The top-level `runtimeApi` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'Serve the runtime API over HTTP (the CLI sockets do not need it).' }),
    listen: Type.String({ default: '127.0.0.1:9999', description: 'host:port; keep it on a local address. Port 0 picks a free port.' }),
    token: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token with level admin (at least 16 characters). Required when enabled, unless tokens are given.' })),
    tokens: Type.Optional(
      Type.Array(
        Type.Object(
          { token: Type.String({ minLength: 16, description: 'The bearer token.' }), level: levelSchema('user', 'What it may run.') },
          { additionalProperties: false },
        ),
        { description: 'Bearer tokens, each with its level (user, operator, admin).' },
      ),
    ),
    sockets: Type.Array(socketSchema, { default: [], description: 'HAProxy CLI sockets (`stats socket`): socat, hatop and HAProxy tooling work on them unchanged.' }),
  },
  {
    description: 'The runtime API (HAProxy\'s stats socket, over HTTP). Off unless enabled.',
    additionalProperties: false,
    default: {},
    // validate and run refuse the same thing: an HTTP API without a token.
    if: { required: ['enabled'], properties: { enabled: { const: true } }, not: { required: ['tokens'] } },
    then: { required: ['token'] },
  },
);

/** `runtimeApi` after validation. */
export type RuntimeApiConfig = Static<typeof configSchema>;
/** One CLI socket after validation: exactly one of path, address (TCP "host:port", ":port" or a port), fd; `timeout` in ms. */
export type CliSocketConfig = Static<typeof socketSchema>;
