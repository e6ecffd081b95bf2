import { HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName, type HaproxyDirective, type SlotRegistry } from '@switchyard/sdk';

const FUNCTIONS = ['sdbm', 'djb2', 'wt6', 'crc32'];

/**
 * `hash-type <map-based|consistent> [<function> [avalanche]]` read as HAProxy 2.6 reads it
 * (cfgparse-listen.c): the default function is sdbm, and a bare `hash-type consistent` also
 * applies the avalanche (full_hash) — "sdbm for map-based and sdbm+avalanche for consistent".
 */
export function hashTypeDirective(plugin: string): HaproxyDirective {
  return {
    scope: 'proxy',
    keyword: 'hash-type',
    plugin,
    description: 'hash-type map-based|consistent [sdbm|djb2|wt6|crc32 [avalanche]] (HAProxy\'s hash functions and placement)',
    handle(ctx) {
      const [method, fn, modifier, extra] = ctx.args;
      if (ctx.backend === undefined) {
        if (!ctx.fromDefaults) ctx.problem('hash-type belongs in a backend');
        return;
      }
      if (method === 'avalanche') return ctx.problem(`'hash-type avalanche' is not supported anymore (HAProxy 2.6), write 'hash-type map-based sdbm avalanche'`);
      if (method !== 'map-based' && method !== 'consistent') return ctx.problem(`'hash-type' only supports 'consistent' and 'map-based'`);
      if (fn !== undefined && !FUNCTIONS.includes(fn)) return ctx.problem(`'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions`);
      if (modifier !== undefined && modifier !== 'avalanche') return ctx.problem(`'hash-type' only supports 'avalanche' as a modifier for hash functions`);
      if (extra !== undefined) return ctx.problem(`'hash-type': unexpected "${extra}"`);
      ctx.set(ctx.backendPath('hashType'), method);
      ctx.set(ctx.backendPath('hashFunction'), fn ?? 'sdbm');
      ctx.set(ctx.backendPath('hashAvalanche'), fn === undefined ? method === 'consistent' : modifier === 'avalanche');
    },
  };
}

export function registerHaproxyDirectives(slots: SlotRegistry, plugin: string): void {
  const d = hashTypeDirective(plugin);
  slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName(d.scope, d.keyword), d, { description: d.description });
}
