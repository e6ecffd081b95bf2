import { DurationOption, Enum, MapOf, SizeOption, Type, type Static } from '@switchyard/sdk';
import { AFTER_RESPONSE_ACTIONS, REQUEST_ACTIONS, RESPONSE_ACTIONS, TCP_ACTIONS } from './rules';

const ruleProps = (actions: ReadonlyArray<string>) => ({
  action: Enum(actions, { description: 'What the rule does.' }),
  if: Type.Optional(Type.String({ description: 'Apply only when this ACL condition holds.' })),
  unless: Type.Optional(Type.String({ description: 'Apply only when this ACL condition does not hold.' })),
});

const httpRule = (actions: ReadonlyArray<string>) =>
  Type.Object(
    {
      ...ruleProps(actions),
      status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'deny: status (403); return: status (200); set-status: the new status.' })),
      body: Type.Optional(Type.String({ description: 'deny/return: response body (return bodies may use %[fetch]).' })),
      contentType: Type.Optional(Type.String({ description: 'deny/return: Content-Type of the body.' })),
      file: Type.Optional(Type.String({ description: 'return: send this file (read once at load; relative to the config file).' })),
      headers: Type.Optional(MapOf(Type.String(), { description: 'return: extra response headers (values may use %[fetch]).' })),
      location: Type.Optional(Type.String({ description: 'redirect: the Location (may use %[fetch], e.g. https://%[host]%[url]).' })),
      prefix: Type.Optional(Type.String({ description: 'redirect: Location = prefix + original path and query.' })),
      scheme: Type.Optional(Type.String({ description: 'redirect: Location = scheme://host + original path and query.' })),
      code: Type.Optional(Enum([301, 302, 303, 307, 308], { type: 'integer', description: 'redirect: status (302).' })),
      name: Type.Optional(Type.String({ description: 'Header name (set/add/del/replace-header) or variable name (set-var, e.g. txn.user).' })),
      value: Type.Optional(Type.String({ description: 'Header value, path, query, method or variable value; %[fetch,conv] is replaced per request.' })),
      match: Type.Optional(Type.String({ description: 'replace-header/replace-path: regular expression (compiled once).' })),
      replace: Type.Optional(Type.String({ description: 'replace-header/replace-path: replacement; $1 or \\1 for groups.' })),
      reason: Type.Optional(Type.String({ description: 'set-status: reason phrase.' })),
    },
    { additionalProperties: false },
  );

const httpRules = (actions: ReadonlyArray<string>, what: string) => Type.Array(httpRule(actions), { description: `${what}, evaluated in order.` });

const tcpRule = () => Type.Object(ruleProps(TCP_ACTIONS), { additionalProperties: false });
const tcpRules = (what: string) => Type.Array(tcpRule(), { description: what });

/** `frontends.<f>.tcpRequest`. */
export const tcpRequestSchema = Type.Object(
  {
    inspectDelay: DurationOption('How long content rules may wait for client bytes before deciding.', 0),
    inspectBytes: SizeOption('Stop waiting once this many bytes were read.', '16kb'),
    connection: Type.Optional(tcpRules('Rules run when a connection arrives (fetches: src, dst_port…): reject closes it, accept stops the rules.')),
    content: Type.Optional(tcpRules('Rules run on the first client bytes, re-evaluated as bytes arrive during inspectDelay (fetches: req.len, req.ssl_sni…).')),
  },
  { additionalProperties: false, description: 'tcp-request rules: on connection (any mode), and content inspection (tcp mode: as client bytes arrive, up to inspectDelay; http mode: on each request, before httpRequest rules).' },
);

/** The properties this plugin adds to every frontend. */
export const frontendOptions = {
  httpRequest: httpRules(REQUEST_ACTIONS, 'Request rules (allow, deny, redirect, return, header/path/query rewrites, set-var, set-method)'),
  httpResponse: httpRules(RESPONSE_ACTIONS, 'Response rules (set-header, add-header, del-header, replace-header, set-status, set-var)'),
  httpAfterResponse: httpRules(
    AFTER_RESPONSE_ACTIONS,
    'HAProxy http-after-response: rules run after httpResponse (and after the backend\'s), on every proxied response and on the gateway\'s own answers from a backend (errors); allow stops them',
  ),
  tcpRequest: tcpRequestSchema,
};

/** The properties this plugin adds to every backend. */
export const backendOptions = {
  httpAfterResponse: httpRules(AFTER_RESPONSE_ACTIONS, 'HAProxy http-after-response in a backend: run before the frontend\'s, on responses from this backend'),
  httpRequest: httpRules(REQUEST_ACTIONS, 'Request rules of this backend (HAProxy http-request in a backend): run once the backend is chosen, before the request goes to its server'),
  httpResponse: httpRules(RESPONSE_ACTIONS, 'Response rules of this backend (HAProxy http-response in a backend): run on responses of its servers, before the frontend\'s'),
};

/** One http-request/http-response/http-after-response rule after validation (`action` one of the list's actions). */
export type RuleConfig = Static<ReturnType<typeof httpRule>>;
/** `tcpRequest` after validation: `inspectDelay` in ms, `inspectBytes` in bytes. */
export type TcpRequestConfig = Static<typeof tcpRequestSchema>;
