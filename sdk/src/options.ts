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
import type { Static, TSchema, TUnsafe } from '@sinclair/typebox';
import type * as TypeBox from '@sinclair/typebox';
import { durationSchema, sizeSchema } from './duration';

let builder: typeof TypeBox.Type | undefined;
/**
 * TypeBox's `Type`, required on first use: TypeBox is some 200 modules, and a process that
 * loads no plugin building its schema with it (`switchyard admin`, most configs) never pays
 * for them (start-up time, idle RSS).
 */
export const Type: typeof TypeBox.Type = new Proxy({} as typeof TypeBox.Type, {
  get(_target, key) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    builder ??= (require('@sinclair/typebox') as typeof TypeBox).Type;
    const value: unknown = Reflect.get(builder, key, builder);
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(builder) : value;
  },
});
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

type Schema = Record<string, unknown>;

/**
 * `{ enum: [...] }` typed as the union of its values. (TypeBox's own `Union` of `Literal`s
 * emits `anyOf`, whose ajv errors read worse than "must be equal to one of the allowed values".)
 */
export function Enum<const V extends ReadonlyArray<string | number | boolean>>(values: V, options: Schema = {}): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ ...options, enum: [...values] });
}

/** An object whose keys are names chosen by the user (`additionalProperties: <value schema>`), typed `Record<string, V>`. */
export function MapOf<V extends TSchema>(value: V, options: Schema = {}): TUnsafe<Record<string, Static<V>>> {
  return Type.Unsafe<Record<string, Static<V>>>({ ...options, type: 'object', additionalProperties: value });
}

/** `{ oneOf: [...] }` (exactly one matches), typed as the union of the alternatives. */
export function OneOf<const T extends ReadonlyArray<TSchema>>(schemas: T, options: Schema = {}): TUnsafe<Static<T[number]>> {
  return Type.Unsafe<Static<T[number]>>({ ...options, oneOf: [...schemas] });
}

/**
 * The type of the properties a plugin adds to every frontend, backend, server… (`schema.frontend`
 * and the like): `StaticProperties<typeof backendOptions>` gives each one optional, as a
 * frontend that does not use the feature has none.
 */
export type StaticProperties<P extends Record<string, TSchema>> = { [K in keyof P]?: Static<P[K]> };

type JsonTypeName = 'string' | 'number' | 'integer' | 'boolean' | 'null';
type JsonTypeOf<N extends JsonTypeName> = N extends 'string' ? string : N extends 'number' | 'integer' ? number : N extends 'boolean' ? boolean : null;

/** `{ type: ['boolean', 'integer'] }` (a value of any of these JSON types), typed as the union. */
export function TypeList<const N extends ReadonlyArray<JsonTypeName>>(types: N, options: Schema = {}): TUnsafe<JsonTypeOf<N[number]>> {
  return Type.Unsafe<JsonTypeOf<N[number]>>({ ...options, type: [...types] });
}
