import type { Exchange, GatewayApi } from '@switchyard/sdk';
import { RateLimitErrors } from './errors';

/** What this plugin needs of the ACL plugin's `acl.compiler` service (structural: no import of another plugin). */
interface AclCompilerLike {
  compileRuleCondition(frontend: string, rule: { if?: string; unless?: string }, where: string): { test(ex: Exchange): boolean } | undefined;
}

/** The ACL plugin's slot entry: a service that hands out the compiler bound to one gateway's config. */
interface AclServiceLike {
  forGateway(gateway: GatewayApi): AclCompilerLike;
}

export const ACL_COMPILER_SLOT = 'acl.compiler';

const compilers = new WeakMap<GatewayApi, AclCompilerLike | null>();

function aclCompiler(gateway: GatewayApi): AclCompilerLike | null {
  let c = compilers.get(gateway);
  if (c === undefined) {
    const service = gateway.slots.get<AclServiceLike>(ACL_COMPILER_SLOT, 'default');
    c = service && typeof service.forGateway === 'function' ? service.forGateway(gateway) : null;
    compilers.set(gateway, c);
  }
  return c;
}

/** Compiles a rule's `if`/`unless` with the ACL plugin; null when the rule has neither. */
export function compileCondition(
  gateway: GatewayApi,
  frontend: string,
  rule: { if?: string; unless?: string },
  where: string,
): ((ex: Exchange) => boolean) | null {
  if (rule.if === undefined && rule.unless === undefined) return null;
  const acl = aclCompiler(gateway);
  if (!acl) throw RateLimitErrors.NO_ACL(where);
  const c = acl.compileRuleCondition(frontend, rule, where);
  return c === undefined ? null : (ex) => c.test(ex);
}
