import { DurationOption, Enum, Type, type Static } from '@switchyard/sdk';

const DESCRIPTIONS = {
  observe: 'layer4 counts connection failures, resets and timeouts; layer7 also counts 5xx responses (except 501 and 505).',
  errorLimit: 'Consecutive errors on a server that trigger onError.',
  onError: 'fastinter: check now at fastinter; fail-check: count one failed check; sudden-death: one more failed check marks DOWN; mark-down: DOWN now. The last two also work without active checks (see recover).',
  recover: 'Without an active check, how long a server marked down by passive health stays DOWN before it is tried again.',
};

/** A server's overrides: the same properties, none defaulted (the backend's apply). */
const props = {
  observe: Enum(['layer4', 'layer7'], { description: DESCRIPTIONS.observe }),
  errorLimit: Type.Integer({ minimum: 1, description: DESCRIPTIONS.errorLimit }),
  onError: Enum(['fastinter', 'fail-check', 'sudden-death', 'mark-down'], { description: DESCRIPTIONS.onError }),
  recover: DurationOption(DESCRIPTIONS.recover),
};

/** `backends.<b>.passiveHealth` (or `defaults.passiveHealth`); the options type is derived from it. */
export const passiveHealthSchema = Type.Object(
  {
    observe: Enum(['layer4', 'layer7'], { description: DESCRIPTIONS.observe, default: 'layer7' }),
    errorLimit: Type.Integer({ minimum: 1, description: DESCRIPTIONS.errorLimit, default: 10 }),
    onError: Enum(['fastinter', 'fail-check', 'sudden-death', 'mark-down'], { description: DESCRIPTIONS.onError, default: 'fail-check' }),
    recover: DurationOption(DESCRIPTIONS.recover, '10s'),
  },
  { additionalProperties: false, description: 'Passive health: learn from live traffic (HAProxy observe / error-limit / on-error).' },
);

/** `backends.<b>.passiveHealth` after validation (`recover` in ms). */
export type PassiveHealthOptions = Static<typeof passiveHealthSchema>;
export type OnError = PassiveHealthOptions['onError'];

/** `servers[i].passiveHealth`: false turns it off, an object overrides some of the backend's options. */
export const serverPassiveSchema = Type.Unsafe<boolean | Partial<PassiveHealthOptions>>({
  type: ['boolean', 'object'],
  additionalProperties: false,
  description: 'Passive health of this server: false turns it off, an object overrides the backend\'s passiveHealth.',
  properties: props,
});
