import { Enum, SizeOption, Type, type Static } from '@switchyard/sdk';

export const DEFAULT_TYPES = [
  'text/*', 'application/json', 'application/javascript', 'application/xml', 'application/xhtml+xml',
  'application/wasm', 'image/svg+xml', 'font/ttf', 'font/otf', '+json', '+xml',
];

/** The top-level `compression` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object(
  {
    encodings: Type.Array(Enum(['br', 'gzip', 'deflate'], { type: 'string' }), {
      uniqueItems: true,
      minItems: 1,
      default: ['br', 'gzip', 'deflate'],
      description: 'Encodings offered, in the order preferred when the client values several equally.',
    }),
    types: Type.Array(Type.String({ pattern: '^(\\+[a-z0-9.+-]+|[a-z0-9.+-]+/(\\*|[a-z0-9.+-]+))$' }), {
      default: DEFAULT_TYPES,
      description: 'Media types compressed: `text/html`, a wildcard `text/*`, or a structured-syntax suffix `+json`.',
    }),
    minSize: SizeOption('Responses whose Content-Length is smaller are sent uncompressed (unknown lengths are compressed).', 1024),
    level: Type.Integer({ minimum: 1, maximum: 9, default: 6, description: 'gzip and deflate level: 1 fastest, 9 smallest.' }),
    brotliQuality: Type.Integer({ minimum: 0, maximum: 11, default: 4, description: 'brotli quality: 0 fastest, 11 smallest (4 suits on-the-fly compression).' }),
    rules: Enum(['default', 'haproxy'], {
      type: 'string',
      default: 'default',
      description: 'default: negotiated as above, Vary set whenever the type could be compressed; haproxy: HAProxy 2.6\'s choices (200–203 only, HTTP/1.1 requests, no multipart, types as Content-Type prefixes and an empty list for all, no malformed or repeated ETag, no old Mozilla/4 browsers, Vary only when compressing; what a haproxy.cfg adapts to).',
    }),
  },
  { default: {}, additionalProperties: false, description: 'Response compression.' },
);

/** The properties this plugin adds to every frontend. */
export const frontendOptions = {
  compression: Type.Boolean({ default: true, description: 'Compress responses on this frontend (HTTP mode only).' }),
};

/** The plugin's config (`compression:` key), after validation (sizes in bytes). */
export type CompressionConfig = Static<typeof configSchema>;
export type Encoding = CompressionConfig['encodings'][number];
