import type { Exchange, SlotRegistry } from '@switchyard/sdk';
import { RateLimitErrors } from './errors';

/** What this plugin needs of the ACL plugin's `acl.compiler` service (structural: no import of another plugin). */
interface AclCompilerLike {
  compileRuleCondition(frontend: string, rule: { if?: string; unless?: string }, where: string): { test(ex: Exchange): boolean } | undefined;
}

export const ACL_COMPILER_SLOT = 'acl.compiler';

/** Compiles a rule's `if`/`unless` with the ACL plugin; null when the rule has neither. */
export function compileCondition(
  slots: SlotRegistry,
  frontend: string,
  rule: { if?: string; unless?: string },
  where: string,
): ((ex: Exchange) => boolean) | null {
  if (rule.if === undefined && rule.unless === undefined) return null;
  const acl = slots.get<AclCompilerLike>(ACL_COMPILER_SLOT, 'default');
  if (!acl) throw RateLimitErrors.NO_ACL(where);
  const c = acl.compileRuleCondition(frontend, rule, where);
  return c === undefined ? null : (ex) => c.test(ex);
}
