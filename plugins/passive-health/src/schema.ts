import { durationSchema, type JsonSchema } from '@switchyard/sdk';

const props: Record<string, JsonSchema> = {
  observe: {
    enum: ['layer4', 'layer7'],
    description: 'layer4 counts connection failures, resets and timeouts; layer7 also counts 5xx responses (except 501 and 505).',
  },
  errorLimit: { type: 'integer', minimum: 1, description: 'Consecutive errors on a server that trigger onError.' },
  onError: {
    enum: ['fastinter', 'fail-check', 'sudden-death', 'mark-down'],
    description: 'fastinter: check now at fastinter; fail-check: count one failed check; sudden-death: one more failed check marks DOWN; mark-down: DOWN now. The last two also work without active checks (see recover).',
  },
  recover: durationSchema('Without an active check, how long a server marked down by passive health stays DOWN before it is tried again.'),
};

const withDefaults = (): Record<string, JsonSchema> => ({
  observe: { ...props.observe, default: 'layer7' },
  errorLimit: { ...props.errorLimit, default: 10 },
  onError: { ...props.onError, default: 'fail-check' },
  recover: durationSchema(String(props.recover!.description), '10s'),
});

export const passiveHealthSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Passive health: learn from live traffic (HAProxy observe / error-limit / on-error).',
  properties: withDefaults(),
};

export const serverPassiveSchema: JsonSchema = {
  type: ['boolean', 'object'],
  additionalProperties: false,
  description: 'Passive health of this server: false turns it off, an object overrides the backend\'s passiveHealth.',
  properties: props,
};
