import { definePlugin, sizeSchema, Stage, type FrontendState } from '@switchyard/sdk';
import { ResponseCompressor, type CompressionConfig, type Encoding } from './compressor';

export { ResponseCompressor, type CompressionConfig, type Encoding };

export const NAME = '@switchyard/plugin-compression';

export const DEFAULT_TYPES = [
  'text/*', 'application/json', 'application/javascript', 'application/xml', 'application/xhtml+xml',
  'application/wasm', 'image/svg+xml', 'font/ttf', 'font/otf', '+json', '+xml',
];

export const plugin = definePlugin<CompressionConfig>({
  name: NAME,
  version: '0.1.2',
  core: '^0.1.0',
  description: 'Streaming gzip, deflate and brotli response compression, negotiated from Accept-Encoding.',
  configKey: 'compression',
  schema: {
    config: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Response compression.',
      properties: {
        encodings: {
          type: 'array',
          items: { type: 'string', enum: ['br', 'gzip', 'deflate'] },
          uniqueItems: true,
          minItems: 1,
          default: ['br', 'gzip', 'deflate'],
          description: 'Encodings offered, in the order preferred when the client values several equally.',
        },
        types: {
          type: 'array',
          items: { type: 'string', pattern: '^(\\+[a-z0-9.+-]+|[a-z0-9.+-]+/(\\*|[a-z0-9.+-]+))$' },
          default: DEFAULT_TYPES,
          description: 'Media types compressed: `text/html`, a wildcard `text/*`, or a structured-syntax suffix `+json`.',
        },
        minSize: sizeSchema('Responses whose Content-Length is smaller are sent uncompressed (unknown lengths are compressed).', 1024),
        level: { type: 'integer', minimum: 1, maximum: 9, default: 6, description: 'gzip and deflate level: 1 fastest, 9 smallest.' },
        brotliQuality: { type: 'integer', minimum: 0, maximum: 11, default: 4, description: 'brotli quality: 0 fastest, 11 smallest (4 suits on-the-fly compression).' },
      },
    },
    frontend: {
      compression: { type: 'boolean', default: true, description: 'Compress responses on this frontend (HTTP mode only).' },
    },
  },
  apply(gateway, config) {
    const frontends = new Set<FrontendState>();
    for (const fe of gateway.frontends.values()) if (fe.mode === 'http' && fe.config.compression !== false) frontends.add(fe);
    if (frontends.size === 0) return;
    const compressor = new ResponseCompressor(config, frontends);
    // Before the cache (Stage.CACHE), so the cache stores and replays compressed variants.
    gateway.hooks.respond.tap({ name: NAME, stage: Stage.DEFAULT }, (head, ex) => compressor.respond(head, ex));
  },
});

export default plugin;
