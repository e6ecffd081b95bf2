import { definePlugin, RUNTIME_COMMAND_SLOT, SwitchyardError, type GatewayApi, type RuntimeCommand } from '@switchyard/sdk';
import { AccessLog } from './access-log';
import { configSchema, type AccessLogConfig } from './schema';
import { AccessLogErrors } from './errors';
import { StreamSink, SyslogSink, UnixSyslogSink, FACILITIES, type Sink } from './sinks';

export { AccessLog, type AccessRecord, type AccessLogFormat } from './access-log';
export { compileFormat, VARIABLES, HTTPLOG, TCPLOG, haproxyDate } from './format';
export { StreamSink, SyslogSink } from './sinks';
export { AccessLogErrors } from './errors';

/** Container token of a gateway's AccessLog. */
export const ACCESS_LOG_SERVICE = 'switchyard.accessLog';

export type { AccessLogConfig };

function splitAddress(a: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(a);
  if (m) return { host: m[1] ?? m[2]!, port: Number(m[3]) };
  return { host: a, port: 514 };
}

const reopenCommand: RuntimeCommand = {
  summary: 'reopen the access-log file (as SIGUSR2 does, after logrotate)',
  args: [],
  run(gateway: GatewayApi) {
    const log = gateway.container.isRegistered(ACCESS_LOG_SERVICE) ? gateway.container.resolve<AccessLog>(ACCESS_LOG_SERVICE) : null;
    if (!log) throw AccessLogErrors.CONFIG('no access log in this gateway');
    log.reopen();
    return { reopened: true };
  },
};

export const plugin = definePlugin({
  name: '@switchyard/plugin-access-log',
  version: '0.3.5',
  core: '>=0.1.2 <1.0.0',
  description: 'One access-log line per request or TCP session: JSON, HAProxy httplog/tcplog or a custom format; stdout, file or syslog.',
  configKey: 'accessLog',
  schema: { config: configSchema },
  register({ slots }) {
    slots.provide(RUNTIME_COMMAND_SLOT, 'log reopen', reopenCommand, { description: reopenCommand.summary });
  },
  // The format is compiled here too, so `switchyard validate` refuses an unknown fetch in a
  // template as `run` does, at the template's place in the config (file:line for haproxy.cfg).
  validate(gateway: GatewayApi, config: AccessLogConfig) {
    if (config.format !== 'custom' || !config.template) return;
    try {
      new AccessLog(gateway, { write: () => undefined, reopen: () => undefined, close: async () => undefined }, { format: config.format, template: config.template });
    } catch (err) {
      if (err instanceof SwitchyardError && err.location === undefined) err.location = { path: 'accessLog.template' };
      throw err;
    }
  },
  apply(gateway: GatewayApi, config: AccessLogConfig) {
    if (config.format === 'custom' && !config.template) throw AccessLogErrors.CONFIG('format custom needs a template');
    if (config.output === 'file' && !config.file) throw AccessLogErrors.CONFIG('output file needs a file path');
    for (const name of config.frontends ?? []) {
      if (!gateway.frontends.has(name)) throw AccessLogErrors.CONFIG(`frontends: no frontend "${name}"`);
    }
    let sink: Sink | null = null;
    const makeSink = (): Sink => {
      if (config.output === 'syslog' && config.syslog.address.startsWith('/')) {
        return new UnixSyslogSink({ path: config.syslog.address, facility: config.syslog.facility, tag: config.syslog.tag, maxLength: config.syslog.maxLength });
      }
      if (config.output === 'syslog') {
        const { host, port } = splitAddress(config.syslog.address);
        return new SyslogSink({ host, port, facility: config.syslog.facility, tag: config.syslog.tag, protocol: config.syslog.protocol, maxLength: config.syslog.maxLength, hostname: config.syslog.hostname ?? '' });
      }
      return new StreamSink(config.output === 'file' ? config.file! : null, config.output === 'stderr' ? 2 : 1);
    };
    // The sink opens lazily (on `started`): `switchyard plugins` and CLI commands prepare a gateway too.
    const lazy: Sink = {
      write: (line) => (sink ??= makeSink()).write(line),
      reopen: () => sink?.reopen(),
      close: async () => sink?.close(),
    };
    const log = new AccessLog(gateway, lazy, { format: config.format, template: config.template, frontends: config.frontends });
    log.tap();
    gateway.container.register(ACCESS_LOG_SERVICE, { useValue: log });
    gateway.events.once('started', () => {
      sink ??= makeSink();
      if (config.output === 'file') log.listenForSignal(gateway.events);
    });
    gateway.onStop(() => log.close());
  },
});

export default plugin;
