import { DurationOption, SizeOption, Type, type Static } from '@switchyard/sdk';

const headerList = (description: string, dflt: string[]) =>
  Type.Array(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), { default: dflt, description });

const forwardAuthProperties = {
  url: Type.String({ pattern: '^https?://', description: 'URL of the auth service. It gets X-Forwarded-Method, X-Forwarded-Uri (and X-Original-URI), X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-For and the requestHeaders.' }),
  method: Type.Optional(Type.String({ pattern: '^[A-Z]+$', description: 'Method of the sub-request; default the original request\'s method.' })),
  requestHeaders: headerList('Request headers sent to the auth service.', ['authorization', 'cookie']),
  responseHeaders: headerList('Headers of a 2xx answer copied onto the request sent upstream (replacing client-sent ones of the same name).', []),
  timeout: DurationOption('Time for the auth service to answer; past it the request fails closed with 504.', '5s'),
  maxBody: SizeOption('Largest refusal body relayed to the client (cut beyond).', '64kb'),
  cacheTtl: DurationOption('Keep decisions this long for the same method, host, URI and request headers; 0 = no cache.', 0),
  cacheSize: Type.Integer({ minimum: 1, default: 10000, description: 'Most decisions kept when cacheTtl > 0.' }),
  if: Type.Optional(Type.String({ description: 'Ask only when this ACL condition holds (needs plugin-acl).' })),
  unless: Type.Optional(Type.String({ description: 'Ask unless this ACL condition holds (needs plugin-acl).' })),
};

/** A frontend's `forwardAuth`. */
export const forwardAuthSchema = Type.Object(forwardAuthProperties, {
  additionalProperties: false,
  description: 'Ask an external service about each request (like nginx auth_request / Traefik forwardAuth).',
});
/** `defaults.forwardAuth`. */
export const defaultForwardAuthSchema = Type.Object(forwardAuthProperties, {
  additionalProperties: false,
  description: 'forwardAuth for every http frontend that has none of its own.',
});

/** A frontend's (or `defaults`') `forwardAuth` after validation (durations in ms, sizes in bytes). */
export type ForwardAuthConfig = Static<typeof forwardAuthSchema>;
