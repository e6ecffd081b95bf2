import { DurationOption, Type, type Static } from '@switchyard/sdk';

/** The top-level `stats` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'Serve the page (the collector runs either way).' }),
  listen: Type.String({ default: '127.0.0.1:8404', description: 'host:port the page listens on; port 0 picks a free port.' }),
  path: Type.String({ pattern: '^/[^;?#\\s]*$', default: '/stats', description: 'Path of the page; `;csv`, `;json` and `;events` are appended to it.' }),
  title: Type.String({ default: 'Switchyard statistics', description: 'Title shown on the page.' }),
  auth: Type.Optional(Type.Object({
    username: Type.String({ minLength: 1, description: 'User name.' }),
    password: Type.String({ minLength: 1, description: 'Password (compared in constant time).' }),
    realm: Type.String({ default: 'Switchyard statistics', description: 'Realm shown by the browser.' }),
  }, { description: 'Basic authentication for the page and its data (HAProxy `stats auth`).', additionalProperties: false })),
  history: DurationOption('How much per-second history the charts keep.', '5m'),
  latencyWindow: Type.Integer({ minimum: 8, maximum: 65536, default: 512, description: 'p50/p99 are over this many latest exchanges per frontend, backend and server.' }),
  admin: Type.Boolean({ default: false, description: 'Admin actions on the page served on `listen` (HAProxy `stats admin`): set a server to ready / drain / maint and its weight, through the same server state API as the runtime API. Needs `auth`.' }),
}, { description: 'The stats page (HAProxy `stats uri`), served on its own address.', additionalProperties: false, default: {} });

/** A frontend's `stats` (HAProxy `stats uri` in a frontend). */
export const frontendSchema = Type.Object({
  path: Type.String({ pattern: '^/[^;?#\\s]*$', description: 'Path of the page on this frontend; `;csv`, `;json`, `;events` are appended.' }),
  admin: Type.Optional(Type.Object({
    if: Type.Optional(Type.String({ description: 'Allow admin actions when this condition is true.' })),
    unless: Type.Optional(Type.String({ description: 'Allow admin actions when this condition is false.' })),
  }, { additionalProperties: false, description: 'Admin actions on this frontend\'s page (HAProxy `stats admin if <cond>`), for requests where the condition holds (none: always). Needs `stats.auth`; conditions need @switchyard/plugin-acl.' })),
}, { description: 'Also serve the stats page on this HTTP frontend at `path` (HAProxy `stats uri` in a frontend), with `stats.auth`.', additionalProperties: false });

/** `stats` after validation (`history` in ms). */
export type RawStatsConfig = Static<typeof configSchema>;
/** What the page's server gets: the validated `stats`, with the history in seconds. */
export type StatsConfig = Omit<RawStatsConfig, 'history'> & { historySeconds: number };
/** A frontend's `stats`. */
export type FrontendStatsConfig = Static<typeof frontendSchema>;
