// The evidence stage's public surface: the processor, its config and its extraction.
export { createEvidenceProcessor } from './evidence.processor';
export {
  evidenceConfigSchema,
  evidenceFields,
  resolveEvidenceOptions,
  type EvidenceConfig,
  type EvidenceOptions,
} from './config.schema';
export { extractFacts, type Facts } from './extract/extract-facts';
export { CRITICAL_FIELDS, type Claim, type ProductSummary } from './claims/claims';
export type { DiffEntry } from './claims/conflicts';
