import { definePreset } from '@switchyard/sdk';

/**
 * The plugins a gateway gets when its config lists no `plugins:`: every first-party plugin
 * that taps no hook and starts nothing until its config asks for it, so a config can use any
 * of their keys without listing plugins. Plugins that act as soon as they are loaded — the
 * HTTP cache, compression, stats, Prometheus metrics, access logs, Redis shared state — are
 * opt-in: list them after this preset.
 */
export const preset = definePreset({
  name: '@switchyard/preset-standard',
  version: '0.2.11',
  description: 'Forwarders, balancing, failover, ACLs and rules, TLS, traffic shaping, auth, runtime API, haproxy.cfg adapter.',
  plugins: [
    '@switchyard/plugin-http-forwarder',
    '@switchyard/plugin-tcp-forwarder',
    '@switchyard/plugin-roundrobin',
    '@switchyard/plugin-static-rr',
    '@switchyard/plugin-leastconn',
    '@switchyard/plugin-first',
    '@switchyard/plugin-random',
    '@switchyard/plugin-hash',
    '@switchyard/plugin-slowstart',
    '@switchyard/plugin-stickiness',
    '@switchyard/plugin-health-check',
    '@switchyard/plugin-passive-health',
    '@switchyard/plugin-retries',
    '@switchyard/plugin-acl',
    '@switchyard/plugin-http-rules',
    '@switchyard/plugin-forwarded-headers',
    '@switchyard/plugin-tls',
    '@switchyard/plugin-https-redirect',
    '@switchyard/plugin-proxy-protocol',
    '@switchyard/plugin-sni-passthrough',
    '@switchyard/plugin-rate-limit',
    '@switchyard/plugin-conn-limit',
    '@switchyard/plugin-bandwidth',
    '@switchyard/plugin-basic-auth',
    '@switchyard/plugin-jwt-auth',
    '@switchyard/plugin-forward-auth',
    '@switchyard/plugin-api-key',
    '@switchyard/plugin-monitor',
    '@switchyard/plugin-runtime-api',
    '@switchyard/plugin-haproxy-adapter',
    '@switchyard/plugin-resolvers',
    '@switchyard/plugin-spoe',
    '@switchyard/plugin-peers',
  ],
});

export default preset;
