import { FETCH_SLOT, type BackendConfig, type Exchange, type FetchDefinition, type FetchValue, type SlotRegistry } from '@switchyard/sdk';
import type { StickTableConfig } from './schema';
import { StickErrors } from './errors';
import type { StickStore } from './store';

/** `stickTable:` on a backend, after validation (durations in ms). */
export type { StickTableConfig };

/** Reads a stick key from an exchange; undefined when it has none. */
export type StickKeyReader = (ex: Exchange) => string | undefined;

const EXPRESSION = /^([A-Za-z][A-Za-z0-9._-]*)(?:\((.*)\))?$/;

function keyOf(v: FetchValue): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const first = v[0];
  return first === undefined || first === '' ? undefined : first;
}

/**
 * Compiles `stickTable.key`: a fetch from the `fetch` slot (`src`, `hdr(x-user)`,
 * `cookie(session)`…). `src` works without any fetch plugin: it is the client address.
 */
export function compileStickKey(expr: string, backend: string, config: BackendConfig, slots: SlotRegistry): StickKeyReader {
  const m = EXPRESSION.exec(expr.trim());
  if (!m) throw StickErrors.CONFIG(backend, `stickTable.key "${expr}" is not a fetch expression like name or name(arg)`);
  const name = m[1]!;
  const arg = m[2];
  const def = slots.get<FetchDefinition>(FETCH_SLOT, name);
  if (!def) {
    if (name === 'src' && arg === undefined) return (ex) => ex.clientAddress;
    throw StickErrors.FETCH_UNKNOWN(backend, expr, name, ['src', ...slots.names(FETCH_SLOT).filter((n) => n !== 'src')].join(', '));
  }
  if (def.arg === 'required' && (arg === undefined || arg === '')) throw StickErrors.CONFIG(backend, `fetch ${name} needs an argument: ${name}(...)`);
  if (def.arg === 'none' && arg !== undefined) throw StickErrors.CONFIG(backend, `fetch ${name} takes no argument`);
  if (!def.modes.includes(config.mode)) throw StickErrors.CONFIG(backend, `fetch ${name} does not work in ${config.mode} mode`);
  let read: (ex: Exchange) => FetchValue;
  try {
    read = def.compile(arg);
  } catch (err) {
    throw StickErrors.CONFIG.with({ cause: err }, backend, `stickTable.key "${expr}": ${err instanceof Error ? err.message : String(err)}`);
  }
  return (ex) => keyOf(read(ex));
}

/** One backend's stick table: where its entries live and how a request finds its key. */
export interface StickTable {
  readonly name: string;
  readonly store: StickStore;
  readonly key: StickKeyReader;
  readonly expire: number;
  readonly size: number;
}
