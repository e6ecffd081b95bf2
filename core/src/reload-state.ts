import type { AdminState, HealthState, ServerChange } from '@switchyard/sdk';
import type { Gateway } from './gateway';

/**
 * What a reload carries from one generation to the next for each server that changed at
 * run time (HAProxy's server-state file): admin state, health and weight, with the weight and
 * address the config gave it then, so a config that changes either wins over the old state.
 */
export interface ServerSnapshot {
  admin: AdminState;
  health: HealthState;
  weight: number;
  /** The server's weight and address in the config when the snapshot was taken. */
  configWeight?: number;
  address?: string;
}

export const CARRIED_OVER = 'state carried over';

/** The snapshot of a server after a change (null for changes that came from a carry-over). */
export function snapshotOf(change: ServerChange): ServerSnapshot | null {
  if (change.reason === CARRIED_OVER) return null;
  const s = change.server;
  return { admin: s.admin, health: s.health, weight: s.weight, configWeight: s.config.weight, address: `${s.config.host}:${s.config.port}` };
}

/**
 * Applies saved states to a new generation: a server whose address changed starts afresh; one
 * whose configured weight changed keeps its state but takes the new weight.
 */
export function carryOver(gw: Gateway, states: Readonly<Record<string, ServerSnapshot>>): void {
  const apply: Record<string, { admin: AdminState; health: HealthState; weight: number }> = {};
  for (const [id, st] of Object.entries(states)) {
    const slash = id.indexOf('/');
    const server = gw.backends.get(id.slice(0, slash))?.server(id.slice(slash + 1));
    if (!server) continue;
    if (st.address !== undefined && st.address !== `${server.host}:${server.port}`) continue;
    const weight = st.configWeight !== undefined && st.configWeight !== server.config.weight ? server.config.weight : st.weight;
    apply[id] = { admin: st.admin, health: st.health, weight };
  }
  gw.applyServerStates(apply);
}
