import { RUNTIME_COMMAND_SLOT, type GatewayApi, type RuntimeCommand, type SlotRegistry } from '@switchyard/sdk';
import { DATA_TYPE_BY_NAME, DATA_TYPES, nowMs, STICK_TABLES as TABLES_TOKEN, type StickEntry, type StickTable } from './stick-table';
import type { StickTables } from './stick-counters';


/** A refusal worded as HAProxy's CLI words it; the runtime API prints the message alone. */
class TableCommandError extends Error {}
const fail = (m: string): never => {
  throw new TableCommandError(m);
};

function tablesOf(gateway: GatewayApi): StickTables | undefined {
  return gateway.container.isRegistered(TABLES_TOKEN) ? gateway.container.resolve<StickTables>(TABLES_TOKEN) : undefined;
}

/**
 * A key typed on the CLI, read as HAProxy 2.6 reads it: an address it cannot parse is
 * 0.0.0.0 (or ::), missing trailing octets are 0 ("1.2.3" is 1.2.3.0), a bad integer is refused.
 */
function cliKey(t: StickTable, k: string): string {
  if (t.type === 'integer' && (!/^\d+$/.test(k) || Number(k) > 0xffffffff)) fail('Invalid key');
  const norm = t.normalizeKey(k);
  if (norm !== undefined) return norm;
  if (t.type === 'ip') {
    const parts = /^\d{1,3}(\.\d{1,3}){0,2}$/.test(k) ? k.split('.').map(Number) : [];
    if (parts.every((p) => p <= 255) && parts.length > 0) return [...parts, 0, 0, 0].slice(0, 4).join('.');
    return '0.0.0.0';
  }
  if (t.type === 'ipv6') return '::';
  return fail('Invalid key');
}

type Op = 'eq' | 'ne' | 'le' | 'ge' | 'lt' | 'gt';
const OPS = new Set<Op>(['eq', 'ne', 'le', 'ge', 'lt', 'gt']);

interface Filter {
  type: number;
  op: Op;
  value: number;
}

/** `[data.<type> <op> <value>]* [key <k>]` of show/clear table, with HAProxy 2.6's messages. */
function parseSelectors(t: StickTable, words: string[], action: 'show' | 'clear'): { filters: Filter[]; key: string | undefined; keyGiven: boolean } {
  const filters: Filter[] = [];
  let key: string | undefined;
  let keyGiven = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'key') {
      const k = words[i + 1];
      if (k === undefined || k === '') fail('Key value expected');
      key = cliKey(t, k!);
      keyGiven = true;
      i++;
      continue;
    }
    if (w.startsWith('data.')) {
      const n = filters.length + 1;
      const type = DATA_TYPE_BY_NAME.get(w.slice(5));
      if (!type) fail(`Filter entry #${n}: Unknown data type`);
      if (!t.stores(type!.id)) fail(`Filter entry #${n}: Data type not stored in this table`);
      const op = words[i + 1] as Op;
      if (!OPS.has(op)) fail(`Filter entry #${n}: Require and operator among "eq", "ne", "le", "ge", "lt", "gt"`);
      const v = words[i + 2];
      if (v === undefined || !/^-?\d+$/.test(v)) fail(`Filter entry #${n}: Require a valid integer value to compare against`);
      filters.push({ type: type!.id, op, value: Number(v) });
      i += 2;
      continue;
    }
    fail(action === 'show' ? 'Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>' : 'Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>');
  }
  return { filters, key, keyGiven };
}

function matches(t: StickTable, e: StickEntry, filters: Filter[], now: number): boolean {
  for (const f of filters) {
    const v = Number(t.read(e, f.type, now) ?? 0);
    const ok = f.op === 'eq' ? v === f.value : f.op === 'ne' ? v !== f.value : f.op === 'le' ? v <= f.value : f.op === 'ge' ? v >= f.value : f.op === 'lt' ? v < f.value : v > f.value;
    if (!ok) return false;
  }
  return true;
}

const wordsOf = (args: Readonly<Record<string, string>>): string[] => (args.words ?? '').split(' ').filter((w) => w !== '');

function showTable(gateway: GatewayApi, words: string[]): string {
  const tables = tablesOf(gateway);
  const [name, ...rest] = words;
  if (name === undefined) {
    // HAProxy lists the tables last declared first.
    return [...(tables?.ordered ?? [])].reverse().map((t) => t.header()).join('\n');
  }
  const t = tables?.get(name) ?? fail('No such table');
  const { filters, key, keyGiven } = parseSelectors(t!, rest, 'show');
  const now = nowMs();
  if (keyGiven) {
    const e = t!.lookup(key!);
    if (!e) return '';
    return `${t!.header()}\n${t!.dumpEntry(e, now)}`;
  }
  const lines = [t!.header()];
  for (const e of t!.entries()) if (matches(t!, e, filters, now)) lines.push(t!.dumpEntry(e, now));
  return lines.join('\n');
}

function clearTable(gateway: GatewayApi, words: string[]): string {
  const [name, ...rest] = words;
  if (name === undefined) fail('Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>');
  const t = tablesOf(gateway)?.get(name!) ?? fail('No such table');
  const { filters, key, keyGiven } = parseSelectors(t!, rest, 'clear');
  const now = nowMs();
  if (keyGiven) {
    const e = t!.lookup(key!);
    if (e && e.use === 0) t!.delete(e.key);
    return '';
  }
  for (const e of t!.entries()) if (e.use === 0 && matches(t!, e, filters, now)) t!.delete(e.key);
  return '';
}

function setTable(gateway: GatewayApi, words: string[]): string {
  const [name, ...rest] = words;
  if (name === undefined) fail('Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>');
  const t = tablesOf(gateway)?.get(name!) ?? fail('No such table');
  if (rest[0] !== 'key') {
    if (rest[0]?.startsWith('data.')) fail('content-based lookup is only supported with the "show" and "clear" actions');
    fail('Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>');
  }
  const k = rest[1];
  if (k === undefined || k === '') fail('Key value expected');
  const key = cliKey(t!, k!);
  // HAProxy creates (or finds) the entry first, then stores each value in turn: a bad one stops there.
  const now = nowMs();
  const e = t!.getOrCreate(key, now) ?? fail('Unable to allocate a new entry');
  try {
    for (let i = 2; i < rest.length; i += 2) {
      const w = rest[i]!;
      if (!w.startsWith('data.')) fail('"data.<type>" followed by a value expected');
      const type = DATA_TYPE_BY_NAME.get(w.slice(5)) ?? fail('Unknown data type');
      if (!t!.stores(type!.id)) fail('Data type not stored in this table');
      const v = rest[i + 1];
      if (v === undefined || !/^-?\d+$/.test(v)) fail('Require a valid integer value to store');
      t!.set(e!, type!.id, DATA_TYPES[type!.id]!.std === 'uint' ? Number(v) >>> 0 : Number(v), now);
    }
  } finally {
    t!.touch(e!, now);
  }
  return '';
}

function command(summary: string, level: RuntimeCommand['level'], run: (g: GatewayApi, words: string[]) => string): RuntimeCommand {
  return {
    summary,
    args: ['words'],
    level,
    run: (gateway, args) => {
      try {
        return run(gateway, wordsOf(args));
      } catch (err) {
        if (err instanceof TableCommandError) return err.message;
        throw err;
      }
    },
  };
}

/** `show table`, `clear table`, `set table` as HAProxy's CLI has them (runtime API slot). */
export function provideTableCommands(slots: SlotRegistry): void {
  const cmds: Array<[string, RuntimeCommand]> = [
    ['show table', command('report table usage stats or dump this table\'s contents ([<table> [data.<type> <op> <v>]* [key <k>]])', 'user', showTable)],
    ['clear table', command('remove an entry from a table (<table> [data.<type> <op> <v>]* | key <k>)', 'operator', clearTable)],
    ['set table', command('update or create a table entry\'s data (<table> key <k> [data.<type> <v>]*)', 'admin', setTable)],
  ];
  for (const [name, c] of cmds) slots.provide(RUNTIME_COMMAND_SLOT, name, c, { description: c.summary });
}
