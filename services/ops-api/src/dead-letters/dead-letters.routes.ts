import { Router } from 'express';
import type { Job } from 'bullmq';
import { z } from 'zod';
import {
  runOperatorAction,
  STAGES,
  type OpsAudit,
  type Run,
  type Runtime,
  type Stage,
  type StageJob,
} from '@rayvault/shared';
import { actorOf, type Auth } from '../auth/authenticate';
import { HttpError } from '../http/errors';
import { reasonBody } from '../http/schemas';
import { parseInput } from '../http/validate';

const listQuery = z.object({
  queue: z.enum(STAGES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

function view(stage: Stage, job: Job<StageJob>) {
  return {
    queue: stage,
    job_id: job.id,
    run_id: job.data?.runId ?? null,
    attempt: job.data?.attempt ?? null,
    failed_reason: job.failedReason,
    attempts_made: job.attemptsMade,
    failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}

/** The newest dead letters across `stages` (at most `limit`), and each stage's count. */
async function listDeadLetters(rt: Runtime, stages: Stage[], limit: number) {
  const lists = await Promise.all(
    stages.map(async (s) => (await rt.queues[s].getFailed(0, limit - 1)).map((j) => view(s, j as Job<StageJob>))),
  );
  const jobs = lists
    .flat()
    .sort((a, b) => (b.failed_at ?? '').localeCompare(a.failed_at ?? ''))
    .slice(0, limit);
  const counts = Object.fromEntries(
    await Promise.all(stages.map(async (s) => [s, await rt.queues[s].getFailedCount()] as const)),
  );
  return { jobs, counts };
}

/**
 * Re-drives one dead letter: resumes its failed/panicked run, or retries the job the run still waits for; a
 * superseded job is refused (409).
 */
async function redrive(rt: Runtime, stage: Stage, job: Job<StageJob>, actor: string, reason: string) {
  const run = job.data?.runId ? await rt.store.getRun(job.data.runId) : null;
  if (run && (run.status === 'failed' || run.status === 'panic')) {
    const after = await runOperatorAction(rt, { runId: run.id, action: 'resume', actor, reason, expected: run.status });
    await job.remove();
    return { run, after, outcome: 'run resumed from its checkpoint as a new attempt' };
  }
  if (
    run &&
    run.stage === stage &&
    run.attempt === job.data.attempt &&
    ['queued', 'running', 'approved'].includes(run.status)
  ) {
    await job.retry('failed');
    return { run, after: run as Run | null, outcome: 'job retried' };
  }
  throw new HttpError(
    'illegal_transition',
    `run ${job.data?.runId ?? '?'} is ${run?.status ?? 'unknown'} at ${run?.stage ?? '?'}: this job is superseded, nothing to re-drive`,
  );
}

/**
 * Dead letters: stage jobs that exhausted their attempts or panicked. A
 * re-drive of a job whose run is `failed` or `panic` resumes the run (a new
 * attempt, recorded as a run event) and drops the superseded job; a job the
 * run still waits for is retried as is.
 */
export function deadLetterRoutes(rt: Runtime, d: { auth: Auth; audit: OpsAudit }): Router {
  const r = Router();
  r.get('/api/dead-letters', d.auth.requireRole('viewer'), async (req, res) => {
    const q = parseInput(listQuery, req.query);
    res.json(await listDeadLetters(rt, q.queue ? [q.queue] : [...STAGES], q.limit));
  });

  r.post('/api/dead-letters/:queue/:jobId/redrive', d.auth.requireRole('operator'), async (req, res) => {
    const stage = String(req.params.queue) as Stage;
    if (!STAGES.includes(stage))
      throw new HttpError('not_found', `no stage queue ${stage}: one of ${STAGES.join(', ')}`);
    const jobId = String(req.params.jobId);
    const job = await rt.queues[stage].getJob(jobId);
    if (!job || (await job.getState()) !== 'failed')
      throw new HttpError('not_found', `no dead letter ${jobId} in ${stage}`);
    const { reason } = parseInput(reasonBody, req.body);
    const actor = actorOf(res).name;
    const { run, after, outcome } = await redrive(rt, stage, job as Job<StageJob>, actor, reason);
    await d.audit.record({
      type: 'dead_letter_redrive',
      actor,
      reason,
      target: `${stage}/${jobId}`,
      payload: { run_id: run.id, outcome },
    });
    res.json({
      queue: stage,
      job_id: jobId,
      run_id: run.id,
      outcome,
      run: after && { id: after.id, status: after.status, stage: after.stage, attempt: after.attempt },
    });
  });
  return r;
}
