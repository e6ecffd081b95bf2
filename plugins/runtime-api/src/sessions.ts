import { isIPv6 } from 'node:net';
import { Stage, type Exchange, type GatewayApi } from '@switchyard/sdk';

/**
 * The exchanges in progress, for `show sess` / `shutdown session`: a route tap (first of all)
 * adds each exchange, the log tap (the exchange is over) removes it. Tapped only when the
 * gateway has CLI sockets.
 */
const live = new WeakMap<GatewayApi, Set<Exchange>>();

export function trackSessions(gateway: GatewayApi): void {
  if (live.has(gateway)) return;
  const set = new Set<Exchange>();
  live.set(gateway, set);
  gateway.hooks.route.tap({ name: '@switchyard/plugin-runtime-api:sessions', stage: Stage.CONNECTION - 100 }, (ex) => {
    set.add(ex);
    return undefined;
  });
  gateway.hooks.log.tap({ name: '@switchyard/plugin-runtime-api:sessions' }, (ex) => {
    set.delete(ex);
  });
}

/** The address `show sess` prints for an exchange (stable per exchange). */
export const sessionPtr = (ex: Exchange): string => `0x${(0x7f00_0000_0000 + ex.id * 0x400).toString(16)}`;

/** HAProxy's `show sess` line, the fields Switchyard has (its buffers' internals are not there). */
export function showSessions(gateway: GatewayApi): string {
  const now = Date.now();
  const lines: string[] = [];
  for (const ex of live.get(gateway) ?? []) {
    const age = Math.max(0, Math.floor((now - ex.startTime) / 1000));
    const proto = isIPv6(ex.clientAddress) && !ex.clientAddress.startsWith('::ffff:') ? 'tcpv6' : 'tcpv4';
    lines.push(`${sessionPtr(ex)}: proto=${proto} src=${ex.clientAddress}:${ex.clientPort} fe=${ex.frontend.name} be=${ex.backend?.name ?? '<NONE>'} srv=${ex.server?.name ?? '<none>'} ts=00 epoch=0 age=${age}s calls=1 rate=0 cpu=0 lat=0`);
  }
  return lines.join('\n');
}

/** `shutdown session <ptr>`: closes the exchange's client connection. */
export function shutdownSession(gateway: GatewayApi, ptr: string | undefined): string | undefined {
  if (!ptr) return 'Session pointer expected (use \'show sess\').';
  for (const ex of live.get(gateway) ?? []) {
    if (sessionPtr(ex) !== ptr.toLowerCase()) continue;
    ex.termination = 'local';
    ex.socket.destroy();
    return '';
  }
  return 'No such session (use \'show sess\').';
}
