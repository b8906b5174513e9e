import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { STAGES, type Stage } from '../domain/run-status';
import { currentTraceparent } from '../telemetry/trace-context';
import { queuePrefix, stageJobId } from '../domain/keys';
import { claimResultSchema } from '../store/lifecycle.schema';

/** Queue names; the alerts queue feeds the notifier. */
export const STAGE_QUEUES = STAGES;
export const ALERTS_QUEUE = 'alerts';
/** The scheduler's repeatable jobs. */
export const CRON_QUEUE = 'cron';
/** Every queue RayVault keeps in Redis. */
export const ALL_QUEUES = [...STAGE_QUEUES, ALERTS_QUEUE, CRON_QUEUE] as const;

export const stageJobSchema = z.object({
  runId: z.string().uuid(),
  stage: z.enum(STAGES),
  attempt: z.number().int().min(1),
  /** W3C trace context of the span that queued the job: the stage attempt's parent. Absent when tracing is off. */
  traceparent: z
    .string()
    .regex(/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/)
    .optional(),
  /**
   * The claim the previous stage's completion made for this job (migration 016): used on the job's first
   * delivery only, in place of a claim call. Any later delivery claims again, which moves the fence on.
   */
  handOff: claimResultSchema.optional(),
});
export type StageJob = z.infer<typeof stageJobSchema>;

export type JobPolicy = { attempts: number; backoffMs: number };

/** Transient failures retry with exponential backoff and jitter; failed jobs are kept as dead letters. */
export function stageJobOptions(policy: JobPolicy): DefaultJobOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: 24 * 3600, count: 5000 },
    removeOnFail: false,
  };
}

export type StageQueues = Record<Stage, Queue<StageJob>>;

export function createStageQueues(
  connection: ConnectionOptions,
  prefix: string,
  policy: JobPolicy,
  log: Logger,
): StageQueues {
  const entries = STAGES.map((s) => {
    const q = new Queue<StageJob>(s, {
      connection,
      prefix: queuePrefix(prefix, s),
      defaultJobOptions: stageJobOptions(policy),
    });
    q.on('error', (err) => log.warn({ err, queue: s }, 'queue error'));
    return [s, q];
  });
  return Object.fromEntries(entries) as StageQueues;
}

export async function enqueueStage(queues: StageQueues, job: StageJob): Promise<void> {
  const data = stageJobSchema.parse({ ...job, traceparent: job.traceparent ?? currentTraceparent() });
  await queues[data.stage].add(data.stage, data, { jobId: stageJobId(data) });
}

export async function closeQueues(queues: StageQueues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
