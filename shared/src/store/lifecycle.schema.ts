import { z } from 'zod';
import { RUN_STATUSES, STAGES, WORKER_STATES } from '../domain/run-status';

// What the lifecycle SQL functions (migrations 002, 003, 007, 009, 011) return,
// checked on the way in: a function whose answer changed shape fails loudly at
// the store instead of as an `undefined` somewhere downstream.
//
// Claim, checkpoint and complete parse a run on every stage transition, so the
// checks stay shallow: a jsonb column is checked to be an object, never walked
// or copied. Rows are parsed loose: a column their type does not name passes
// through (the API and `--json` show whole rows), while the type names only
// what callers read.

/** A jsonb object, checked in place: its contents are the stages' business. */
const jsonObject = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'expected a JSON object',
);

const runShape = z.object({
  id: z.string(),
  status: z.enum(RUN_STATUSES),
  stage: z.enum(STAGES),
  attempt: z.number(),
  fence: z.number(),
  worker_id: z.string().nullable(),
  worker_last_error: z.string().nullable(),
  panic_kind: z.string().nullable(),
  force_refetch: z.boolean(),
  refetch_count: z.number(),
  /** The OpenTelemetry trace the run was created in (migration 011); null when tracing was off. */
  trace_id: z.string().nullable(),
  /** W3C context of the run's creation span: operator actions continue the run's trace from it. */
  traceparent: z.string().nullable(),
  product: jsonObject,
  input: jsonObject,
  /** Stage name -> that stage's output. */
  output: jsonObject,
  created_at: z.string(),
  updated_at: z.string(),
});
export type Run = z.infer<typeof runShape>;
export const runSchema: z.ZodType<Run> = runShape.loose();

const runStageShape = z.object({
  stage: z.enum(STAGES),
  status: z.enum(['running', 'done', 'gated']),
  attempt: z.number(),
  fence: z.number(),
  worker_id: z.string().nullable(),
  /** Checkpoints: step name -> result. */
  steps: jsonObject,
  output: z.unknown(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
});
export type RunStage = z.infer<typeof runStageShape>;
const runStageSchema: z.ZodType<RunStage> = runStageShape.loose();

const runEventShape = z.object({
  id: z.string(),
  seq: z.number(),
  run_id: z.string(),
  type: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
  fence: z.number().nullable(),
  payload: jsonObject,
  created_at: z.string(),
});
export type RunEvent = z.infer<typeof runEventShape>;
const runEventSchema: z.ZodType<RunEvent> = runEventShape.loose();

const runDetailShape = runShape.extend({
  stages: z.array(runStageSchema),
  events: z.array(runEventSchema),
});
export type RunDetail = z.infer<typeof runDetailShape>;
export const runDetailSchema: z.ZodType<RunDetail> = runDetailShape.loose();

/** A run as the runs list shows it (rv_list_runs): without product, input and output, with the product's name. */
const runListItemShape = runShape
  .omit({ product: true, input: true, output: true })
  .extend({ product_name: z.string().nullable() });
export type RunListItem = z.infer<typeof runListItemShape>;
export const runListItemSchema: z.ZodType<RunListItem> = runListItemShape.loose();

/** What the reconciler checks of a run the database says should be moving (rv_runs_in_flight). */
const inFlightRunShape = runShape.pick({
  id: true,
  status: true,
  stage: true,
  attempt: true,
  worker_id: true,
  updated_at: true,
  traceparent: true,
});
export type InFlightRun = z.infer<typeof inFlightRunShape>;
export const inFlightRunSchema: z.ZodType<InFlightRun> = inFlightRunShape;

const workerRecordShape = z.object({
  id: z.string(),
  state: z.enum(WORKER_STATES),
  queues: z.array(z.string()),
  current_run: z.string().nullable(),
  current_job: z.string().nullable(),
  host: z.string().nullable(),
  pid: z.number().nullable(),
  last_error: z.string().nullable(),
  last_heartbeat_at: z.string(),
  last_heartbeat_latency_ms: z.number().nullable(),
  heartbeat_age_ms: z.number(),
  stopped_at: z.string().nullable(),
});
export type WorkerRecord = z.infer<typeof workerRecordShape>;
export const workerRecordSchema: z.ZodType<WorkerRecord> = workerRecordShape.loose();

/** rv_claim_stage: `stale` when the job no longer matches the run (nothing changed); else the checkpoints kept. */
export const claimResultSchema = z.object({
  stale: z.boolean(),
  run: runSchema,
  steps: jsonObject.nullish(),
});
export type ClaimResult = z.infer<typeof claimResultSchema>;

/** rv_operator_action: the job the caller must add, if any. */
export const actionResultSchema = z.object({
  run: runSchema,
  enqueue: z.object({ stage: z.enum(STAGES), attempt: z.number() }).nullable(),
  duplicate: z.boolean(),
});
export type ActionResult = z.infer<typeof actionResultSchema>;

/** rv_force_unlock_run: `refused` says why nothing changed. */
export const forceUnlockSchema = z.object({
  refused: z.string().nullable(),
  run: runSchema,
  previous: runSchema,
});

/** A replayed event id records nothing (rv_checkpoint, rv_append_event). */
export const duplicateSchema = z.object({ duplicate: z.boolean() });

/** rv_worker_heartbeat's row; rv_worker_stopped's, or null for a worker never seen. */
export const workerIdSchema = z.object({ id: z.string() });
