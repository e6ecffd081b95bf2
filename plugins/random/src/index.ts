import { definePlugin, Slots } from '@switchyard/sdk';
import { RandomPolicy, type RandomOptions } from './policy';

export { RandomPolicy, type RandomOptions };

const randomDraws = {
  type: 'integer',
  minimum: 1,
  maximum: 16,
  default: 2,
  description: 'balance: random — servers drawn per request (by weight); the least loaded wins. 2 = power of two choices, 1 = plain weighted random.',
};

export const plugin = definePlugin({
  name: '@switchyard/plugin-random',
  version: '0.1.1',
  core: '^0.1.0',
  description: 'Weighted random with N draws, power of two choices by default (balance: random).',
  schema: { backend: { randomDraws } },
  register({ slots }) {
    slots.provide(Slots.BALANCE, 'random', RandomPolicy, {
      description: 'Draws randomDraws servers by weight and keeps the least loaded. Many gateways, no shared state, large farms.',
      options: { randomDraws },
    });
  },
});

export default plugin;
