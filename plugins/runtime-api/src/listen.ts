// No imports: `switchyard admin` (./cli.ts) needs this and nothing of the server.
export function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (m) return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
  return { host: '127.0.0.1', port: Number(listen) };
}
