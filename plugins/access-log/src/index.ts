import { definePlugin, RUNTIME_COMMAND_SLOT, type GatewayApi, type RuntimeCommand } from '@switchyard/sdk';
import { AccessLog, type AccessLogFormat } from './access-log';
import { AccessLogErrors } from './errors';
import { StreamSink, SyslogSink, UnixSyslogSink, FACILITIES, type Sink } from './sinks';

export { AccessLog, type AccessRecord, type AccessLogFormat } from './access-log';
export { compileFormat, VARIABLES, HTTPLOG, TCPLOG, haproxyDate } from './format';
export { StreamSink, SyslogSink } from './sinks';
export { AccessLogErrors } from './errors';

/** Container token of a gateway's AccessLog. */
export const ACCESS_LOG_SERVICE = 'switchyard.accessLog';

export interface AccessLogConfig {
  format: AccessLogFormat;
  template?: string;
  output: 'stdout' | 'stderr' | 'file' | 'syslog';
  file?: string;
  frontends?: string[];
  syslog: { address: string; facility: string; tag: string; protocol: 'rfc3164' | 'rfc5424'; maxLength: number; hostname?: string };
}

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

export const plugin = definePlugin<AccessLogConfig>({
  name: '@switchyard/plugin-access-log',
  version: '0.3.2',
  core: '^0.1.0',
  description: 'One access-log line per request or TCP session: JSON, HAProxy httplog/tcplog or a custom format; stdout, file or syslog.',
  configKey: 'accessLog',
  schema: {
    config: {
      type: 'object',
      description: 'The access log.',
      additionalProperties: false,
      default: {},
      properties: {
        format: {
          enum: ['auto', 'httplog', 'tcplog', 'json', 'custom'],
          default: 'auto',
          description: 'auto: httplog for HTTP exchanges and tcplog for TCP sessions; json: one pino JSON object per line; custom: `template`.',
        },
        template: { type: 'string', description: 'With format custom: a log-format with %-variables (HAProxy names: %ci %ST %Ta %{+Q}r ...) and %[fetch(arg)].' },
        output: { enum: ['stdout', 'stderr', 'file', 'syslog'], default: 'stdout', description: 'Where lines go.' },
        file: { type: 'string', description: 'With output file: the path (appended to; reopened on SIGUSR2).' },
        frontends: { type: 'array', items: { type: 'string' }, description: 'Log only these frontends (default: all).' },
        syslog: {
          type: 'object',
          description: 'With output syslog: where and how to send (UDP to host:port, or a local Unix datagram socket such as /dev/log).',
          additionalProperties: false,
          default: {},
          properties: {
            address: { type: 'string', default: '127.0.0.1:514', description: 'host:port of the syslog server (UDP), or the absolute path of a local syslog socket (/dev/log), which is written with util-linux `logger` (HAProxy\'s local format, no host name).' },
            facility: { enum: Object.keys(FACILITIES), default: 'local0', description: 'Syslog facility.' },
            tag: { type: 'string', pattern: '^[!-~]{1,48}$', default: 'switchyard', description: 'Program name in each message.' },
            protocol: { enum: ['rfc3164', 'rfc5424'], default: 'rfc3164', description: 'Message header format (HAProxy\'s default is rfc3164).' },
            maxLength: { type: 'integer', minimum: 80, maximum: 65000, default: 1024, description: 'Longer messages are truncated.' },
            hostname: { type: 'string', description: 'Host name in the header (default: the machine\'s).' },
          },
        },
      },
    },
  },
  register({ slots }) {
    slots.provide(RUNTIME_COMMAND_SLOT, 'log reopen', reopenCommand, { description: reopenCommand.summary });
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
