import * as net from 'node:net';
import type { CheckResult, CheckTarget, HealthCheckKind } from '@switchyard/plugin-health-check';
import { helloFrame, readAgentHello } from './agent';
import { FrameSplitter, FrameType, Reader, SpopError, decodeFrame } from './spop';

/**
 * HAProxy's `option spop-check`: a HAPROXY-HELLO with healthcheck=true; a valid AGENT-HELLO
 * passes (L7OK), a DISCONNECT or an invalid HELLO fails (L7RSP), silence fails at the timeout.
 */
export const spopCheck: HealthCheckKind = {
  description: 'SPOP HELLO health check of an SPOE agent (HAProxy option spop-check).',
  compile() {
    return (target: CheckTarget) =>
      new Promise<CheckResult>((resolve) => {
        let settled = false;
        let connected = false;
        const done = (r: CheckResult): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          socket.destroy();
          resolve(r);
        };
        const socket = net.connect({ host: target.host, port: target.port });
        const timer = setTimeout(
          () => done(connected ? { ok: false, reason: 'Layer7 timeout', status: 'L7TOUT' } : { ok: false, reason: 'Layer4 timeout', status: 'L4TOUT' }),
          target.timeout,
        );
        const splitter = new FrameSplitter(() => 16380);
        socket.on('connect', () => {
          connected = true;
          socket.write(helloFrame(16380, '', undefined, true));
        });
        socket.on('data', (chunk: Buffer) => {
          try {
            const bodies = splitter.push(chunk);
            if (bodies.length === 0) return;
            const f = decodeFrame(bodies[0]!);
            if (f.type === FrameType.AGENT_HELLO) {
              readAgentHello(f.payload, 16380);
              return done({ ok: true, reason: 'Layer7 check passed', status: 'L7OK', info: 'SPOA server is ok' });
            }
            if (f.type === FrameType.AGENT_DISCONNECT) {
              const kv = new Reader(f.payload).kvList();
              const m = kv.get('message');
              return done({ ok: false, reason: 'Layer7 invalid response', status: 'L7RSP', info: m?.type === 'string' ? m.value : 'agent disconnected' });
            }
            done({ ok: false, reason: 'Layer7 invalid response', status: 'L7RSP', info: `unexpected frame type ${f.type}` });
          } catch (err) {
            done({ ok: false, reason: 'Layer7 invalid response', status: 'L7RSP', info: err instanceof SpopError ? err.message : String(err) });
          }
        });
        socket.on('error', (err) => done({ ok: false, reason: connected ? 'Layer7 invalid response' : 'Layer4 connection problem', status: connected ? 'L7RSP' : 'L4CON', info: err.message }));
        socket.on('close', () => done({ ok: false, reason: 'Layer7 invalid response', status: 'L7RSP', info: 'connection closed before AGENT-HELLO' }));
      });
  },
};
