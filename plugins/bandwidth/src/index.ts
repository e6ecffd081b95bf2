import { definePlugin, Stage, type FrontendState } from '@switchyard/sdk';
import { bandwidthSchema, type BandwidthLimits, type DirectionLimits } from './schema';
import { ClientBuckets, TokenBucket } from './bucket';
import { paceRequestBody, ThrottleStream } from './throttle';

export { ClientBuckets, TokenBucket, ThrottleStream, paceRequestBody };

export const NAME = '@switchyard/plugin-bandwidth';

export type { BandwidthLimits, DirectionLimits };

interface Direction {
  perStream: number;
  clients: ClientBuckets | null;
}

interface Compiled {
  download: Direction | null;
  upload: Direction | null;
}

function compileDirection(d: DirectionLimits | undefined): Direction | null {
  if (!d || (d.perStream === 0 && d.perClient === 0)) return null;
  return { perStream: d.perStream, clients: d.perClient > 0 ? new ClientBuckets(d.perClient) : null };
}

function bucketsFor(d: Direction, address: string): TokenBucket[] {
  const out: TokenBucket[] = [];
  if (d.perStream > 0) out.push(new TokenBucket(d.perStream));
  if (d.clients !== null) out.push(d.clients.acquire(address));
  return out;
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.3',
  core: '>=0.1.2 <1.0.0',
  description: 'Bytes-per-second limits per stream and per client address, for responses and request bodies.',
  schema: { frontend: { bandwidth: bandwidthSchema } },
  apply(gateway) {
    const byFrontend = new Map<FrontendState, Compiled>();
    let anyDownload = false;
    let anyUpload = false;
    for (const fe of gateway.frontends.values()) {
      const cfg = fe.config.bandwidth as BandwidthLimits | undefined;
      if (!cfg || fe.mode !== 'http') continue;
      const c: Compiled = { download: compileDirection(cfg.download), upload: compileDirection(cfg.upload) };
      if (c.download === null && c.upload === null) continue;
      anyDownload ||= c.download !== null;
      anyUpload ||= c.upload !== null;
      byFrontend.set(fe, c);
    }
    if (anyUpload) {
      // Before the forwarder reads the body; after limits and auth, so refused requests cost nothing.
      gateway.hooks.route.tap({ name: NAME, stage: Stage.RATE_LIMIT + 50 }, (ex) => {
        if (ex.kind !== 'http' || ex.upgrade) return undefined;
        const up = byFrontend.get(ex.frontend)?.upload;
        if (!up || !ex.hasBody) return undefined;
        const address = ex.clientAddress;
        paceRequestBody(ex.body, bucketsFor(up, address), () => up.clients?.release(address));
        return undefined;
      });
    }
    if (anyDownload) {
      gateway.hooks.respond.tap({ name: NAME, stage: Stage.OBSERVE }, (head, ex) => {
        const down = byFrontend.get(ex.frontend)?.download;
        if (!down || ex.method === 'HEAD' || head.statusCode === 204 || head.statusCode === 304) return head;
        const address = ex.clientAddress;
        head.transforms.push(new ThrottleStream(bucketsFor(down, address), () => down.clients?.release(address)));
        return head;
      });
    }
  },
});

export default plugin;
