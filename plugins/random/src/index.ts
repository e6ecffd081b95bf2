import { definePlugin, Slots } from '@switchyard/sdk';
import { RandomPolicy } from './policy';
import { backendOptions } from './schema';

export { RandomPolicy, type RandomOptions } from './policy';

export const plugin = definePlugin({
  name: '@switchyard/plugin-random',
  version: '0.1.2',
  core: '>=0.1.2 <1.0.0',
  description: 'Weighted random with N draws, power of two choices by default (balance: random).',
  schema: { backend: backendOptions },
  register({ slots }) {
    slots.provide(Slots.BALANCE, 'random', RandomPolicy, {
      description: 'Draws randomDraws servers by weight and keeps the least loaded. Many gateways, no shared state, large farms.',
      options: backendOptions,
    });
  },
});

export default plugin;
