import type pinoModule from 'pino';
import type { Logger } from '@switchyard/sdk';

/** How the gateway's own log is written: pino JSON lines, or pino-pretty's coloured lines for people. */
export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: ReadonlyArray<LogFormat> = ['json', 'pretty'];

/** `--log-format` value, or the default: pretty on a terminal, JSON otherwise (pipes, files, journald, containers). */
export function resolveLogFormat(flag: string | undefined, stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  if (flag === 'json' || flag === 'pretty') return flag;
  if (flag !== undefined) throw new Error(`--log-format must be json or pretty (got ${flag})`);
  return stdout.isTTY === true ? 'pretty' : 'json';
}

let processFormat: LogFormat = 'json';

/** Sets the format every logger of this process gets by default (the CLI, once, from --log-format). */
export function setLogFormat(format: LogFormat): void {
  processFormat = format;
}

export function logFormat(): LogFormat {
  return processFormat;
}

/**
 * The gateway's logger on stdout. `pretty` goes through pino-pretty in this thread (no worker
 * thread: the line is written before the call returns, as JSON lines are), coloured when stdout
 * is a terminal, with the time of day and without pid/hostname.
 */
export function createLogger(level: string, format: LogFormat = processFormat, stdout: { isTTY?: boolean } = process.stdout): Logger {
  // pino on first use: a CLI command that logs nothing never loads it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = (require('pino') as { default: typeof pinoModule }).default;
  if (format === 'json') return pino({ level }) as unknown as Logger;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as (o: Record<string, unknown>) => NodeJS.WritableStream;
  const stream = pretty({
    colorize: stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: false,
    destination: 1,
    sync: true,
  });
  return pino({ level }, stream as unknown as pinoModule.DestinationStream) as unknown as Logger;
}
