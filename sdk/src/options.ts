/**
 * Options types from schemas, as Fastify's TypeBox type provider does it: a plugin writes
 * its config schema once with TypeBox's `Type` builders, and `definePlugin` derives the
 * options type its steps receive (`Static<typeof schema>`), so the two cannot drift.
 *
 * TypeBox was chosen over json-schema-to-ts for inference quality: its builders carry their
 * static type directly (no `as const` literal, no deep conditional types to slow the
 * compiler), optional vs defaulted keys are explicit, and the result is plain JSON Schema
 * that the core's ajv validates as before.
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { durationSchema, sizeSchema } from './duration';

export { Type };
export type { Static, TSchema };

/**
 * A duration option ("250ms", "5s", "1m" or milliseconds): validated and converted by the
 * core, so the plugin sees a number of milliseconds.
 */
export function DurationOption(description: string, dflt?: string | number): TUnsafe<number> {
  return Type.Unsafe<number>(durationSchema(description, dflt));
}

/** A size option ("64kb", "10mb" or bytes): the plugin sees a number of bytes. */
export function SizeOption(description: string, dflt?: string | number): TUnsafe<number> {
  return Type.Unsafe<number>(sizeSchema(description, dflt));
}
