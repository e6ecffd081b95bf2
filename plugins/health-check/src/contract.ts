/**
 * What other plugins import from this one, without loading it: `@switchyard/plugin-health-check/contract`
 * (declare this package a peer dependency). Only types and keys; the plugin itself is `.`.
 */
export { HEALTH_CONTROL, HEALTH_DISABLED, HEALTH_CHECK_SLOT, type HealthControl, type CheckResult } from './types';
