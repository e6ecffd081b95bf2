import type { Readable } from 'node:stream';
import { ForwardErrors } from '@switchyard/sdk';

/** Reads a request body of a known, small length into one Buffer, so it can be sent more than once. */
export function readBody(req: Readable, length: number, server: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const body = Buffer.allocUnsafe(length);
    let at = 0;
    const onData = (c: Buffer): void => {
      if (at + c.length > length) {
        cleanup();
        reject(ForwardErrors.BAD_RESPONSE(server, 'request body longer than its Content-Length'));
        return;
      }
      c.copy(body, at);
      at += c.length;
    };
    const onEnd = (): void => {
      cleanup();
      if (at === length) resolve(body);
      else reject(ForwardErrors.CLIENT_ABORT(server));
    };
    const onClose = (): void => {
      cleanup();
      reject(ForwardErrors.CLIENT_ABORT(server));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onClose);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onClose);
    req.once('close', onClose);
  });
}
