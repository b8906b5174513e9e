// The evidence stage's public surface: the processor, its config, the sample
// products, and the readers the CLI and health views use.
export { createEvidenceProcessor } from './evidence.processor';
export { evidenceConfigSchema, evidenceFields, resolveEvidenceOptions, type EvidenceConfig, type EvidenceOptions } from './config.schema';
export { loadProductFile, loadSample, SAMPLE_NAMES, SAMPLES_DIR, type SampleName } from './samples';
export { parseProduct, productSchema, sourceSchema, scriptSegmentSchema, type Product, type Source, type ScriptSegment } from './product.schema';
export { breakersKey, readBreakers, type BreakerRecord, type BreakerState } from '@rayvault/shared';
export { extractFacts, type Facts } from './extract/extract-facts';
export { CRITICAL_FIELDS, type Claim, type ProductSummary } from './claims/claims';
export type { DiffEntry } from './claims/conflicts';
