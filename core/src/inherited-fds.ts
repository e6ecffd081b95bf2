import * as cluster from 'node:cluster';
import type { ListenOptions } from 'node:net';
import type { BindConfig } from '@switchyard/sdk';
import { CoreErrors } from './errors';

/** systemd passes its sockets from descriptor 3 on (SD_LISTEN_FDS_START). */
export const SD_LISTEN_FDS_START = 3;

export interface SystemdSockets {
  /** Descriptor numbers, from 3 on. */
  readonly fds: number[];
  /** LISTEN_FDNAMES, one per descriptor ("unknown" where systemd gave none). */
  readonly names: string[];
}

/**
 * The sockets systemd's socket activation passed to this process: LISTEN_FDS descriptors from
 * 3 on, named by LISTEN_FDNAMES, meant for LISTEN_PID. A cluster worker also accepts its
 * master's pid (the master is the process systemd started; the worker listens through it).
 */
export function systemdSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): SystemdSockets | null {
  const count = Number(env.LISTEN_FDS ?? '');
  if (!Number.isInteger(count) || count <= 0) return null;
  if (env.LISTEN_PID !== undefined && env.LISTEN_PID !== '') {
    const target = Number(env.LISTEN_PID);
    const mine = target === pid || (cluster.default?.isWorker === true && target === process.ppid);
    if (!mine) return null;
  }
  const given = (env.LISTEN_FDNAMES ?? '').split(':');
  const fds: number[] = [];
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    fds.push(SD_LISTEN_FDS_START + i);
    names.push(given[i] || 'unknown');
  }
  return { fds, names };
}

/** How a bind is shown in logs and errors: "127.0.0.1:80", "fd@3", "fd@systemd:web". */
export function describeBind(bind: Pick<BindConfig, 'host' | 'port' | 'fd'>): string {
  if (bind.fd !== undefined) return `fd@${bind.fd}`;
  return `${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${bind.port}`;
}

/**
 * The descriptor a bind's `fd` names: a number as given, `systemd` (the only socket systemd
 * passed), `systemd:<name>` (by LISTEN_FDNAMES) or `systemd:<n>` (the n-th, from 0).
 */
export function resolveBindFd(fd: number | string, frontend: string, env: NodeJS.ProcessEnv = process.env): number {
  if (typeof fd === 'number') return fd;
  if (/^\d+$/.test(fd)) return Number(fd);
  const m = /^systemd(?::(.+))?$/.exec(fd);
  const fail = (why: string): never => {
    throw CoreErrors.LISTEN_FD(frontend, `fd@${fd}`, why);
  };
  if (!m) return fail('fd is a descriptor number, "systemd", "systemd:<name>" or "systemd:<index>"');
  const sockets = systemdSockets(env);
  if (!sockets) return fail('no sockets passed by systemd (LISTEN_FDS is unset or 0, or LISTEN_PID names another process)');
  const want = m[1];
  if (want === undefined) {
    if (sockets.fds.length !== 1) return fail(`systemd passed ${sockets.fds.length} sockets (${sockets.names.join(', ')}): name one, systemd:<name>`);
    return sockets.fds[0]!;
  }
  const byName = sockets.names.indexOf(want);
  if (byName !== -1) return sockets.fds[byName]!;
  if (/^\d+$/.test(want) && Number(want) < sockets.fds.length) return sockets.fds[Number(want)]!;
  return fail(`systemd passed no socket named "${want}" (LISTEN_FDNAMES: ${sockets.names.join(', ')})`);
}

/** What net.Server#listen gets for a bind: an inherited descriptor, or host and port. */
export function listenOptions(bind: BindConfig, frontend: string, backlog = 1024): ListenOptions {
  if (bind.fd !== undefined) return { fd: resolveBindFd(bind.fd, frontend), backlog } as ListenOptions;
  return { host: bind.host, port: bind.port, backlog };
}
