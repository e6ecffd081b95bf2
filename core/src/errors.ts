import { defineErrors } from '@switchyard/sdk';

/** Every error the core raises. docs/errors.md lists each code (a test keeps them in step). */
export const CoreErrors = defineErrors({
  CONFIG_READ: { code: 'SWY_ERR_CONFIG_READ', message: 'cannot read config file %s: %s' },
  CONFIG_PARSE: { code: 'SWY_ERR_CONFIG_PARSE', message: 'cannot parse %s: %s' },
  CONFIG_INVALID: { code: 'SWY_ERR_CONFIG_INVALID', message: '%s' },
  CONFIG_REFERENCE: { code: 'SWY_ERR_CONFIG_REFERENCE', message: '%s' },
  CONFIG_ADAPTER_UNKNOWN: {
    code: 'SWY_ERR_CONFIG_ADAPTER_UNKNOWN',
    message: 'no config adapter for %s (known: %s); add the plugin that provides one to the preset or pass --adapter',
  },
  PLUGIN_NOT_FOUND: { code: 'SWY_ERR_PLUGIN_NOT_FOUND', message: 'plugin %s not found (looked in %s)%s' },
  PLUGIN_LOAD: { code: 'SWY_ERR_PLUGIN_LOAD', message: 'plugin %s failed to load: %s' },
  PLUGIN_INVALID: { code: 'SWY_ERR_PLUGIN_INVALID', message: 'plugin %s does not export a plugin or preset definition: %s' },
  PLUGIN_VERSION: {
    code: 'SWY_ERR_PLUGIN_VERSION',
    message: 'plugin %s@%s supports @switchyard/core %s, but this is %s',
  },
  PLUGIN_DUPLICATE: { code: 'SWY_ERR_PLUGIN_DUPLICATE', message: 'plugin %s is listed twice (%s and %s)' },
  PLUGIN_REGISTER: { code: 'SWY_ERR_PLUGIN_REGISTER', message: 'plugin %s failed in its register step: %s' },
  PLUGIN_APPLY: { code: 'SWY_ERR_PLUGIN_APPLY', message: 'plugin %s failed in its apply step: %s' },
  PLUGIN_PROVISION: { code: 'SWY_ERR_PLUGIN_PROVISION', message: 'plugin %s failed in its provision step: %s' },
  PLUGIN_VALIDATE: { code: 'SWY_ERR_PLUGIN_VALIDATE', message: 'plugin %s failed in its validate step: %s' },
  PLUGIN_SCHEMA_CONFLICT: {
    code: 'SWY_ERR_PLUGIN_SCHEMA_CONFLICT',
    message: 'plugin %s adds %s property "%s", which %s already defines',
  },
  SLOT_DUPLICATE: { code: 'SWY_ERR_SLOT_DUPLICATE', message: 'slot %s already has "%s" (from %s); %s provides it again' },
  SLOT_UNKNOWN: { code: 'SWY_ERR_SLOT_UNKNOWN', message: '%s' },
  SLOT_SHAPE: { code: 'SWY_ERR_SLOT_SHAPE', message: 'plugin %s provides %s "%s", which must be %s: %s' },
  SERVICE_DUPLICATE: { code: 'SWY_ERR_SERVICE_DUPLICATE', message: 'service %s is offered by %s and again by %s' },
  SERVICE_MISSING: { code: 'SWY_ERR_SERVICE_MISSING', message: 'no loaded plugin offers service %s (offered: %s); add the plugin that owns it to plugins:' },
  SERVICE_LATE: {
    code: 'SWY_ERR_SERVICE_LATE',
    message: 'service %s was looked up after the gateway started serving; resolve services in provision (or apply) and keep them',
  },
  LISTEN: { code: 'SWY_ERR_LISTEN_FAILED', message: 'frontend %s cannot listen on %s: %s' },
  LISTEN_FD: { code: 'SWY_ERR_LISTEN_FD', message: 'frontend %s cannot listen on %s: %s' },
  TLS_FILE: { code: 'SWY_ERR_TLS_FILE', message: 'frontend %s: cannot read TLS %s file %s: %s' },
  NO_BACKEND: { code: 'SWY_ERR_ROUTE_NO_BACKEND', message: 'frontend %s has no backend for this request', status: 503 },
  UNKNOWN_BACKEND: { code: 'SWY_ERR_ROUTE_UNKNOWN_BACKEND', message: 'route chose backend %s, which does not exist', status: 503 },
  NO_SERVER: { code: 'SWY_ERR_BALANCE_NO_SERVER', message: 'backend %s has no server available', status: 503 },
  QUEUE_TIMEOUT: { code: 'SWY_ERR_BALANCE_QUEUE_TIMEOUT', message: 'backend %s: no server slot within the queue timeout', status: 503 },
  QUEUE_FULL: { code: 'SWY_ERR_BALANCE_QUEUE_FULL', message: 'backend %s: queue is full (maxqueue %s)', status: 503 },
  NO_FORWARDER: {
    code: 'SWY_ERR_FORWARD_NO_FORWARDER',
    message: 'no plugin forwards %s exchanges; add @switchyard/plugin-%s-forwarder',
    status: 500,
  },
  HOOK_FAILED: { code: 'SWY_ERR_HOOK_FAILED', message: 'plugin %s failed in its %s tap: %s', status: 500 },
  BAD_HEADER: { code: 'SWY_ERR_HTTP_BAD_HEADER', message: 'header %s has a value with CR, LF or NUL', status: 500 },
  BAD_REQUEST: { code: 'SWY_ERR_HTTP_BAD_REQUEST', message: 'bad request framing: %s', status: 400 },
});
