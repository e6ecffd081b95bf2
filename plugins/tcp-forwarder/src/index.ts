import * as net from 'node:net';
import { definePlugin, ForwardErrors, Stage, type GatewayApi, type TcpExchange } from '@switchyard/sdk';

export const NAME = '@switchyard/plugin-tcp-forwarder';

/**
 * Pipes a TCP session to its server: connect timeout, then both directions piped with
 * backpressure; a half-close (FIN) on one side is passed to the other, and the tunnel
 * timeout closes a session idle in both directions.
 */
export function forwardTcp(gateway: GatewayApi, ex: TcpExchange): void {
  const server = ex.server!;
  const timeouts = ex.backend!.config.timeouts;
  const client = ex.socket;
  const upstream = net.connect({ host: server.host, port: server.port, allowHalfOpen: true, noDelay: true });
  let connected = false;
  const connectTimer = setTimeout(() => {
    ex.fail(ForwardErrors.CONNECT_TIMEOUT(server.id, timeouts.connect));
    upstream.destroy();
  }, timeouts.connect);
  upstream.once('connect', () => {
    connected = true;
    clearTimeout(connectTimer);
    client.setTimeout(0);
    for (const chunk of ex.buffered) upstream.write(chunk);
    ex.buffered.length = 0;
    let idleSince = Date.now();
    const touch = (): void => {
      idleSince = Date.now();
    };
    client.on('data', touch);
    upstream.on('data', touch);
    const idle = setInterval(() => {
      if (Date.now() - idleSince >= timeouts.tunnel) {
        client.destroy();
        upstream.destroy();
      }
    }, Math.min(timeouts.tunnel, 1000));
    idle.unref();
    upstream.once('close', () => clearInterval(idle));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', (err: Error & { code?: string }) => {
    clearTimeout(connectTimer);
    if (!connected) {
      ex.fail(err.code === 'ECONNREFUSED' ? ForwardErrors.REFUSED.with({ cause: err }, server.id, err.code) : ForwardErrors.RESET.with({ cause: err }, server.id, err.code ?? err.message));
    } else if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
      gateway.logger.debug({ err, server: server.id }, 'tcp upstream error');
    }
    client.destroy();
  });
  upstream.once('close', () => {
    ex.bytesIn = client.bytesRead;
    ex.bytesOut = client.bytesWritten;
    client.destroy();
  });
  client.once('close', () => {
    ex.bytesIn = client.bytesRead;
    ex.bytesOut = client.bytesWritten;
    upstream.destroy();
  });
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Pipes TCP-mode sessions to the chosen server.',
  apply(gateway) {
    gateway.hooks.forward.tap({ name: NAME, stage: Stage.FORWARDER }, (ex) => {
      if (ex.kind !== 'tcp') return undefined;
      forwardTcp(gateway, ex);
      return true;
    });
  },
});

export default plugin;
