import { MapOf, Type, type Static } from '@switchyard/sdk';

/** A user of a userlist. */
const userSchema = Type.Object(
  {
    password: Type.Optional(Type.String({ description: 'crypt(3) hash: bcrypt ($2a$/$2b$/$2y$), SHA-256-crypt ($5$) or SHA-512-crypt ($6$), e.g. from `mkpasswd -m sha-512` or `openssl passwd -6`.' })),
    insecurePassword: Type.Optional(Type.String({ description: 'The password in clear (HAProxy\'s insecure-password). For tests and local setups.' })),
    groups: Type.Array(Type.String(), { default: [], description: 'Groups the user belongs to (declared under groups).' }),
  },
  { additionalProperties: false, description: 'A user: exactly one of password (a crypt(3) hash) or insecurePassword.' },
);

/** One userlist (`userlists.<name>`). */
const userlistSchema = Type.Object(
  {
    groups: MapOf(Type.Array(Type.String()), { default: {}, description: 'Group name → member user names (members may also be given per user).' }),
    users: MapOf(userSchema, { description: 'User name → password and groups.' }),
  },
  { additionalProperties: false },
);

/** The top-level `userlists` key; the plugin's options type is derived from it. */
export const userlistsSchema = MapOf(userlistSchema, {
  default: {},
  description: 'HAProxy-style userlists by name, for basicAuth and the http_auth / http_auth_group fetches.',
});

const basicAuthProperties = {
  userlist: Type.String({ description: 'Name of a userlist under `userlists`.' }),
  realm: Type.String({ default: 'Switchyard', pattern: '^[^"\\\\\\r\\n\\u0000]*$', description: 'Realm shown by browsers in the login prompt (no quotes, backslashes or line breaks).' }),
  groups: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'Only members of one of these groups get in (403 for other valid users).' })),
  forwardCredentials: Type.Boolean({ default: false, description: 'Send the Authorization header on to the server (removed by default).' }),
  if: Type.Optional(Type.String({ description: 'Ask for credentials only when this ACL condition holds (needs plugin-acl).' })),
  unless: Type.Optional(Type.String({ description: 'Ask for credentials unless this ACL condition holds (needs plugin-acl).' })),
};

/** A frontend's `basicAuth`. */
export const basicAuthSchema = Type.Object(basicAuthProperties, {
  additionalProperties: false,
  description: 'Ask for HTTP basic credentials valid in a userlist (401 with WWW-Authenticate otherwise).',
});
/** `defaults.basicAuth`. */
export const defaultBasicAuthSchema = Type.Object(basicAuthProperties, {
  additionalProperties: false,
  description: 'basicAuth for every http frontend that has none of its own.',
});

/** A userlist as written in config (`userlists.<name>`), after validation. */
export type UserlistConfig = Static<typeof userlistSchema>;
export type UserConfig = Static<typeof userSchema>;
export type UserlistsConfig = Static<typeof userlistsSchema>;
/** A frontend's (or `defaults`') `basicAuth`, after validation. */
export type BasicAuthConfig = Static<typeof basicAuthSchema>;
