import { definePlugin, Slots } from '@switchyard/sdk';
import { RoundRobinPolicy } from './policy';

export { RoundRobinPolicy };

export const plugin = definePlugin({
  name: '@switchyard/plugin-roundrobin',
  version: '0.1.2',
  core: '>=0.1.2 <1.0.0',
  description: 'Smooth weighted round-robin (balance: roundrobin), the default policy.',
  register({ slots }) {
    slots.provide(Slots.BALANCE, 'roundrobin', RoundRobinPolicy, {
      description: 'Each server in turn, in proportion to its weight; weights may change at run time.',
    });
  },
});

export default plugin;
