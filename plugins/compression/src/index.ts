import { definePlugin, Stage, type FrontendState } from '@switchyard/sdk';
import { ResponseCompressor } from './compressor';
import { configSchema, DEFAULT_TYPES, frontendOptions, type CompressionConfig, type Encoding } from './schema';

export { ResponseCompressor, type CompressionConfig, type Encoding };

export const NAME = '@switchyard/plugin-compression';

export { DEFAULT_TYPES };

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.4',
  core: '>=0.1.2 <1.0.0',
  description: 'Streaming gzip, deflate and brotli response compression, negotiated from Accept-Encoding.',
  configKey: 'compression',
  schema: { config: configSchema, frontend: frontendOptions },
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
