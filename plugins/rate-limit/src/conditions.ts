import type { Exchange, GatewayApi } from '@switchyard/sdk';
import { compileRuleCondition } from '@switchyard/plugin-acl';
import { RateLimitErrors } from './errors';

/** Compiles a rule's `if`/`unless` with the ACL plugin; null when the rule has neither. */
export function compileCondition(
  gateway: GatewayApi,
  frontend: string,
  rule: { if?: string; unless?: string },
  where: string,
): ((ex: Exchange) => boolean) | null {
  return compileRuleCondition(gateway, frontend, rule, where, () => RateLimitErrors.NO_ACL(where));
}
