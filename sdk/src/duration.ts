const DURATION = /^(\d+(?:\.\d+)?)(us|ms|s|m|h|d)?$/;
const DURATION_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const SIZE_UNITS: Record<string, number> = {
  b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** "5s", "250ms", "1m", "2h", or a number of milliseconds → milliseconds; undefined if unreadable. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!);
}

/** "64kb", "10m", "1gib", or a number of bytes → bytes; undefined if unreadable. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  const m = SIZE.exec(value.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

/** JSON Schema for a duration: ms as a number, or a string with a unit. Core converts it. */
export const durationSchema = (description: string, dflt?: string | number): Record<string, unknown> => ({
  description,
  type: ['string', 'number'],
  pattern: DURATION.source,
  minimum: 0,
  'x-duration': true,
  ...(dflt === undefined ? {} : { default: dflt }),
});

/** JSON Schema for a size in bytes: a number, or a string with a unit (kb, mb, gb). */
export const sizeSchema = (description: string, dflt?: string | number): Record<string, unknown> => ({
  description,
  type: ['string', 'number'],
  pattern: SIZE.source,
  minimum: 0,
  'x-size': true,
  ...(dflt === undefined ? {} : { default: dflt }),
});
