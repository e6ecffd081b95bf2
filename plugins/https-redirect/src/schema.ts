import { DurationOption, Enum, Type, type Static } from '@switchyard/sdk';

/** `frontends.<name>.httpsRedirect` */
export const httpsRedirectSchema = Type.Object({
  status: Enum([301, 302, 307, 308], { default: 301, description: 'Redirect status (307/308 keep the method and body).' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 443, description: 'HTTPS port in the Location (443 is left out).' }),
  except: Type.Array(Type.String({ pattern: '^/' }), { default: ['/.well-known/acme-challenge/'], description: 'Path prefixes still served over plain HTTP (ACME HTTP-01 challenges for an external certificate client).' }),
}, { additionalProperties: false, description: 'Answer requests that arrived without TLS with a redirect to the same URL over HTTPS.' });

/** `frontends.<name>.hsts` */
export const hstsSchema = Type.Object({
  maxAge: DurationOption('How long browsers must use HTTPS only for this host.', '365d'),
  includeSubDomains: Type.Boolean({ default: false, description: 'Apply to every subdomain too.' }),
  preload: Type.Boolean({ default: false, description: 'Ask to be in browsers\' preload lists (needs includeSubDomains and max-age ≥ 1 year).' }),
}, { additionalProperties: false, description: 'Add Strict-Transport-Security to responses sent over TLS (never over plain HTTP, RFC 6797 §7.2).' });

/** A frontend's `httpsRedirect` (after validation: defaults filled). */
export type HttpsRedirectConfig = Static<typeof httpsRedirectSchema>;
/** A frontend's `hsts`; `maxAge` in ms (the header carries seconds). */
export type HstsConfig = Static<typeof hstsSchema>;
