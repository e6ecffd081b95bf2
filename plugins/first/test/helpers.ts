import { request } from 'undici';
import { startUpstream, type Upstream } from '@switchyard/sdk/testing';

/**
 * An upstream that answers /fast at once and keeps /hold/* requests open until released,
 * so a test decides exactly how many requests each server has in flight.
 */
export interface HoldingUpstream extends Upstream {
  /** Requests held now, oldest first (by URL). */
  readonly held: string[];
  /** Every URL received, in arrival order. */
  readonly arrivals: string[];
  releaseAll(): void;
}

export async function startHoldingUpstream(name: string): Promise<HoldingUpstream> {
  const pending: Array<{ url: string; end: () => void }> = [];
  const arrivals: string[] = [];
  const up = (await startUpstream({
    name,
    handler: (req, res) => {
      const url = req.url ?? '';
      arrivals.push(url);
      req.resume();
      const end = (): void => {
        res.writeHead(200, { 'x-upstream': name, 'content-type': 'text/plain' });
        res.end(`${name} ${url}\n`);
      };
      if (url.startsWith('/hold')) pending.push({ url, end });
      else end();
    },
  })) as HoldingUpstream;
  Object.defineProperty(up, 'held', { get: () => pending.map((p) => p.url) });
  Object.defineProperty(up, 'arrivals', { value: arrivals });
  up.releaseAll = () => {
    for (const p of pending.splice(0)) p.end();
  };
  return up;
}

/** Polls `check` every 20 ms for up to `ms` (bounded); throws with `what` when it never holds. */
export async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited >= ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Answer {
  status: number;
  upstream: string | undefined;
  body: string;
}

/** One GET; resolves when the answer is complete. */
export async function get(url: string): Promise<Answer> {
  const res = await request(url);
  const body = await res.body.text();
  const up = res.headers['x-upstream'];
  return { status: res.statusCode, upstream: typeof up === 'string' ? up : undefined, body };
}
