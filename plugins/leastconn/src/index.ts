import { definePlugin, Slots } from '@switchyard/sdk';
import { LeastConnPolicy } from './policy';

export { LeastConnPolicy };

export const plugin = definePlugin({
  name: '@switchyard/plugin-leastconn',
  version: '0.1.2',
  core: '>=0.1.2 <1.0.0',
  description: 'Weighted least connections (balance: leastconn).',
  register({ slots }) {
    slots.provide(Slots.BALANCE, 'leastconn', LeastConnPolicy, {
      description: 'The server with the fewest requests in flight for its weight; idle servers take turns. For long or uneven requests.',
    });
  },
});

export default plugin;
