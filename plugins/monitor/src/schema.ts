import { Type, type StaticProperties } from '@switchyard/sdk';

/** The properties this plugin adds to every frontend. */
export const frontendOptions = {
  monitorUri: Type.String({
    pattern: '^/[^?#\\s\\x00-\\x1f\\x7f]*$',
    description: 'Path answered by the gateway itself (HAProxy monitor-uri), before any rule, auth or backend: 200 "ready" while serving, 503 "draining" once a graceful stop or reload has begun. The query string is ignored.',
  }),
  monitorFail: Type.String({
    minLength: 1,
    description: 'ACL condition (needs @switchyard/plugin-acl) under which the monitor path answers 503 "failing", e.g. "nbsrv(api) lt 1" (HAProxy monitor fail if …).',
  }),
};

/** Frontend options this plugin adds. */
export type MonitorFrontendOptions = StaticProperties<typeof frontendOptions>;
