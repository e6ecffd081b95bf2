import { CLI_COMMAND_SLOT, Slots, definePlugin, type ConfigAdapter, type SlotRegistry } from '@switchyard/sdk';
import { adaptHaproxy } from './adapt';
import { adaptCommand, adaptCommandWith } from './cli';

export { adaptHaproxy, adaptCommand };
export { HaproxyErrors } from './errors';

/** The `haproxy` config adapter: reads haproxy.cfg (`.cfg`, or `--adapter haproxy`). */
export const haproxyAdapter: ConfigAdapter = {
  extensions: ['.cfg'],
  adapt: (text, file, options) => adaptHaproxy(text, file, options),
};

/** The adapter bound to the slots of the plugins loaded beside it: their `haproxy.directive`s. */
function adapterWith(slots: SlotRegistry): ConfigAdapter {
  return { extensions: ['.cfg'], adapt: (text, file, options) => adaptHaproxy(text, file, { ...options, slots }) };
}

export const plugin = definePlugin({
  name: '@switchyard/plugin-haproxy-adapter',
  version: '0.3.17',
  core: '>=0.1.2 <1.0.0',
  description: "Reads HAProxy's haproxy.cfg (config adapter `haproxy`) and prints its native YAML (`switchyard adapt`).",
  register({ slots }) {
    slots.provide(Slots.CONFIG_ADAPTER, 'haproxy', adapterWith(slots), { description: 'haproxy.cfg → the canonical model.' });
    slots.provide(CLI_COMMAND_SLOT, 'adapt', adaptCommandWith(slots), { description: 'Print the native YAML of a haproxy.cfg.' });
  },
});

export default plugin;
