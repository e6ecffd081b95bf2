import type { RuntimeCommand } from '@switchyard/sdk';

/**
 * HAProxy's stats-socket access levels, lowest first: `user` may look (show …), `operator`
 * may change traffic (drain, maint, weight, health checks), `admin` may change the
 * configuration (add/del server, maps, reload).
 */
export type Level = 'user' | 'operator' | 'admin';
export const LEVELS: ReadonlyArray<Level> = ['user', 'operator', 'admin'];

export function levelAtLeast(have: Level, need: Level): boolean {
  return LEVELS.indexOf(have) >= LEVELS.indexOf(need);
}

/** The level a command needs: its own, else `user` for "show …" and `admin` for the rest. */
export function levelOf(name: string, command: Pick<RuntimeCommand, 'level'>): Level {
  if (command.level) return command.level;
  return name.startsWith('show ') || name === 'show' ? 'user' : 'admin';
}
