import { MapOf, Type, type Static } from '@switchyard/sdk';

/** One key set under `apiKeys`. */
const keySetSchema = Type.Object(
  {
    keys: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, pattern: '^[^\\r\\n\\u0000]*$', description: 'Name of the key holder, for logs and the api_key_name fetch.' }),
          sha256: Type.String({ description: 'SHA-256 of the key, 64 hex digits.' }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Keys: a name (shown in logs) and the SHA-256 of the key in hex (`echo -n KEY | sha256sum`).' },
    ),
    file: Type.Optional(Type.String({ description: 'File of `<name> <sha256 hex>` lines (# comments), relative to the config file; read at load.' })),
  },
  { additionalProperties: false },
);

/** The top-level `apiKeys` key: named key sets; the plugin's options type is derived from it. */
export const keySetsSchema = MapOf(keySetSchema, { default: {}, description: 'Named API key sets. Keys are stored as SHA-256 hashes (hex), never in clear.' });

const apiKeyProperties = {
  keySet: Type.String({ description: 'Name of a key set under `apiKeys`.' }),
  header: Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: 'x-api-key', description: 'Request header holding the key.' }),
  queryParam: Type.Optional(Type.String({ minLength: 1, description: 'Query parameter holding the key (looked at when the header is absent). Off by default: URLs end up in logs.' })),
  forwardKey: Type.Boolean({ default: false, description: 'Send the key (header and query parameter) on to the server; removed by default.' }),
  if: Type.Optional(Type.String({ description: 'Require a key only when this ACL condition holds (needs plugin-acl).' })),
  unless: Type.Optional(Type.String({ description: 'Require a key unless this ACL condition holds (needs plugin-acl).' })),
};

/** A frontend's `apiKey`. */
export const apiKeySchema = Type.Object(apiKeyProperties, { additionalProperties: false, description: 'Require an API key from a key set: 401 without a key, 403 with an unknown one.' });
/** `defaults.apiKey`. */
export const defaultApiKeySchema = Type.Object(apiKeyProperties, { additionalProperties: false, description: 'apiKey for every http frontend that has none of its own.' });

export type KeySetConfig = Static<typeof keySetSchema>;
/** A frontend's (or `defaults`') `apiKey`, after validation. */
export type ApiKeyConfig = Static<typeof apiKeySchema>;
