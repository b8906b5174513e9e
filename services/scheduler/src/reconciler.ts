import { dedupeKeys, enqueueStage, eventIds, stageJobId, type InFlightRun, type Runtime } from '@rayvault/shared';
import { randomUUID } from 'node:crypto';

const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * The database is the truth: every run it says is queued, approved or running
 * but that has no live lease and no live job (a dead worker, a Redis that
 * lost recent writes) is queued again from its checkpoint. Idempotent: the job
 * id is deterministic.
 */
export function createReconciler(rt: Runtime) {
  /** Runs with no lease and no live job, with their job's state; each re-read after its job was looked at. */
  async function orphans(): Promise<Array<{ run: InFlightRun; state: string }>> {
    const found: Array<{ run: InFlightRun; state: string }> = [];
    for (const run of await rt.store.runsInFlight()) {
      if (await rt.locks.holder(run.id)) continue;
      const state = await rt.queues[run.stage].getJobState(stageJobId({ ...run, runId: run.id }));
      if (!LIVE_JOB_STATES.has(state)) found.push({ run, state });
    }
    if (!found.length) return found;
    // A run that moved on meanwhile (a hand-off between our two reads: its old job completed) is no orphan.
    const now = new Map((await rt.store.runsInFlight()).map((r) => [r.id, r]));
    return found.filter(({ run }) => {
      const r = now.get(run.id);
      return r && r.stage === run.stage && r.attempt === run.attempt && r.status === run.status;
    });
  }

  async function pass(): Promise<string[]> {
    const requeued: string[] = [];
    for (const { run, state } of await orphans()) {
      const job = { runId: run.id, stage: run.stage, attempt: run.attempt, traceparent: run.traceparent ?? undefined };
      const jobId = stageJobId(job);
      const queue = rt.queues[run.stage];
      if (state === 'failed') {
        await deadLetter(rt, run, jobId);
        continue;
      }
      // A finished job whose run did not move on (abandoned after a lost lock): replace it.
      if (state === 'completed') await queue.remove(jobId);
      await enqueueStage(rt.queues, job);
      requeued.push(run.id);
      rt.log.warn(
        { runId: run.id, stage: run.stage, status: run.status, previousJobState: state },
        'reconciler re-queued run',
      );
      await rt.store
        .appendEvent({
          eventId: randomUUID(),
          runId: run.id,
          fence: null,
          type: 'requeued',
          actor: 'reconciler',
          payload: { stage: run.stage, attempt: run.attempt, previousJobState: state },
        })
        .catch(() => undefined);
    }
    return requeued;
  }
  return { pass };
}

/** An exhausted job (a poison job that kills its worker, stalled too often): a dead letter, not a loop. */
async function deadLetter(rt: Runtime, run: InFlightRun, jobId: string): Promise<void> {
  const failed = await rt.queues[run.stage].getJob(jobId);
  await rt.store
    .transition({
      runId: run.id,
      to: 'failed',
      fence: null,
      actor: 'reconciler',
      reason: `job failed: ${failed?.failedReason ?? 'unknown'}`,
      payload: { stage: run.stage, error: failed?.failedReason },
      eventId: eventIds.deadLetter(jobId),
    })
    .catch((err) => rt.log.warn({ err, runId: run.id }, 'could not mark run failed'));
  await rt.alerter.raise({
    kind: 'dead_letter',
    runId: run.id,
    traceId: run.traceparent?.split('-')[1],
    status: 'failed',
    attempt: run.attempt,
    title: `DEAD LETTER: run ${run.id} at ${run.stage}`,
    text: failed?.failedReason ?? 'job failed',
    dedupeKey: dedupeKeys.deadLetter(jobId),
  });
}
