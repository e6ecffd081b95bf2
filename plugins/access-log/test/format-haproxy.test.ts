/**
 * Log-format variables checked against what HAProxy 2.6 writes for the same template and
 * request (run by hand: `log-format "A%hr|%hs|%{+Q}o%ci|%b"` with no capture lines, a request
 * from 127.0.0.1 answered by frontend f → `A||"127.0.0.1"|"f"`).
 */
import type { Exchange, SlotRegistry } from '@switchyard/sdk';
import { compileFormat } from '../src/format';

describe('HAProxy log-format variables', () => {
  it('%hr/%hs are empty without captures; %{+Q}o quotes every variable after it', () => {
    const line = compileFormat('A%hr|%hs|%{+Q}o%ci|%b', { get: () => undefined } as unknown as SlotRegistry); // no %[fetch] here
    const ex = { clientAddress: '127.0.0.1', backend: { name: 'f' }, frontend: { name: 'f' } } as unknown as Exchange;
    expect(line(ex, { ms: 0 } as never)).toBe('A||"127.0.0.1"|"f"');
  });
});
