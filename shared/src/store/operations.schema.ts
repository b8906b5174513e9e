import { z } from 'zod';
import { RUN_STATUSES, STAGES } from '../domain/run-status';

// What the operations SQL functions (migrations 006, 012, 013) return, checked
// on the way in: a function whose answer changed shape fails loudly at the
// store instead of as an `undefined` somewhere downstream.

/** What an API token may do: viewer < operator < admin (api_tokens.role's CHECK, 006). */
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** A jsonb timestamp (its text form depends on the session's TimeZone) as a Date. */
const timestamp = z.string().pipe(z.coerce.date());

export const tokenOwnerSchema = z.object({ name: z.string(), role: z.enum(API_ROLES) });
export type TokenOwner = z.infer<typeof tokenOwnerSchema>;

/** A token as listed: never its hash. Timestamps stay as the database wrote them (the API passes them on). */
export const tokenRecordSchema = tokenOwnerSchema.extend({
  id: z.string(),
  created_by: z.string(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
  revoked_by: z.string().nullable(),
});
export type TokenRecord = z.infer<typeof tokenRecordSchema>;

export const opsEventSchema = z.object({
  id: z.string(),
  seq: z.number(),
  type: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
  target: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});
export type OpsEventRecord = z.infer<typeof opsEventSchema>;

export const duplicateSchema = z.object({ duplicate: z.boolean() });

export const opsMetricsSchema = z.object({
  runs_by_status: z.record(z.string(), z.number()),
  gates_open: z.number(),
  /** Seconds the oldest open gate has waited; null when none is open. */
  oldest_gate_age_s: z.number().nullable(),
  stage_durations: z.array(
    z.object({ stage: z.string(), count: z.number(), p50: z.number(), p95: z.number(), max: z.number() }),
  ),
});
export type OpsMetrics = z.infer<typeof opsMetricsSchema>;

export const runsByStatusSchema = z.array(
  z.object({
    status: z.enum(RUN_STATUSES),
    n: z.number(),
    oldest_gate: timestamp.nullable(),
    last_created: timestamp.nullable(),
    recent: z.number(),
  }),
);
export type RunsByStatus = z.infer<typeof runsByStatusSchema>;

const runStageSummary = z.object({
  stage: z.enum(STAGES),
  status: z.string(),
  attempt: z.number(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
});

/**
 * A page of the runs list: each run without product/input/output, plus its
 * product's name and its stages; other columns pass through unchecked.
 */
export const runPageSchema = z.object({
  total: z.number(),
  runs: z.array(
    z.looseObject({
      id: z.string(),
      status: z.enum(RUN_STATUSES),
      stage: z.enum(STAGES),
      attempt: z.number(),
      product_name: z.string().nullable(),
      created_at: z.string(),
      updated_at: z.string(),
      stages: z.array(runStageSummary),
    }),
  ),
});
export type RunPage = z.infer<typeof runPageSchema>;

export const throughputSchema = z.object({
  since: timestamp,
  points: z.array(z.object({ stage: z.enum(STAGES), minute: timestamp, completed: z.number(), failed: z.number() })),
});
export type StageThroughput = z.infer<typeof throughputSchema>;

export const eventHeadSchema = z.number();

export const runChangesSchema = z.array(
  z.object({
    seq: z.number(),
    id: z.string(),
    status: z.enum(RUN_STATUSES),
    stage: z.enum(STAGES),
    updated_at: timestamp,
  }),
);
export type RunChanges = z.infer<typeof runChangesSchema>;
