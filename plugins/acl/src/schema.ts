import { Enum, MapOf, OneOf, Type, type Static } from '@switchyard/sdk';

const conditionProps = {
  if: Type.Optional(Type.String({ description: 'Apply only when this condition is true (named ACLs, `!`, `and`/`or`, `{ inline acl }`).' })),
  unless: Type.Optional(Type.String({ description: 'Apply only when this condition is false.' })),
};

const aclLines = OneOf([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })]);

/** A frontend's `acls`. */
export const aclsSchema = MapOf(aclLines, { description: 'Named ACLs: name → one ACL line (`path_beg /api /v2`), or a list of lines that are ORed.' });
/** `backends.<b>.acls`. */
export const backendAclsSchema = MapOf(aclLines, { description: 'Named ACLs of this backend, for the conditions of its own rules (httpRequest/httpResponse in the backend); the frontend\'s ACLs are not seen there, as in HAProxy.' });
/** `defaults.acls`. */
export const defaultAclsSchema = MapOf(aclLines, { description: 'Named ACLs every frontend has (a frontend\'s own ACL of the same name replaces it).' });

const mapSchema = Type.Object(
  {
    key: Type.String({ default: 'host', description: 'Fetch expression whose value is the key (`host`, `hdr(host),lower`, `path`).' }),
    file: Type.Optional(Type.String({ description: 'Map file: one `<key> <backend>` per line, `#` comments; relative to the config file.' })),
    entries: Type.Optional(MapOf(Type.String(), { description: 'Inline key → backend entries (after the file\'s).' })),
    match: Enum(['str', 'beg', 'end', 'sub', 'dom', 'reg'], { default: 'str', description: 'How a key matches an entry: str (exact, hashed), beg, end, sub, dom, reg (first match in file order).' }),
    ignoreCase: Type.Boolean({ default: true, description: 'Compare keys case-insensitively.' }),
    default: Type.Optional(Type.String({ description: 'Backend when no entry matches (otherwise the next rule is tried).' })),
  },
  { description: 'Look the backend up in a map (HAProxy map file) by a fetched key, e.g. host → backend.', additionalProperties: false },
);

const useBackendRule = Type.Object(
  {
    backend: Type.Optional(Type.String({ description: 'Backend to use.' })),
    map: Type.Optional(mapSchema),
    ...conditionProps,
  },
  { additionalProperties: false },
);

/** A frontend's `useBackend` rules. */
export const useBackendSchema = Type.Array(useBackendRule, {
  description: 'Backend choice in order: the first rule whose condition holds (and, for a map, whose key is found) wins; else routes, else defaultBackend.',
});

const routeSchema = Type.Object(
  {
    host: Type.Optional(Type.String({ description: 'Exact host (`shop.example`), `*.example.com` for subdomains, or omitted/`*` for any host. Port is ignored.' })),
    path: Type.Optional(Type.String({ pattern: '^/', description: 'Path prefix on segment boundaries: `/api` matches /api and /api/x, not /apix.' })),
    methods: Type.Optional(Type.Array(Type.String(), { description: 'Only these methods (default: any).' })),
    backend: Type.String({ description: 'Backend to use.' }),
    stripPrefix: Type.Boolean({ default: false, description: 'Remove the path prefix before forwarding (/api/users → /users).' }),
  },
  { additionalProperties: false },
);

/** A frontend's `routes`. */
export const routesSchema = Type.Array(routeSchema, {
  description: 'Plain routes (no ACLs needed): host and path prefix → backend. The most specific route wins: exact host, then *.wildcard, then any host; longer path first.',
});

/** One `useBackend` rule after validation. */
export type UseBackendRule = Static<typeof useBackendRule>;
/** A rule's `map` after validation: `match` str (exact, hashed), beg, end, sub, dom, reg. */
export type MapConfig = Static<typeof mapSchema>;
/** One route after validation: `host` exact or `*.example.com`, `path` a prefix on segment boundaries. */
export type RouteConfig = Static<typeof routeSchema>;
/** Named ACLs: name → one line, or lines that are ORed. */
export type AclDefinitions = Static<typeof aclsSchema>;
