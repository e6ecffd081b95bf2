import { durationSchema, sizeSchema, type JsonSchema } from '@switchyard/sdk';

const positiveDuration = (d: string, dflt?: string): JsonSchema => ({ ...durationSchema(d, dflt), exclusiveMinimum: 0 });

/** Timing keys shared by the backend's healthCheck and a server's check (no defaults at server level). */
const timing = (withDefaults: boolean): Record<string, JsonSchema> => ({
  inter: positiveDuration('Interval between checks of a steady UP server.', withDefaults ? '2s' : undefined),
  fastinter: positiveDuration('Interval while a server is changing state (UP with failures, DOWN with successes). Default: inter.'),
  downinter: positiveDuration('Interval between checks of a steady DOWN server. Default: inter.'),
  rise: { type: 'integer', minimum: 1, description: 'Consecutive successful checks to mark a DOWN server UP.', ...(withDefaults ? { default: 2 } : {}) },
  fall: { type: 'integer', minimum: 1, description: 'Consecutive failed checks to mark an UP server DOWN.', ...(withDefaults ? { default: 3 } : {}) },
  timeout: positiveDuration('Time a whole check (connect and reply) may take. Default: inter.'),
  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Port to check instead of the server\'s own.' },
  address: { type: 'string', minLength: 1, description: 'Host or IP to check instead of the server\'s own.' },
});

const checkStatus = (list: string[], d: string): JsonSchema => ({ enum: list, description: d });

/** One tcp-check rule: one action key, and an optional comment. */
const tcpCheckRuleSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'One tcp-check rule: exactly one of connect, send, sendLf, sendBinary, sendBinaryLf, expect, setVar, setVarFmt, unsetVar; alone, comment applies to the next rule(s).',
  properties: {
    connect: {
      type: 'object',
      additionalProperties: false,
      description: 'Open a new connection (closing the previous one).',
      properties: {
        default: { type: 'boolean', description: 'Take the server\'s check settings (port, TLS, PROXY header) where this rule sets none.' },
        port: { type: ['integer', 'string'], description: 'Port, or a sample expression such as var(check.port). Default: the check port.' },
        addr: { type: 'string', minLength: 1, description: 'Address to connect to. Default: the check address.' },
        ssl: { type: 'boolean', description: 'TLS over this connection.' },
        sni: { type: 'string', description: 'SNI sent with ssl.' },
        alpn: { type: 'array', items: { type: 'string' }, description: 'ALPN protocols offered with ssl.' },
        sendProxy: { type: 'boolean', description: 'Send a PROXY protocol header first (v2 if the server uses sendProxy v2).' },
        linger: { type: 'boolean', description: 'Close cleanly (FIN) instead of with an RST.' },
      },
    },
    send: { type: 'string', description: 'Bytes to send (latin1).' },
    sendLf: { type: 'string', description: 'Log-format string to send: text with %[sample] expressions.' },
    sendBinary: { type: 'string', description: 'Hex digits to send as bytes.' },
    sendBinaryLf: { type: 'string', description: 'Log-format string evaluating to hex digits, sent as bytes.' },
    expect: {
      type: 'object',
      additionalProperties: false,
      description: 'What the reply must hold: exactly one of string, rstring, binary, rbinary, stringLf, binaryLf.',
      properties: {
        string: { type: 'string', description: 'The reply contains this string.' },
        rstring: { type: 'string', description: 'The reply matches this regular expression.' },
        binary: { type: 'string', description: 'The reply contains these bytes (hex digits).' },
        rbinary: { type: 'string', description: 'The reply, in upper-case hex, matches this regular expression.' },
        stringLf: { type: 'string', description: 'The reply contains the string this log-format gives.' },
        binaryLf: { type: 'string', description: 'The reply contains the bytes (hex) this log-format gives.' },
        negate: { type: 'boolean', default: false, description: 'HAProxy\'s "!": pass when the pattern is NOT found.' },
        minRecv: { type: 'integer', minimum: -1, description: 'Bytes to wait for before matching; -1 (default) waits while there is no match.' },
        okStatus: checkStatus(['L7OK', 'L7OKC', 'L6OK', 'L4OK'], 'Status when the check ends on this rule and passes (default L7OK).'),
        errorStatus: checkStatus(['L7OKC', 'L7RSP', 'L7STS', 'L6RSP', 'L4CON'], 'Status when this rule fails (default L7RSP).'),
        toutStatus: checkStatus(['L7TOUT', 'L6TOUT', 'L4TOUT'], 'Status when the check times out on this rule (default L7TOUT).'),
        onSuccess: { type: 'string', description: 'Log-format message when the check ends on this rule and passes.' },
        onError: { type: 'string', description: 'Log-format message when this rule fails.' },
        statusCode: { type: 'string', description: 'Sample expression giving the check code, e.g. res.payload(0,3).' },
      },
    },
    setVar: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'expr'],
      description: 'Set a variable (check.*, sess.*, proc.*) from a sample expression.',
      properties: { name: { type: 'string' , description: 'Variable name, e.g. check.port.' }, expr: { type: 'string', description: 'Sample expression, e.g. int(6380).' } },
    },
    setVarFmt: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'format'],
      description: 'Set a variable from a log-format string.',
      properties: { name: { type: 'string', description: 'Variable name.' }, format: { type: 'string', description: 'Log-format string.' } },
    },
    unsetVar: { type: 'string', description: 'Unset this variable.' },
    comment: { type: 'string', description: 'Reported when this rule fails; alone, it applies to the next rule(s).' },
  },
};

export const healthCheckSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Active health checks for every server of this backend (a server opts out with `check: false`).',
  properties: {
    type: { type: 'string', default: 'tcp', description: 'Check kind, by name in the health.check slot: tcp, http, agent, tcp-check, redis-check, mysql-check, pgsql-check, smtpchk, ldap-check, ssl-hello-chk (or a plugin\'s).' },
    ...timing(true),
    jitter: { type: 'number', minimum: 0, maximum: 50, default: 0, description: 'Random ± percentage applied to each interval, so checks do not stay in step (HAProxy spread-checks).' },
    http: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'The request an http check sends and what it expects back.',
      properties: {
        method: { type: 'string', pattern: '^[A-Z]+$', default: 'GET', description: 'Request method.' },
        path: { type: 'string', pattern: '^/[^\\s]*$', default: '/', description: 'Path and query.' },
        host: { type: 'string', description: 'Host header (default: the server address).' },
        headers: { type: 'object', default: {}, additionalProperties: { type: 'string' }, description: 'Extra request headers.' },
        expect: {
          type: 'object',
          default: {},
          additionalProperties: false,
          description: 'What a passing reply looks like. Default: any status 200-399.',
          properties: {
            status: {
              description: 'Exact status or list of statuses.',
              oneOf: [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'array', minItems: 1, items: { type: 'integer', minimum: 100, maximum: 599 } }],
            },
            statusRange: { type: 'string', description: 'Inclusive status range "200-399" (used when `status` is not set).' },
            body: { type: 'string', description: 'The body must contain this string.' },
            bodyRegex: { type: 'string', description: 'The body must match this regular expression (compiled at load).' },
            rstatus: { type: 'string', description: 'The status code (as text) must match this regular expression (HAProxy rstatus; used instead of status/statusRange).' },
            negate: { type: 'boolean', default: false, description: 'HAProxy `!`: the check fails when the status or body DOES match.' },
            okStatus: { type: 'string', enum: ['L7OK', 'L7OKC', 'L6OK', 'L4OK'], description: 'Check status when the reply passes (default L7OK).' },
            errorStatus: { type: 'string', enum: ['L7OKC', 'L7RSP', 'L7STS', 'L6RSP', 'L4CON'], description: 'Check status when the reply fails (default L7STS for the status, L7RSP for the body).' },
            toutStatus: { type: 'string', enum: ['L7TOUT', 'L6TOUT', 'L4TOUT'], description: 'Check status when the reply does not come in time (default L7TOUT).' },
            onSuccess: { type: 'string', description: 'Log-format message (the check\'s info) when the reply passes.' },
            onError: { type: 'string', description: 'Log-format message (the check\'s info) when the reply fails.' },
            statusCode: { type: 'string', description: 'Sample expression whose integer becomes the check\'s code (e.g. `int(599)`, `res.payload(0,3)` over the body).' },
            comment: { type: 'string', description: 'Appended to the failure info as " comment: <text>" (HAProxy comment).' },
            header: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              description: 'HAProxy `hdr`: a response header whose name (and, with `value`, one of its comma-separated values) matches; used instead of status and body.',
              properties: {
                name: { type: 'string', description: 'Header name pattern (case-insensitive).' },
                nameMatch: { ...{ type: 'string', enum: ['str', 'beg', 'end', 'sub', 'reg'] }, default: 'str', description: 'How the name is matched (-m str|beg|end|sub|reg).' },
                value: { type: 'string', description: 'Value pattern (each comma-separated value is tried).' },
                valueMatch: { ...{ type: 'string', enum: ['str', 'beg', 'end', 'sub', 'reg'] }, default: 'str', description: 'How the value is matched.' },
              },
            },
          },
        },
        maxBody: sizeSchema('Most of the body read for a body match.', '16kb'),
      },
    },
    tls: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Check over TLS (tcp: handshake only; http: HTTPS).',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Use TLS for the check.' },
        sni: { type: 'string', description: 'Server name sent in SNI (default: the Host header, or the server host when it is a name).' },
        verify: { type: 'boolean', default: false, description: 'Verify the server certificate.' },
        ca: { type: 'string', description: 'PEM CA file to verify with.' },
      },
    },
    agent: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Options of the agent kind (when type is agent).',
      properties: { send: { type: 'string', description: 'Line sent to the agent before it replies.' } },
    },
    tcpCheck: {
      type: 'array',
      items: tcpCheckRuleSchema,
      description: 'Rules of the tcp-check kind, run in order on every check (HAProxy\'s tcp-check connect/send/expect/comment/set-var lines).',
    },
    mysql: {
      type: 'object',
      additionalProperties: false,
      description: 'Options of the mysql-check kind (HAProxy option mysql-check [user <u> [post-41|pre-41]]).',
      properties: {
        user: { type: 'string', minLength: 1, description: 'Log in as this user (no password) and expect OK; without it only the server handshake is checked.' },
        variant: { enum: ['post-41', 'pre-41'], default: 'post-41', description: 'Client authentication packet format: MySQL >= 4.1 (post-41) or older.' },
      },
    },
    pgsql: {
      type: 'object',
      additionalProperties: false,
      required: ['user'],
      description: 'Options of the pgsql-check kind (HAProxy option pgsql-check user <u>).',
      properties: { user: { type: 'string', minLength: 1, description: 'User name sent in the StartupMessage.' } },
    },
    smtp: {
      type: 'object',
      additionalProperties: false,
      description: 'Options of the smtpchk kind (HAProxy option smtpchk [EHLO|HELO <domain>]).',
      properties: {
        hello: { enum: ['EHLO', 'HELO'], description: 'Greeting verb (default: HELO localhost).' },
        domain: { type: 'string', minLength: 1, description: 'Domain sent with the greeting.' },
      },
    },
  },
};

export const serverCheckSchema: JsonSchema = {
  type: ['boolean', 'object'],
  additionalProperties: false,
  description: 'Active health check of this server: true/false, or per-server overrides of the backend\'s healthCheck.',
  properties: {
    enabled: { type: 'boolean', description: 'false turns the check off for this server.' },
    ...timing(false),
  },
};

const agentProps: Record<string, JsonSchema> = {
  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Port of the agent.' },
  address: { type: 'string', minLength: 1, description: 'Host of the agent (default: the server\'s).' },
  inter: positiveDuration('Interval between agent checks (default: the health check inter, else 2s).'),
  timeout: positiveDuration('Time an agent check may take (default: inter).'),
  send: { type: 'string', description: 'Line sent to the agent before it replies.' },
};

export const backendAgentSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'HAProxy agent-check beside the health check for every server: the agent sets weight (75%) and state (up, down, drain, maint, ready).',
  properties: agentProps,
};

export const serverAgentSchema: JsonSchema = {
  type: ['boolean', 'object'],
  additionalProperties: false,
  description: 'Agent check of this server: true/false, or overrides of the backend\'s agentCheck.',
  properties: { enabled: { type: 'boolean', description: 'false turns the agent check off for this server.' }, ...agentProps },
};

export const onMarkedDownSchema: JsonSchema = {
  enum: ['shutdown-sessions'],
  description: 'HAProxy on-marked-down: shutdown-sessions closes the sessions open on this server when it goes DOWN or into maintenance.',
};

export const onMarkedUpSchema: JsonSchema = {
  enum: ['shutdown-backup-sessions'],
  description: 'HAProxy on-marked-up: shutdown-backup-sessions closes the sessions on the backup servers when this (non-backup) server comes UP.',
};
