import { definePreset } from '@switchyard/sdk';

/** The plugins a gateway gets when its config lists no `plugins:`. */
export const preset = definePreset({
  name: '@switchyard/preset-standard',
  version: '0.1.0',
  description: 'Forwarders (HTTP, TCP) and balancing.',
  plugins: [
    '@switchyard/plugin-http-forwarder',
    '@switchyard/plugin-tcp-forwarder',
    '@switchyard/plugin-roundrobin',
    '@switchyard/plugin-haproxy-adapter',
  ],
});

export default preset;
