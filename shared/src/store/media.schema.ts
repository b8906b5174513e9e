import { z } from 'zod';

// What the media SQL functions (migrations 005, 006, 010, 014) return, checked
// on the way in: a function whose answer changed shape fails loudly at the
// store instead of as an `undefined` somewhere downstream.

/** A jsonb timestamp (its text form depends on the session's TimeZone) as a Date. */
const timestamp = z.string().pipe(z.coerce.date());

/** A row of the video index (`artifacts`) as rv_list_artifacts returns it; later columns pass through. */
export const artifactSchema = z.looseObject({
  run_id: z.string(),
  stage: z.string(),
  segment: z.number().nullable(),
  kind: z.string(),
  path: z.string(),
  sha256: z.string(),
  bytes: z.number(),
  duration_s: z.number().nullable(),
  meta: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

export const PROBE_STATUSES = ['ok', 'probe_failed'] as const;

/** What the index holds of the last probe of a file; `probe_status` null: never probed ("meta missing"). */
export const indexProbeSchema = z.object({
  probe_status: z.enum(PROBE_STATUSES).nullable(),
  probe_error: z.string().nullable(),
  probed_at: timestamp.nullable(),
  container: z.string().nullable(),
  video_codec: z.string().nullable(),
  audio_codec: z.string().nullable(),
  width: z.number().nullable(),
  height: z.number().nullable(),
});
export type IndexProbe = z.infer<typeof indexProbeSchema>;

/** A video index entry with its id, probe and timestamps as Dates (rv_video_index). */
export const indexEntrySchema = z.object({
  ...artifactSchema.shape,
  ...indexProbeSchema.shape,
  id: z.number(),
  created_at: timestamp,
});
export type IndexEntry = z.infer<typeof indexEntrySchema>;

export const flagSchema = z.boolean();
export const indexAddedSchema = z.object({ id: z.number().nullable() });
export const relinkedSchema = z.object({ relinked: z.boolean() });
export const probeSavedSchema = z.object({ saved: z.boolean() });

export const probeHealthSchema = z.object({
  probe_failed: z.number(),
  /** How many of the latest probes failed in a row. */
  streak: z.number(),
  latest_error: z.string().nullable(),
});
export type ProbeHealth = z.infer<typeof probeHealthSchema>;

export const runIdsSchema = z.array(z.string());

/** The rows a run's report is built from (rv_run_report_rows); `run` null: no such run. */
export const reportRowsSchema = z.object({
  run: z
    .object({
      id: z.string(),
      status: z.string(),
      stage: z.string(),
      product: z.looseObject({ name: z.string().optional() }).nullable(),
      output: z.record(z.string(), z.unknown()),
    })
    .nullable(),
  ledger: z.array(z.object({ provider: z.string(), credits: z.number(), n: z.number() })),
  videos: z.array(
    z.object({
      segment: z.number(),
      path: z.string(),
      sha256: z.string(),
      duration_s: z.number().nullable(),
      meta: z.looseObject({ target_s: z.number().optional() }),
    }),
  ),
  stages: z.array(
    z.object({
      stage: z.string(),
      status: z.string(),
      attempt: z.number(),
      worker_id: z.string().nullable(),
      started_at: z.string(),
      finished_at: z.string().nullable(),
    }),
  ),
});
export type ReportRows = z.infer<typeof reportRowsSchema>;

/** What a run's page shows besides the run itself (rv_ops_run_extras, 006): evidence claims, artifacts, credits. */
export const runExtrasSchema = z.object({
  claims: z.array(
    z.object({ attempt: z.number(), field: z.string(), value: z.unknown(), source: z.string(), tier: z.number() }),
  ),
  artifacts: z.array(artifactSchema.omit({ run_id: true }).extend({ id: z.number() })),
  credits: z.object({
    total: z.coerce.number(),
    entries: z.array(
      z.object({ provider: z.string(), credits: z.coerce.number(), note: z.string().nullable(), at: z.string() }),
    ),
  }),
});
export type RunExtras = z.infer<typeof runExtrasSchema>;

export const runStatusRowsSchema = z.array(z.object({ id: z.string(), status: z.string(), fence: z.number() }));
export const runsReadingCacheSchema = z.array(z.object({ id: z.string(), status: z.string() }));

export const skipCheckSchema = z.object({
  reruns: z.array(z.object({ run_id: z.string(), stage: z.string(), claims: z.number() })),
  unfinished: z.array(z.string()),
  done: z.number(),
});
export type SkipCheck = z.infer<typeof skipCheckSchema>;

/** A run as a checkpoint check sees it: its status, evidence generation and each stage's steps. */
export const runStepsSchema = z.object({
  status: z.string(),
  refetch_count: z.number(),
  steps: z.record(z.string(), z.record(z.string(), z.unknown())),
});
export type RunSteps = z.infer<typeof runStepsSchema>;
