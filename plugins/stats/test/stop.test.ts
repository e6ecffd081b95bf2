import * as net from 'node:net';
import { startTestGateway, startUpstream } from '@switchyard/sdk/testing';
import { STATS_SERVICE, type StatsService } from '@switchyard/plugin-stats';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('stats page and stop', () => {
  it('a gateway stopped right after it started leaves no stats port open (stop before the listen callback)', async () => {
    const up = await startUpstream();
    try {
      const gw = await startTestGateway({
        plugins: ['@switchyard/preset-standard', '@switchyard/plugin-stats'],
        stats: { listen: '127.0.0.1:0' },
        frontends: { web: { bind: '127.0.0.1:0', defaultBackend: 'app' } },
        backends: { app: { servers: [{ address: up.address }] } },
      });
      const ready = gw.gateway.container.resolve<StatsService>(STATS_SERVICE).ready;
      // No await between start and stop: the page's listen() is still in flight.
      const stopped = gw.stop();
      const { port } = await ready;
      await stopped;
      expect(await refused(port)).toBe(true);
    } finally {
      await up.close();
    }
  });
});
