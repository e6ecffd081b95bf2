import { DurationOption, Enum, OneOf, SizeOption, Type, TypeList, type Static } from '@switchyard/sdk';

/** `backends.<b>.retries` (or `defaults.retries`); the options type is derived from it. */
export const retriesSchema = Type.Object(
  {
    count: Type.Integer({ minimum: 0, maximum: 20, default: 3, description: 'Retries after the first attempt fails.' }),
    redispatch: TypeList(['boolean', 'integer'], {
      default: true,
      description: 'Send a retry to another server: true = the last retry (HAProxy -1), false/0 = never, P > 0 = every Pth retry, N < 0 = the |N|th retry before the last. A retry whose server went down always goes elsewhere.',
    }),
    retryOn: Type.Array(
      OneOf([
        Enum(['conn-failure', 'empty-response', 'junk-response', 'response-timeout', 'all-retryable-errors']),
        Type.Integer({ minimum: 400, maximum: 599 }),
      ]),
      {
        default: ['conn-failure', 'empty-response', 'response-timeout'],
        description: 'What counts as a failed attempt: conn-failure (any method: nothing was sent), empty-response, junk-response, response-timeout, all-retryable-errors, or a status (404, 500, 502, 503, 504…). All but conn-failure apply to idempotent requests only.',
      },
    ),
    maxBodySize: SizeOption('Request bodies up to this size (with a Content-Length) are kept so the request can be sent again; larger or chunked bodies stream and are never retried.', '64kb'),
    delay: DurationOption('Wait before a retry on the same server (not before a redispatch).', '0ms'),
    idempotentMethods: Type.Array(Type.String({ pattern: '^[A-Z]+$' }), {
      default: ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'],
      description: 'Methods safe to send again after the server may have seen them (RFC 9110 §9.2.2).',
    }),
  },
  { additionalProperties: false, description: 'Retries and redispatch for this backend (HAProxy retries, retry-on, option redispatch).' },
);

/** `backends.<b>.retries` (or `defaults.retries`) after validation (sizes in bytes, durations in ms). */
export type RetriesOptions = Static<typeof retriesSchema>;
