import { Enum, Type, type Static } from '@switchyard/sdk';
import { FACILITIES } from './sinks';

export const FORMATS = ['auto', 'httplog', 'tcplog', 'json', 'custom'] as const;

/** The top-level `accessLog` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object(
  {
    format: Enum(FORMATS, {
      default: 'auto',
      description: 'auto: httplog for HTTP exchanges and tcplog for TCP sessions; json: one pino JSON object per line; custom: `template`.',
    }),
    template: Type.Optional(Type.String({ description: 'With format custom: a log-format with %-variables (HAProxy names: %ci %ST %Ta %{+Q}r ...) and %[fetch(arg)].' })),
    output: Enum(['stdout', 'stderr', 'file', 'syslog'], { default: 'stdout', description: 'Where lines go.' }),
    file: Type.Optional(Type.String({ description: 'With output file: the path (appended to; reopened on SIGUSR2).' })),
    frontends: Type.Optional(Type.Array(Type.String(), { description: 'Log only these frontends (default: all).' })),
    syslog: Type.Object(
      {
        address: Type.String({ default: '127.0.0.1:514', description: 'host:port of the syslog server (UDP), or the absolute path of a local syslog socket (/dev/log), which is written with util-linux `logger` (HAProxy\'s local format, no host name).' }),
        facility: Enum(Object.keys(FACILITIES) as string[], { default: 'local0', description: 'Syslog facility.' }),
        tag: Type.String({ pattern: '^[!-~]{1,48}$', default: 'switchyard', description: 'Program name in each message.' }),
        protocol: Enum(['rfc3164', 'rfc5424'], { default: 'rfc3164', description: 'Message header format (HAProxy\'s default is rfc3164).' }),
        maxLength: Type.Integer({ minimum: 80, maximum: 65000, default: 1024, description: 'Longer messages are truncated.' }),
        hostname: Type.Optional(Type.String({ description: 'Host name in the header (default: the machine\'s).' })),
      },
      {
        description: 'With output syslog: where and how to send (UDP to host:port, or a local Unix datagram socket such as /dev/log).',
        additionalProperties: false,
        default: {},
      },
    ),
  },
  { description: 'The access log.', additionalProperties: false, default: {} },
);

/** `accessLog` after validation. */
export type AccessLogConfig = Static<typeof configSchema>;
export type AccessLogFormat = (typeof FORMATS)[number];
