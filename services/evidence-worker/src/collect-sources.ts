import type { StageContext } from '@rayvault/shared';
import type { Facts } from './extract/extract-facts';
import type { ExtractPool } from './extract/extract-pool';
import type { SourceReader } from './fetch/source-reader';
import { isSourceFetchError, SourceFetchError, type FetchFailureReason } from './fetch/source-fetch-error';
import type { Source } from '@rayvault/shared';

/** What one source gave: its facts, or why it could not be read. */
export type SourceResult =
  | {
      ok: true;
      source: string;
      tier: number;
      location: string;
      from: 'file' | 'cache' | 'network';
      sha256: string;
      fetched_at: string;
      facts: Facts;
      warnings: string[];
    }
  | {
      ok: false;
      source: string;
      tier: number;
      location: string;
      reason: FetchFailureReason;
      error: string;
      transient: boolean;
    };

/**
 * Reads and extracts every source in parallel. A source that answered is a
 * checkpointed step (a retry does not fetch it again); one that failed is
 * not, so the next try fetches it again. Failures become run events.
 * Extraction runs in the pool's threads, never on this event loop.
 */
export function collectSources(
  ctx: StageContext,
  reader: SourceReader,
  pool: ExtractPool,
  sources: readonly Source[],
  labels: readonly string[],
): Promise<SourceResult[]> {
  return Promise.all(sources.map((source, i) => collectSource(ctx, reader, pool, source, labels[i], i)));
}

/** One source: read and extracted as checkpointed step `source-<i>`, or its failure reported. */
async function collectSource(
  ctx: StageContext,
  reader: SourceReader,
  pool: ExtractPool,
  source: Source,
  label: string,
  i: number,
): Promise<SourceResult> {
  const location = 'url' in source ? source.url : source.file;
  try {
    return await ctx.step(`source-${i}`, async (): Promise<SourceResult> => {
      const content = await reader.read(source, {
        signal: ctx.signal,
        forceRefetch: ctx.run.force_refetch,
        log: ctx.log,
        label,
      });
      const { facts, warnings } = await pool.extract(content.body, content.url).catch((err: unknown) => {
        throw isSourceFetchError(err)
          ? new SourceFetchError(err.reason, `${location}: ${err.message}`, err.retryable, { cause: err })
          : err;
      });
      if (warnings.length) ctx.log.warn({ source: label, warnings }, 'source page has unusable values');
      if (!Object.keys(facts).length) warnings.push('no schema.org Product JSON-LD or product meta tags found');
      return {
        ok: true,
        source: label,
        tier: source.tier,
        location,
        from: content.from,
        sha256: content.sha256,
        fetched_at: content.fetchedAt,
        facts,
        warnings,
      };
    });
  } catch (err) {
    if (!isSourceFetchError(err)) throw err;
    const operation = err.reason === 'extraction_failed' ? 'extract' : 'fetch';
    await ctx.emit('ingestion_failure', {
      source: label,
      tier: source.tier,
      location,
      operation,
      reason: err.reason,
      error: err.message,
    });
    return {
      ok: false,
      source: label,
      tier: source.tier,
      location,
      reason: err.reason,
      error: err.message,
      transient: err.retryable,
    };
  }
}
