import * as net from 'node:net';
import type { AgentReport, CheckResult, CheckTarget, HealthCheckKind, HealthCheckOptions, HealthProbe } from './types';
import { HealthErrors } from './errors';
import { connectionInfo } from './tcp-check';

const MAX_REPLY = 1024;
const INVALID_SEND = /[\0]/;

/**
 * Parses an agent reply the way HAProxy's agent-check does: words separated by spaces,
 * commas or tabs, on the first line; `#` starts a free-text message.
 */
export function parseAgentReply(line: string): AgentReport {
  const report: AgentReport = {};
  const hash = line.indexOf('#');
  const words = (hash === -1 ? line : line.slice(0, hash)).split(/[\s,]+/);
  if (hash !== -1) report.message = line.slice(hash + 1).trim();
  for (const raw of words) {
    const w = raw.toLowerCase();
    if (w === '') continue;
    if (w === 'up') report.health = 'up';
    else if (w === 'down' || w === 'fail' || w === 'stopped') report.health = 'down';
    else if (w === 'ready' || w === 'drain' || w === 'maint') report.admin = w;
    else if (/^\d{1,3}%$/.test(w)) report.weightPercent = Math.min(100, Number(w.slice(0, -1)));
  }
  return report;
}

/**
 * HAProxy's agent-check: connect to the agent port, send the optional `send` line, read
 * one line (`up`, `down`, `drain`, `maint`, `ready`, `75%`…). As the main check kind it
 * passes unless the agent says down or cannot be reached; its directives are applied either way.
 */
export class AgentHealthCheck implements HealthCheckKind {
  readonly description = 'HAProxy agent-check over TCP: the server reports up/down/drain/maint/ready and a weight percentage.';

  compile(options: HealthCheckOptions, where: string): HealthProbe {
    const send = options.agent.send;
    if (send !== undefined && INVALID_SEND.test(send)) throw HealthErrors.BAD_OPTION(where, 'agent send string contains NUL');
    return (target) => probeAgent(target, send);
  }
}

export function probeAgent(target: CheckTarget, send: string | undefined): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    let connected = false;
    let reply = '';
    const socket = net.connect({ host: target.host, port: target.port });
    socket.setEncoding('latin1');
    const done = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const finish = (): void => {
      const line = reply.split(/\r?\n/)[0]!.trim();
      if (line === '') {
        done({ ok: false, reason: 'Layer7 invalid response', info: 'empty agent reply' });
        return;
      }
      const agent = parseAgentReply(line);
      done({ ok: agent.health !== 'down', reason: agent.health === 'down' ? 'Layer7 agent reports down' : 'Layer7 check passed', info: line, agent });
    };
    const timer = setTimeout(() => {
      if (connected && reply !== '') finish();
      else done({ ok: false, reason: connected ? 'Layer7 timeout' : 'Layer4 timeout' });
    }, target.timeout);
    socket.once('connect', () => {
      connected = true;
      if (send !== undefined) socket.write(send.endsWith('\n') ? send : send + '\n');
    });
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\n') || reply.length >= MAX_REPLY) finish();
    });
    socket.once('end', finish);
    socket.once('error', (err: Error & { code?: string }) => {
      if (connected && reply !== '') finish();
      else done(connected ? { ok: false, reason: 'Layer7 invalid response', info: err.code ?? err.message } : { ok: false, reason: 'Layer4 connection problem', info: connectionInfo(err) });
    });
  });
}
