import { defineErrors } from '@switchyard/sdk';

export const MonitorErrors = defineErrors({
  CONFIG: { code: 'SWY_ERR_MONITOR_CONFIG', message: 'frontend %s: %s' },
  NO_ACL: {
    code: 'SWY_ERR_MONITOR_NO_ACL',
    message: 'frontend %s: monitorFail needs the ACL compiler; add @switchyard/plugin-acl to plugins',
  },
});
