import { baseConfigSchema, loadConfig, parseFetchAllow, type Config, type FetchAllow } from '@rayvault/shared';
import { z } from 'zod';

const ms = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

/** Variables only the evidence worker reads. */
export const evidenceFields = z.object({
  /** Tiers whose sources must agree on critical claims, CSV of 1-5 (default "4,5"). */
  RAYVAULT_GATING_TIERS: z
    .string()
    .default('4,5')
    .transform((s, ctx) => {
      const tiers = s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
        .map(Number);
      if (!tiers.length || tiers.some((t) => !Number.isInteger(t) || t < 1 || t > 5)) {
        ctx.addIssue({ code: 'custom', message: 'comma-separated tiers between 1 and 5, e.g. "4,5"' });
        return z.NEVER;
      }
      return [...new Set(tiers)].sort((a, b) => a - b);
    }),
  /** Refetches a conflict may survive before the run panics with panic_integrity_failure. */
  RAYVAULT_MAX_REFETCHES: z.coerce.number().int().min(0).default(2),
  /** One HTTP request to a source; slower answers count as a transient failure. */
  RAYVAULT_EVIDENCE_FETCH_TIMEOUT_MS: ms(10_000, 50),
  /** Extra tries after a transient failure (5xx, 429, network, timeout), with backoff and jitter. */
  RAYVAULT_EVIDENCE_FETCH_RETRIES: z.coerce.number().int().min(0).default(2),
  RAYVAULT_EVIDENCE_RETRY_BASE_MS: ms(250, 1),
  /** How long a source host's open circuit refuses requests before one trial request. */
  RAYVAULT_EVIDENCE_BREAKER_COOLDOWN_MS: ms(30_000, 50),
  /** Requests in the rolling window before the failure rate can open the circuit. */
  RAYVAULT_EVIDENCE_BREAKER_VOLUME: ms(3, 1),
  /** Longest one page's fact extraction may take (in a worker thread, so the event loop never waits on it). */
  RAYVAULT_EVIDENCE_EXTRACT_TIMEOUT_MS: ms(5000, 50),
  /** Fetched pages are reused for this long unless the run asks for a refetch. */
  RAYVAULT_EVIDENCE_CACHE_TTL_MS: ms(6 * 3600_000, 0),
});

export const evidenceConfigSchema = baseConfigSchema.extend(evidenceFields.shape);
export type EvidenceConfig = z.infer<typeof evidenceConfigSchema>;

/**
 * The evidence worker process's configuration, parsed once at start (`env` for tests; .env is read only for the real
 * environment).
 */
export function loadEvidenceConfig(env: NodeJS.ProcessEnv = process.env): Config & EvidenceConfig {
  return loadConfig(env, { schema: evidenceConfigSchema });
}

/** The evidence stage's options, every default filled. */
export type EvidenceOptions = {
  gatingTiers: number[];
  maxRefetches: number;
  fetchTimeoutMs: number;
  fetchRetries: number;
  retryBaseMs: number;
  breakerCooldownMs: number;
  breakerVolume: number;
  cacheTtlMs: number;
  /** Decoded page cap (RAYVAULT_FETCH_MAX_BYTES, a base variable: the render worker's image fetches share it). */
  maxBytes: number;
  /** Private destinations sources may reach (RAYVAULT_FETCH_ALLOW). */
  allow: FetchAllow;
  /** Longest a page's fact extraction may run in its worker thread before the source is given up (ms). */
  extractTimeoutMs: number;
  /** Where fetched pages are cached (default `<state>/cache/evidence`). */
  cacheDir: string;
};

/** Options from the parsed config, then `overrides`. */
export function resolveEvidenceOptions(
  e: EvidenceConfig,
  cacheDir: string,
  overrides: Partial<EvidenceOptions> = {},
): EvidenceOptions {
  return {
    gatingTiers: e.RAYVAULT_GATING_TIERS,
    maxRefetches: e.RAYVAULT_MAX_REFETCHES,
    fetchTimeoutMs: e.RAYVAULT_EVIDENCE_FETCH_TIMEOUT_MS,
    fetchRetries: e.RAYVAULT_EVIDENCE_FETCH_RETRIES,
    retryBaseMs: e.RAYVAULT_EVIDENCE_RETRY_BASE_MS,
    breakerCooldownMs: e.RAYVAULT_EVIDENCE_BREAKER_COOLDOWN_MS,
    breakerVolume: e.RAYVAULT_EVIDENCE_BREAKER_VOLUME,
    cacheTtlMs: e.RAYVAULT_EVIDENCE_CACHE_TTL_MS,
    maxBytes: e.RAYVAULT_FETCH_MAX_BYTES,
    allow: parseFetchAllow(e.RAYVAULT_FETCH_ALLOW),
    extractTimeoutMs: e.RAYVAULT_EVIDENCE_EXTRACT_TIMEOUT_MS,
    cacheDir,
    ...overrides,
  };
}
