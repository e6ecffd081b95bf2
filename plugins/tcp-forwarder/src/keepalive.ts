import type * as net from 'node:net';
import {
  DurationOption, HAPROXY_DIRECTIVE_SLOT, Type, haproxyDirectiveName, type HaproxyDirective, type SlotRegistry, type StaticProperties, type TcpExchange,
} from '@switchyard/sdk';

/*
 * TCP keep-alive on the sessions this forwarder pipes (HAProxy's option tcpka / clitcpka /
 * srvtcpka and clitcpka-idle / srvtcpka-idle): long-lived database sessions through
 * firewalls and NAT that drop idle flows.
 */

const props = (side: string) => ({
  tcpKeepAlive: Type.Boolean({ description: `TCP keep-alive on the ${side} sockets of TCP-mode sessions (HAProxy option ${side === 'client' ? 'clitcpka' : 'srvtcpka'}).` }),
  tcpKeepAliveIdle: DurationOption(`Idle time before the first keep-alive probe on the ${side} side (HAProxy ${side === 'client' ? 'clitcpka' : 'srvtcpka'}-idle). Default: the system's.`),
});

/** A frontend's or backend's keep-alive options: `tcpKeepAliveIdle` in ms (unset: the system's net.ipv4.tcp_keepalive_time). */
export type TcpKeepAliveConfig = StaticProperties<ReturnType<typeof props>>;

export const keepAliveSchema = { frontend: props('client'), backend: props('server') };

/** Sets keep-alive on both sides of a session as its frontend and backend ask. */
export function applyKeepAlive(ex: TcpExchange, upstream: net.Socket): void {
  const fe = ex.frontend.config as TcpKeepAliveConfig;
  const be = ex.backend!.config as TcpKeepAliveConfig;
  if (fe.tcpKeepAlive === true) ex.socket.setKeepAlive(true, fe.tcpKeepAliveIdle ?? 0);
  if (be.tcpKeepAlive === true) upstream.setKeepAlive(true, be.tcpKeepAliveIdle ?? 0);
}

function directives(plugin: string): HaproxyDirective[] {
  const option = (keyword: 'tcpka' | 'clitcpka' | 'srvtcpka'): HaproxyDirective => ({
    scope: 'option',
    keyword,
    plugin,
    description: `TCP keep-alive on ${keyword === 'tcpka' ? 'both sides' : keyword === 'clitcpka' ? 'the client side' : 'the server side'}`,
    handle(ctx) {
      const on = !ctx.negated;
      if ((keyword === 'tcpka' || keyword === 'clitcpka') && ctx.frontend !== undefined) ctx.set(ctx.frontendPath('tcpKeepAlive'), on);
      if ((keyword === 'tcpka' || keyword === 'srvtcpka') && ctx.backend !== undefined) ctx.set(ctx.backendPath('tcpKeepAlive'), on);
    },
  });
  const idle = (keyword: string, side: 'frontend' | 'backend'): HaproxyDirective => ({
    scope: 'proxy',
    keyword,
    plugin,
    description: `idle time before the first keep-alive probe (${side === 'frontend' ? 'client' : 'server'} side)`,
    handle(ctx) {
      const d = ctx.duration(ctx.args[0]);
      if (d === undefined) return;
      if (side === 'frontend' && ctx.frontend !== undefined) ctx.set(ctx.frontendPath('tcpKeepAliveIdle'), d);
      if (side === 'backend' && ctx.backend !== undefined) ctx.set(ctx.backendPath('tcpKeepAliveIdle'), d);
    },
  });
  const unsupported = (keyword: string): HaproxyDirective => ({
    scope: 'proxy',
    keyword,
    plugin,
    description: 'keep-alive probe count/interval (the system\'s are used)',
    handle(ctx) {
      ctx.warn(`"${keyword}" ignored: Node.js sets only the idle time; the system's probe count and interval apply`);
    },
  });
  return [
    option('tcpka'), option('clitcpka'), option('srvtcpka'),
    idle('clitcpka-idle', 'frontend'), idle('srvtcpka-idle', 'backend'),
    unsupported('clitcpka-cnt'), unsupported('clitcpka-intvl'), unsupported('srvtcpka-cnt'), unsupported('srvtcpka-intvl'),
  ];
}

export function registerKeepAliveDirectives(slots: SlotRegistry, plugin: string): void {
  for (const d of directives(plugin)) slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName(d.scope, d.keyword), d, { description: d.description });
}
