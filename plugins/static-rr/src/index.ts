import { definePlugin, Slots } from '@switchyard/sdk';
import { StaticRoundRobinPolicy } from './policy';

export { StaticRoundRobinPolicy };

export const plugin = definePlugin({
  name: '@switchyard/plugin-static-rr',
  version: '0.1.2',
  core: '>=0.1.2 <1.0.0',
  description: 'Static weighted round-robin (balance: static-rr): a precompiled schedule, O(1) per selection.',
  register({ slots }) {
    slots.provide(Slots.BALANCE, 'static-rr', StaticRoundRobinPolicy, {
      description: 'Each server in turn by weight, from a schedule compiled when weights or availability change; O(1) per request.',
    });
  },
});

export default plugin;
