import { definePlugin, Slots } from '@switchyard/sdk';
import { FirstPolicy } from './policy';

export { FirstPolicy };

export const plugin = definePlugin({
  name: '@switchyard/plugin-first',
  version: '0.1.2',
  core: '>=0.1.2 <1.0.0',
  description: 'First available server in order, up to its maxconn (balance: first).',
  register({ slots }) {
    slots.provide(Slots.BALANCE, 'first', FirstPolicy, {
      description: 'Fills servers in config order up to each one\'s maxconn; the rest stay idle. Set maxconn on every server.',
    });
  },
});

export default plugin;
