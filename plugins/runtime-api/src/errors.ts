import { defineErrors } from '@switchyard/sdk';

export const RuntimeErrors = defineErrors({
  LISTEN: { code: 'SWY_ERR_RUNTIME_LISTEN', message: 'runtime API could not listen on %s: %s' },
  CONFIG: { code: 'SWY_ERR_RUNTIME_CONFIG', message: 'runtime API: %s' },
  FORBIDDEN: { code: 'SWY_ERR_RUNTIME_FORBIDDEN', message: 'command "%s" needs level %s; this token has level %s', status: 403 },
  UNAUTHORIZED: { code: 'SWY_ERR_RUNTIME_UNAUTHORIZED', message: 'missing or wrong bearer token', status: 401 },
  UNKNOWN_COMMAND: { code: 'SWY_ERR_RUNTIME_UNKNOWN_COMMAND', message: 'unknown command "%s" (GET /v1/commands lists them)', status: 404 },
  BAD_ARGUMENT: { code: 'SWY_ERR_RUNTIME_BAD_ARGUMENT', message: '%s', status: 400 },
  NO_SERVER: { code: 'SWY_ERR_RUNTIME_NO_SERVER', message: 'no server "%s" (write backend/server)', status: 404 },
  NOT_AVAILABLE: { code: 'SWY_ERR_RUNTIME_NOT_AVAILABLE', message: '%s is not available: %s', status: 501 },
  COMMAND_FAILED: { code: 'SWY_ERR_RUNTIME_COMMAND_FAILED', message: 'command "%s" failed: %s', status: 500 },
});
