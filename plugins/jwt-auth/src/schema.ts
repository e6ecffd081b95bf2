import { DurationOption, Enum, MapOf, OneOf, Type, type Static } from '@switchyard/sdk';

export const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const stringOrList = (description: string) => OneOf([Type.String(), Type.Array(Type.String(), { minItems: 1 })], { description });

const jwtAuthProperties = {
  algorithms: Type.Array(Enum(ALGORITHMS), { minItems: 1, uniqueItems: true, description: 'Algorithms accepted (the allow-list); a token signed otherwise is refused. Never mix HS* with public-key algorithms.' }),
  secret: Type.Optional(Type.String({ minLength: 1, description: 'Shared secret for HS256/384/512.' })),
  secretFile: Type.Optional(Type.String({ description: 'File holding the HS* shared secret (raw bytes), relative to the config file.' })),
  keyFile: Type.Optional(Type.String({ description: 'Public key: a PEM (SPKI) file, or a JSON JWK or JWKS file, relative to the config file.' })),
  jwksUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'URL of a JWKS. Keys are cached; a token with an unknown `kid` triggers a refresh (at most once per jwksCooldown).' })),
  jwksCacheMaxAge: DurationOption('How long fetched keys are used before the JWKS is fetched again.', '10m'),
  jwksCooldown: DurationOption('Least time between two JWKS fetches (refresh on unknown kid is rate-limited by it).', '30s'),
  jwksTimeout: DurationOption('Timeout of one JWKS fetch.', '5s'),
  issuer: Type.Optional(stringOrList('Accepted `iss` value(s).')),
  audience: Type.Optional(stringOrList('Accepted `aud` value(s): the token must name one of them.')),
  clockSkew: DurationOption('Tolerance when checking exp and nbf.', '30s'),
  requiredClaims: Type.Array(Type.String(), { default: [], description: 'Claims that must be present (exp is always checked when present).' }),
  header: Type.String({ default: 'authorization', description: 'Request header carrying the token (lower-case).' }),
  scheme: Type.String({ default: 'Bearer', description: 'Scheme before the token in that header; empty when the header holds the bare token.' }),
  optional: Type.Boolean({ default: false, description: 'Let requests without a token through (an invalid token is still refused).' }),
  forwardToken: Type.Boolean({ default: false, description: 'Send the token header on to the server (removed by default).' }),
  claimHeaders: MapOf(Type.String(), { default: {}, description: 'Upstream header name → claim (dotted path) to send it as, e.g. {X-User: sub}. Client-sent headers of these names are always removed.' }),
  if: Type.Optional(Type.String({ description: 'Require the token only when this ACL condition holds (needs plugin-acl).' })),
  unless: Type.Optional(Type.String({ description: 'Require the token unless this ACL condition holds (needs plugin-acl).' })),
};

/** A frontend's `jwtAuth`. */
export const jwtAuthSchema = Type.Object(jwtAuthProperties, {
  additionalProperties: false,
  description: 'Require a JWT (bearer token) signed with an allowed algorithm by a configured key.',
});
/** `defaults.jwtAuth`. */
export const defaultJwtAuthSchema = Type.Object(jwtAuthProperties, {
  additionalProperties: false,
  description: 'jwtAuth for every http frontend that has none of its own.',
});

/** A frontend's (or `defaults`') `jwtAuth` after validation (durations in ms). */
export type JwtAuthConfig = Static<typeof jwtAuthSchema>;
