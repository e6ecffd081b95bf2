import type { Logger } from '@switchyard/sdk';
import pino from 'pino';
import { loadConfig, type ConfigInput } from './config/load';
import { Gateway } from './gateway';
import { Reloader } from './reload';

export interface StartOptions extends ConfigInput {
  logger?: Logger;
  /** Build and apply but do not listen. */
  listen?: boolean;
}

/** Loads a config and starts a gateway on it: the one call embedders and tests need. */
export async function startGateway(options: StartOptions): Promise<Gateway> {
  const logger = options.logger ?? (pino({ level: 'info' }) as unknown as Logger);
  const loaded = loadConfig(options, { logger });
  const effective = options.logger ?? (pino({ level: loaded.config.global.logLevel }) as unknown as Logger);
  return options.listen === false ? Gateway.prepare(loaded, { logger: effective }) : Gateway.start(loaded, { logger: effective });
}

/**
 * Loads a config and starts it as generation 1 of a Reloader: `reload()` re-reads the file and
 * swaps generations without closing a port (what `switchyard run` does on SIGHUP).
 */
export async function startReloadable(options: ConfigInput & { logger?: Logger }): Promise<Reloader> {
  const base = options.logger ?? (pino({ level: 'info' }) as unknown as Logger);
  return Reloader.start({ input: options, logger: options.logger, baseLogger: base });
}
