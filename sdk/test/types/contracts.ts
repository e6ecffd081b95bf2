// Compiled by sdk/test/types.test.ts with `tsc --noEmit`: each @ts-expect-error must be an error.
import {
  Slots, Type, defineKey, defineService, defineSlot, definePlugin, DurationOption,
  type BalancePolicyClass, type GatewayApi, type SlotRegistry,
} from '../../src/index';

declare const slots: SlotRegistry;
declare const Policy: BalancePolicyClass;
declare const gateway: GatewayApi;

// Slots: the well-known names and defineSlot keys carry their implementation type.
slots.provide('balance', 'a', Policy);
slots.provide(Slots.BALANCE, 'a', Policy);
// @ts-expect-error a number is not a BalancePolicyClass
slots.provide('balance', 'b', 42);
// @ts-expect-error an object with select() is not a class
slots.provide(Slots.BALANCE, 'b', { select: () => undefined });
const GREETERS = defineSlot<{ greet(name: string): string }>('example.greeter');
slots.provide(GREETERS, 'en', { greet: (n) => `hello ${n}` });
// @ts-expect-error wrong shape for the slot's type
slots.provide(GREETERS, 'xx', { wave: () => 'hi' });
const policy: BalancePolicyClass | undefined = slots.get('balance', 'a');
void policy;

// Services and state keys are typed by their tokens.
const COUNTER = defineService<{ n: number }>('example.counter');
gateway.services.provide(COUNTER, { n: 1 });
// @ts-expect-error the value does not match the token's type
gateway.services.provide(COUNTER, { n: 'one' });
const n: number = gateway.services.get(COUNTER).n;
const SEEN = defineKey<number>('example.seen');
declare const holder: { vars: Map<string, unknown> };
SEEN.set(holder, n);
// @ts-expect-error a string is not the key's type
SEEN.set(holder, 'x');

// Options derived from a TypeBox schema.
definePlugin({
  name: 'typed', version: '1.0.0', core: '>=0.1.0 <1.0.0', configKey: 'typed',
  schema: {
    config: Type.Object({
      header: Type.String({ default: 'x-typed', description: 'Header to set.' }),
      every: DurationOption('How often.', '5s'),
      tags: Type.Optional(Type.Array(Type.String(), { description: 'Tags.' })),
    }),
  },
  provision(_gw, options) {
    const h: string = options.header;
    const ms: number = options.every;
    const tags: string[] | undefined = options.tags;
    // @ts-expect-error not in the schema
    void options.nope;
    void h; void ms; void tags;
  },
});
