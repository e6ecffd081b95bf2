import { DurationOption, Enum, Type, type Static, type StaticProperties } from '@switchyard/sdk';

/** A backend's `cookie:` (HAProxy `cookie`). */
export const cookieSchema = Type.Object({
  name: Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'Cookie name, e.g. SERVERID (insert, rewrite) or the application\'s session cookie (prefix).' }),
  mode: Enum(['insert', 'rewrite', 'prefix'], { default: 'insert', description: 'insert: the gateway sets the cookie; rewrite: the server sets it and the gateway rewrites its value; prefix: the gateway prefixes the server\'s own cookie with "<server>~".' }),
  indirect: Type.Boolean({ default: false, description: 'insert: servers never see the cookie (removed from requests; a server\'s own cookie of that name is dropped).' }),
  nocache: Type.Boolean({ default: false, description: 'Mark responses that set the cookie "Cache-Control: private" so shared caches do not store them.' }),
  httponly: Type.Boolean({ default: false, description: 'insert: add HttpOnly.' }),
  secure: Type.Boolean({ default: false, description: 'insert: add Secure.' }),
  maxidle: DurationOption('insert: ignore a cookie not refreshed for this long (the value carries dates); 0 = off.', 0),
  maxlife: DurationOption('insert: ignore a cookie first issued longer ago than this; 0 = off.', 0),
  domain: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]+$', description: 'insert: Domain attribute.' })),
  path: Type.String({ pattern: '^/[^;\\s\\x00-\\x1f\\x7f]*$', default: '/', description: 'insert: Path attribute.' }),
  attributes: Type.Array(Type.String({ pattern: '^[^;\\x00-\\x1f\\x7f]+$' }), { default: [], description: 'insert: extra attributes appended as written, e.g. ["SameSite=Lax"] (HAProxy `attr`).' }),
}, { additionalProperties: false, description: 'Cookie persistence (HAProxy `cookie`): a client that carries the cookie goes back to the server it names.' });

/** A backend's `stickTable:` (HAProxy `stick on`). */
export const stickTableSchema = Type.Object({
  key: Type.String({ minLength: 1, default: 'src', description: 'Fetch whose value is the key: "src" (client address) or any fetch a plugin provides, e.g. "hdr(x-user)".' }),
  expire: DurationOption('An entry is forgotten this long after it was last stored or refreshed (every request refreshes it).', '30m'),
  size: Type.Integer({ minimum: 0, default: 100000, description: 'Most entries kept; the least recently stored go first. 0 = unbounded.' }),
  store: Type.String({ minLength: 1, default: 'memory', description: 'Store in the stick.store slot: "memory" here; networked stores come from other plugins.' }),
  table: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.:-]+$', description: 'Table name; backends naming the same table share entries. Default: the backend\'s name.' })),
}, { additionalProperties: false, description: 'A stick table (HAProxy `stick on <key>`): remembers which server a key went to and sends the key back there.' });

/** A server's `cookie:` value. */
export const serverCookieSchema = Type.String({ pattern: '^[!#$%&\'*+.^_`0-9A-Za-z-]+$', description: 'Value of the persistence cookie that designates this server (HAProxy `cookie <value>`). Default: the server name.' });

/** `cookie:` on a backend, after validation (durations in ms; maxidle/maxlife 0 = off). */
export type CookieConfig = Static<typeof cookieSchema>;
/** `stickTable:` on a backend, after validation (`expire` in ms). */
export type StickTableConfig = Static<typeof stickTableSchema>;

/** The properties this plugin adds to every backend and server. */
export const backendOptions = { cookie: cookieSchema, stickTable: stickTableSchema };
export const serverOptions = { cookie: serverCookieSchema };
/** Backend options this plugin adds. */
export type StickinessBackendOptions = StaticProperties<typeof backendOptions>;
