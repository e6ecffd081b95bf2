import { RUNTIME_COMMAND_SLOT, type GatewayApi, type RuntimeCommand, type SlotRegistry } from '@switchyard/sdk';
import { findPatternRef, patternRefs, type PatternRef } from './pattern-refs';

/** HAProxy's CLI map and ACL commands on the pattern references (pattern-refs.ts), worded as HAProxy words them. */
class Refusal extends Error {}
const fail = (m: string): never => {
  throw new Refusal(m);
};

const words = (args: Readonly<Record<string, string>>): string[] => (args.words ?? '').split(' ').filter((w) => w !== '');

function refOf(kind: 'map' | 'acl', name: string | undefined): PatternRef {
  const ref = name === undefined ? undefined : findPatternRef(kind, name);
  return ref ?? fail(`Unknown ${kind === 'map' ? 'map' : 'ACL'} identifier. Please use #<id> or <file>.`);
}

const ptr = (n: number): string => `0x${n.toString(16)}`;

function show(kind: 'map' | 'acl', w: string[]): string {
  if (w.length === 0) {
    return ['# id (file) description', ...patternRefs(kind).map((r) => `${r.id} (${r.file}) pattern loaded from file '${r.file}' used by ${kind}. curr_ver=0 next_ver=0 entry_cnt=${r.entries.length}`)].join('\n');
  }
  const ref = refOf(kind, w[0]);
  return ref.entries.map((e) => (kind === 'map' ? `${ptr(e.ptr)} ${e.key} ${e.value}` : `${ptr(e.ptr)} ${e.key}`)).join('\n');
}

function get(kind: 'map' | 'acl', w: string[]): string {
  const ref = refOf(kind, w[0]);
  const value = w.slice(1).join(' ');
  // Exact (str) lookup: the reference alone does not know which match a line uses it with.
  const e = ref.entries.find((x) => x.key === value);
  if (kind === 'map') return e ? `type=str, case=sensitive, found=yes, idx=tree, key="${e.key}", value="${e.value}", type="str"` : 'type=str, case=sensitive, found=no';
  return e ? `type=str, case=sensitive, match=yes, idx=tree, pattern="${e.key}"` : 'type=str, case=sensitive, match=no';
}

function add(kind: 'map' | 'acl', w: string[], payload: string | undefined): string {
  const ref = refOf(kind, w[0]);
  if (payload !== undefined && w.length === 1) {
    for (const line of payload.split('\n')) {
      const t = line.trim();
      if (t === '') continue;
      if (kind === 'acl') ref.add(t);
      else {
        const m = /^(\S+)\s+(.*)$/.exec(t);
        if (!m) return fail(`'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload`);
        ref.add(m[1]!, m[2]!.trim());
      }
    }
    return '';
  }
  if (kind === 'acl') {
    if (w.length < 2) return fail("'add acl' expects two parameters: ACL identifier and pattern.");
    ref.add(w.slice(1).join(' '));
    return '';
  }
  if (w.length < 3) return fail(`'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload`);
  ref.add(w[1]!, w.slice(2).join(' '));
  return '';
}

function del(kind: 'map' | 'acl', w: string[]): string {
  const ref = refOf(kind, w[0]);
  const key = w.slice(1).join(' ');
  if (key === '') return fail(kind === 'map' ? 'This command expects two parameters: map identifier and key.' : 'This command expects two parameters: ACL identifier and key.');
  if (!ref.delete(key)) return fail('Key not found.');
  return '';
}

function set(w: string[]): string {
  const ref = refOf('map', w[0]);
  if (w.length < 3) return fail("'set map' expects three parameters: map identifier, key and value.");
  if (!ref.set(w[1]!, w.slice(2).join(' '))) return fail('entry not found.');
  return '';
}

function clear(kind: 'map' | 'acl', w: string[]): string {
  refOf(kind, w[0]).clear();
  return '';
}

function command(summary: string, level: RuntimeCommand['level'], run: (w: string[], payload: string | undefined) => string): RuntimeCommand {
  return {
    summary,
    args: ['words', 'payload'],
    level,
    run: (_g: GatewayApi, args) => {
      try {
        return run(words(args), args.payload);
      } catch (err) {
        if (err instanceof Refusal) return err.message;
        throw err;
      }
    },
  };
}

/** `show|get|add|del|clear map|acl`, `set map` (HAProxy's CLI, through the runtime API). */
export function provideMapCommands(slots: SlotRegistry): void {
  const list: Array<[string, RuntimeCommand]> = [
    ['show map', command('report available maps or dump a map\'s contents ([<map>])', 'user', (w) => show('map', w))],
    ['get map', command('report the keys and values matching a sample for a map (<map> <value>)', 'user', (w) => get('map', w))],
    ['set map', command('modify a map entry (<map> <key>|#<ref> <value>)', 'admin', (w) => set(w))],
    ['add map', command('add a map entry, or several from a payload (<map> <key> <value> | <map> <<)', 'admin', (w, p) => add('map', w, p))],
    ['del map', command('delete the map entries of a key (<map> <key>|#<ref>)', 'admin', (w) => del('map', w))],
    ['clear map', command('clear the contents of a map (<map>)', 'admin', (w) => clear('map', w))],
    ['show acl', command('report available ACLs or dump an ACL\'s contents ([<acl>])', 'user', (w) => show('acl', w))],
    ['get acl', command('report the patterns matching a sample for an ACL (<acl> <value>)', 'user', (w) => get('acl', w))],
    ['add acl', command('add an ACL pattern, or several from a payload (<acl> <pattern> | <acl> <<)', 'admin', (w, p) => add('acl', w, p))],
    ['del acl', command('delete an ACL pattern (<acl> <pattern>|#<ref>)', 'admin', (w) => del('acl', w))],
    ['clear acl', command('clear the contents of an ACL (<acl>)', 'admin', (w) => clear('acl', w))],
  ];
  for (const [name, c] of list) slots.provide(RUNTIME_COMMAND_SLOT, name, c, { description: c.summary });
}
