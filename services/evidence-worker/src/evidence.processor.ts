import { createHash } from 'node:crypto';
import {
  InvalidInputError,
  PanicError,
  TransientError,
  type Runtime,
  type StageContext,
  type StageOutcome,
  type StageProcessor,
} from '@rayvault/shared';
import { factsToClaims, summarizeProduct } from './claims/claims';
import { findConflicts, summarizeDiff } from './claims/conflicts';
import { collectSources, type SourceResult } from './collect-sources';
import { resolveEvidenceOptions, type EvidenceConfig, type EvidenceOptions } from './config.schema';
import { createBreakers } from './fetch/breakers';
import { createContentCache } from './fetch/content-cache';
import { createSourceReader, type SourceReader } from './fetch/source-reader';
import { createExtractPool, type ExtractPool } from './extract/extract-pool';
import { eventIds, parseProduct, sourceLabels, stateLayout } from '@rayvault/shared';

/**
 * The evidence stage: read every source, extract and store claims, and
 * compare the critical ones across the gating tiers. A conflict opens the
 * gate; one that survives `maxRefetches` refetches is panic_integrity_failure.
 * Options come from the config (RAYVAULT_GATING_TIERS, …), then `overrides`.
 */
export function createEvidenceProcessor(
  rt: Runtime,
  config: EvidenceConfig,
  overrides: Partial<EvidenceOptions> = {},
): StageProcessor {
  const o = resolveEvidenceOptions(config, stateLayout(rt.stateDir).evidenceCache, overrides);
  const breakers = createBreakers({
    redis: rt.fastRedis,
    prefix: rt.config.RAYVAULT_QUEUE_PREFIX,
    log: rt.log,
    cooldownMs: o.breakerCooldownMs,
    volumeThreshold: o.breakerVolume,
  });
  rt.releasers.push('evidence-breakers', () => breakers.shutdown());
  const reader = createSourceReader({
    breakers,
    cache: createContentCache(o.cacheDir, o.cacheTtlMs),
    timeoutMs: o.fetchTimeoutMs,
    retries: o.fetchRetries,
    retryBaseMs: o.retryBaseMs,
    maxBytes: o.maxBytes,
    allow: o.allow,
  });
  const pool = createExtractPool({ timeoutMs: o.extractTimeoutMs, onFallback: (why) => rt.log.warn(why) });
  rt.releasers.push('evidence-extract-threads', () => pool.close());
  return (ctx) => collectEvidence(ctx, reader, pool, o);
}

async function collectEvidence(
  ctx: StageContext,
  reader: SourceReader,
  pool: ExtractPool,
  o: EvidenceOptions,
): Promise<StageOutcome> {
  const product = parseProduct(ctx.run.product, `product of run ${ctx.run.id}`);
  const results = await collectSources(ctx, reader, pool, product.sources, sourceLabels(product.sources));
  const answered = results.filter((r): r is Extract<SourceResult, { ok: true }> => r.ok);
  requireTrustedAnswer(results, o.gatingTiers);

  const claims = answered.flatMap((r) => factsToClaims(r.facts, r.source, r.tier));
  const digest = createHash('sha256').update(JSON.stringify(claims)).digest('hex').slice(0, 8);
  await ctx.record('rv_record_claims', {
    p_event_id: eventIds.claimsRecorded(ctx.run.id, ctx.attempt, digest),
    p_attempt: ctx.attempt,
    p_claims: claims,
  });

  const diff = findConflicts(claims, o.gatingTiers);
  if (diff.length) {
    const summary = summarizeDiff(diff, o.gatingTiers);
    if (ctx.run.refetch_count >= o.maxRefetches) {
      throw new PanicError(
        'panic_integrity_failure',
        `${summary}; still in conflict after ${ctx.run.refetch_count} refetch(es) (RAYVAULT_MAX_REFETCHES=${o.maxRefetches})`,
        { details: { diff } },
      );
    }
    ctx.log.warn({ diff }, 'critical claims disagree: opening the gate');
    return { gate: { diff, summary } };
  }
  return {
    output: {
      claims,
      product: summarizeProduct(product, answered),
      sources: results.map(sourceReport),
      ...(product.script ? { script: product.script } : {}),
    },
  };
}

/** A source as the run output lists it: where it was read from, or why it failed (facts are in the claims). */
function sourceReport(r: SourceResult) {
  const head = { source: r.source, tier: r.tier, location: r.location, ok: r.ok };
  return r.ok
    ? { ...head, from: r.from, sha256: r.sha256, fetched_at: r.fetched_at, warnings: r.warnings }
    : { ...head, reason: r.reason, error: r.error };
}

/**
 * Comparing claims needs the trusted sources: if the product has gating-tier
 * sources and none of them answered (or no source answered at all), the try
 * fails as transient so the job retries with backoff.
 */
function requireTrustedAnswer(results: readonly SourceResult[], gatingTiers: readonly number[]): void {
  const trusted = results.filter((r) => gatingTiers.includes(r.tier));
  const pool = trusted.length ? trusted : results;
  if (pool.some((r) => r.ok)) return;
  const why = pool.map((r) => `${r.source}: ${'error' in r ? r.error : 'no answer'}`).join('; ');
  const which = trusted.length ? `no tier ${gatingTiers.join('/')} source answered` : 'no source answered';
  // A refused destination, an oversized page or a 404 fails the same way next time: retrying only hides it.
  if (pool.every((r) => !r.ok && !r.transient)) {
    throw new InvalidInputError(
      `${which} (${why}); none of these failures passes by retrying: fix the product's sources (or RAYVAULT_FETCH_ALLOW for an intranet source) and submit the run again`,
    );
  }
  throw new TransientError(
    `${which} (${why}); the job retries with backoff; check the source sites and their circuit state in /api/health`,
  );
}
