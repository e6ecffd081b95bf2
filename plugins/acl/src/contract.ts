/**
 * What other plugins import from this one without loading the ACL language:
 * `@switchyard/plugin-acl/contract` (declare this package a peer dependency). Slot keys,
 * per-exchange keys and their types; the plugin and its helpers are `.`.
 */
export {
  ACL_COMPILER, COMPILER_SLOT, CONVERTER_SLOT, EXPLAIN_SLOT, MATCH_SLOT, RESPONSE_VAR,
  type AclCompiler, type AclService, type CompiledCondition, type CompiledFetch, type CompiledFormat,
  type ConverterDefinition, type ExplainOutcome, type ExplainStep, type MatchDefinition, type RuleCondition, type Sample,
} from './types';
