import { Enum, Type, durationSchema, type StaticProperties } from '@switchyard/sdk';

/**
 * One resolvers section. ajv fills defaults under `properties` only, and sections sit under
 * `additionalProperties`, so the plugin applies these defaults itself (`sectionOptions`);
 * the schema states them for editors and `switchyard schema`.
 */
const section = Type.Object(
  {
    nameservers: Type.Array(
      Type.Union([
        Type.String({ description: 'host[:port] (port 53 when left out), IPv6 as [::1]:53.' }),
        Type.Object(
          {
            name: Type.String({ description: 'The nameserver\'s name (HAProxy `nameserver <name>`), in logs.' }),
            address: Type.String({ description: 'host[:port]; port 53 when left out.' }),
          },
          { additionalProperties: false },
        ),
      ]),
      { default: [], description: 'Nameservers queried all at once; the first valid answer wins, else the last error counts.' },
    ),
    parseResolvConf: Type.Boolean({ default: false, description: 'Also query the nameservers of /etc/resolv.conf (HAProxy parse-resolv-conf).' }),
    resolveRetries: Type.Integer({ minimum: 1, default: 3, description: 'Queries sent for one resolution before it fails (HAProxy resolve_retries).' }),
    timeouts: Type.Object(
      {
        resolve: Type.Unsafe<number>(durationSchema('Time between two resolutions of a name (HAProxy timeout resolve).', '1s')),
        retry: Type.Unsafe<number>(durationSchema('Time one query waits for an answer before it is retried (HAProxy timeout retry).', '1s')),
      },
      { default: {}, additionalProperties: false, description: 'Resolution timers.' },
    ),
    hold: Type.Object(
      {
        nx: Type.Unsafe<number>(durationSchema('After NXDOMAIN, how long since the last valid answer before the servers go to maintenance.', '30s')),
        refused: Type.Unsafe<number>(durationSchema('The same after REFUSED.', '30s')),
        timeout: Type.Unsafe<number>(durationSchema('The same after every query timed out.', '30s')),
        other: Type.Unsafe<number>(durationSchema('The same after any other error (SERVFAIL, no record of the type).', '30s')),
        valid: Type.Unsafe<number>(durationSchema('Accepted for HAProxy compatibility: it only applies to do-resolve actions there.', '10s')),
        obsolete: Type.Unsafe<number>(durationSchema('How long a record missing from the answers is kept (and its server keeps it).', '0s')),
      },
      { default: {}, additionalProperties: false, description: 'HAProxy hold <status> <period>.' },
    ),
    acceptedPayloadSize: Type.Integer({
      minimum: 512,
      maximum: 65535,
      default: 512,
      description: 'HAProxy accepted_payload_size: checked and kept, but Node.js\'s resolver (c-ares) chooses its own EDNS payload size.',
    }),
  },
  { additionalProperties: false, description: 'A resolvers section: nameservers and their timers.' },
);

/** The top-level `resolvers` key: sections by name. */
export const configSchema = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.:-]+$' }), section, {
  default: {},
  description: 'DNS resolvers sections (HAProxy `resolvers`): servers naming one are resolved at run time.',
});

/** The server keys this plugin adds. */
export const serverSchema = {
  resolvers: Type.String({ description: 'The resolvers section that resolves this server\'s host name at run time (HAProxy server `resolvers`).' }),
  resolvePrefer: Enum(['ipv4', 'ipv6'], { default: 'ipv6', description: 'Address family queried first and preferred in answers (HAProxy resolve-prefer; ipv6 by default as there).' }),
  initAddr: Type.Optional(
    Type.Array(Type.String({ pattern: '^(last|libc|none|[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$' }), {
      minItems: 1,
      description: 'How the address is found at start, first that works (HAProxy init-addr): last (the previous generation\'s address on a reload), libc (the system resolver), none (start in maintenance until DNS answers), or an IP address. Given and nothing works: the start is refused. Left out: last,libc, and when neither works the server starts in maintenance until DNS answers (HAProxy 2.6: "could not resolve address, disabling server").',
    }),
  ),
  resolveOpts: Type.Array(Enum(['allow-dup-ip', 'prevent-dup-ip', 'ignore-weight']), {
    default: [],
    description: 'HAProxy resolve-opts: allow-dup-ip lets servers of one backend share an address of the answer; ignore-weight keeps the configured weight of SRV-resolved servers.',
  }),
  resolveNet: Type.Array(Type.String(), {
    default: [],
    description: 'Preferred networks (CIDR) among the answer\'s addresses (HAProxy resolve-net).',
  }),
};

/** The server keys this plugin adds, as a server's config has them. */
export type ResolvedServerConfig = StaticProperties<typeof serverSchema>;

