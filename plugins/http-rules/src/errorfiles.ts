import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OutgoingHttpHeaders } from 'node:http';
import type { BackendState, FrontendState, GatewayApi, HttpExchange } from '@switchyard/sdk';

/**
 * HAProxy's errorfiles as the answers of `deny` rules: `http-request deny deny_status 400`
 * answers with the proxy's `errorfile 400` when there is one — the file is a whole HTTP
 * response (status line, headers, body) sent as it is, and an empty file (`/dev/null`) means
 * "close the connection without an answer". The backend's file wins over the frontend's.
 */
export interface ErrorFileAnswer {
  status: number;
  reason: string | undefined;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

/** null: an empty file, answer nothing and close. */
type Pages = Map<number, ErrorFileAnswer | null>;

const PAGES = new WeakMap<FrontendState | BackendState, Pages>();

/** Reads an errorfile: `HTTP/1.x <status> <reason>`, header lines, a blank line, the body. */
export function parseErrorFile(data: Buffer, status: number): ErrorFileAnswer | null {
  if (data.length === 0) return null;
  const text = data.toString('latin1');
  const head = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?\r?\n((?:[^\r\n]+\r?\n)*?)\r?\n/.exec(text);
  if (!head) return { status, reason: undefined, headers: { 'content-type': 'text/html', 'cache-control': 'no-cache' }, body: data };
  const headers: OutgoingHttpHeaders = {};
  for (const line of head[3]!.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length' || name === 'transfer-encoding') continue; // the body's own length is sent
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  return { status: Number(head[1]), reason: head[2], headers, body: data.subarray(Buffer.byteLength(head[0], 'latin1')) };
}

function load(gateway: GatewayApi, files: Record<string, string> | undefined): Pages | undefined {
  if (files === undefined) return undefined;
  const pages: Pages = new Map();
  for (const [code, file] of Object.entries(files)) {
    const status = Number(code);
    try {
      pages.set(status, parseErrorFile(fs.readFileSync(path.resolve(gateway.baseDir, file)), status));
    } catch {
      // the core reports an unreadable page when it loads the config
    }
  }
  return pages.size > 0 ? pages : undefined;
}

/** Reads every frontend's and backend's errorFiles once (apply). */
export function loadErrorFiles(gateway: GatewayApi): void {
  for (const fe of gateway.frontends.values()) {
    const p = load(gateway, fe.config.errorFiles);
    if (p) PAGES.set(fe, p);
  }
  for (const be of gateway.backends.values()) {
    const p = load(gateway, be.config.errorFiles);
    if (p) PAGES.set(be, p);
  }
}

/** The errorfile answer for `status` on this exchange: a page, null (close), or undefined (none). */
export function errorFileFor(ex: HttpExchange, status: number): ErrorFileAnswer | null | undefined {
  const fromBackend = ex.backend ? PAGES.get(ex.backend)?.get(status) : undefined;
  if (fromBackend !== undefined) return fromBackend;
  return PAGES.get(ex.frontend)?.get(status);
}
