import type { Socket } from 'node:net';

/**
 * Ends the connections a plugin's own listener accepted (`gateway.openListener`), at its stop or
 * a reload's drain: `closeIdle` (an http.Server's `closeIdleConnections`) runs now and again as
 * requests finish, connections still busy get `graceMs` to end, the rest are cut. A request that
 * arrived just before a reload handed the port over is answered, not reset.
 */
export async function endConnections(sockets: ReadonlySet<Socket>, graceMs: number, closeIdle?: () => void): Promise<void> {
  const deadline = Date.now() + graceMs;
  closeIdle?.();
  while (sockets.size > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    closeIdle?.();
  }
  for (const s of sockets) s.destroy();
}
