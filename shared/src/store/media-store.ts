import type { VideoProbe } from '../housekeeping/video-probe';
import {
  artifactSchema,
  flagSchema,
  indexAddedSchema,
  indexEntrySchema,
  probeHealthSchema,
  probeSavedSchema,
  relinkedSchema,
  reportRowsSchema,
  runExtrasSchema,
  runIdsSchema,
  runStatusRowsSchema,
  runStepsSchema,
  runsReadingCacheSchema,
  skipCheckSchema,
} from './media.schema';
import type { Rpc } from './types';
import { parsedCall, type ParsedCall } from './parse-answer';

/**
 * The media stages' fenced writes (migrations 005, 010). They go through the
 * stage context's `record`, which spools them while the database is away, so
 * the store names them instead of calling them.
 */
export const MEDIA_WRITES = { recordArtifact: 'rv_record_artifact', recordCredits: 'rv_record_credits' } as const;

type Call = ParsedCall;

/** The video index: every artifacts row, paths as the database holds them. */
function videoIndex(call: Call) {
  return {
    entries: () => call('rv_video_index', {}, indexEntrySchema.array()),
    /** True when an entry has this path, or a path ending in `/<name>`. */
    names: (a: { path: string; name: string }) =>
      call('rv_video_index_names', { p_path: a.path, p_name: a.name }, flagSchema),
    /** Indexes a render of a segment; the new entry's id, or null when the segment is indexed already. */
    add: async (a: {
      runId: string;
      segment: number;
      path: string;
      sha256: string;
      bytes: number;
      legacy: boolean;
      eventId: string;
    }) =>
      (
        await call(
          'rv_video_index_add',
          {
            p_run: a.runId,
            p_segment: a.segment,
            p_path: a.path,
            p_sha: a.sha256,
            p_bytes: a.bytes,
            p_legacy: a.legacy,
            p_event_id: a.eventId,
          },
          indexAddedSchema,
        )
      ).id,
    /** Re-points entry `id` from `from` to `path` (same sha256); false when it moved meanwhile. */
    relink: async (a: { id: number; path: string; from: string; sha256: string; legacy: boolean; eventId: string }) =>
      (
        await call(
          'rv_video_index_relink',
          { p_id: a.id, p_path: a.path, p_from: a.from, p_sha: a.sha256, p_legacy: a.legacy, p_event_id: a.eventId },
          relinkedSchema,
        )
      ).relinked,
    /** Stores a probe's outcome; a failed probe keeps the last good metadata. False: no such entry. */
    saveProbe: async (id: number, probe: VideoProbe) =>
      (await call('rv_video_index_save_probe', { p_id: id, p_probe: probe }, probeSavedSchema)).saved,
    /** Entries failing ffprobe and how many of the latest probes failed in a row (the doctor). */
    probeHealth: () => call('rv_video_index_probe_health', {}, probeHealthSchema),
  };
}

/** What the state dir's housekeeping asks of the database. */
function housekeepingReads(call: Call) {
  return {
    /** Status and fence of the given runs (those known). */
    runsStatus: (ids: string[]) => call('rv_runs_status', { p_ids: ids }, runStatusRowsSchema),
    /** Unfinished runs at voice or render: they still read the cache. */
    runsReadingCache: () => call('rv_runs_reading_cache', {}, runsReadingCacheSchema),
    /** Workers heartbeating from another host within `staleMs`. */
    workersAliveElsewhere: async (host: string, staleMs: number) =>
      new Set(await call('rv_workers_alive_elsewhere', { p_host: host, p_stale_ms: staleMs }, runIdsSchema)),
    /** Finished stages claimed again, done runs with a stage not done, and how many runs are done. */
    skipCheck: () => call('rv_skip_check', {}, skipCheckSchema),
    /** A run's status, evidence generation and stage steps; null when no run has this id. */
    runSteps: (runId: string) => call('rv_run_steps', { p_run: runId }, runStepsSchema.nullable()),
  };
}

/**
 * The media store: the video index (artifacts), the credits a run spent, the
 * rows of a run's report and housekeeping's reads. Each method is one SQL
 * function (migrations 005, 006, 014) called through the adapter's `rpc`, so
 * pg and supabase serve it alike, and each answer is parsed against its
 * schema (media.schema.ts).
 */
export function createMediaStore(rpc: Rpc) {
  const call = parsedCall(rpc);
  return {
    /** A run's artifacts, by stage, segment and kind. */
    artifacts: (runId: string) => call('rv_list_artifacts', { p_run: runId }, artifactSchema.array()),
    /** The video index: every artifacts row, paths as the database holds them. */
    index: videoIndex(call),
    /** Ids of runs starting with `prefix` (lowercase), oldest first, at most `limit`. */
    runsByIdPrefix: (prefix: string, limit: number) =>
      call('rv_runs_by_id_prefix', { p_prefix: prefix, p_limit: limit }, runIdsSchema),
    /** The run, its credits per provider, its rendered segments and its stages; `run` null when unknown. */
    reportRows: (runId: string) => call('rv_run_report_rows', { p_run: runId }, reportRowsSchema),
    /** A run page's evidence claims, artifacts and credits. */
    runExtras: (runId: string) => call('rv_ops_run_extras', { p_run: runId }, runExtrasSchema),
    /** What the state dir's housekeeping asks of the database. */
    housekeeping: housekeepingReads(call),
  };
}

export type MediaStore = ReturnType<typeof createMediaStore>;
