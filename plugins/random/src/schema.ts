import { Type, type StaticProperties } from '@switchyard/sdk';

/** The property this plugin adds to every backend (read only by balance: random). */
export const backendOptions = {
  randomDraws: Type.Integer({
    minimum: 1,
    maximum: 16,
    default: 2,
    description: 'balance: random — servers drawn per request (by weight); the least loaded wins. 2 = power of two choices, 1 = plain weighted random.',
  }),
};

/** The backend options the policy reads. */
export type RandomOptions = StaticProperties<typeof backendOptions>;
