import type { Stage } from '../domain/run-status';
import { stageJobId } from '../domain/keys';
import { enqueueStage } from '../queues/queues';
import type { Runtime } from '../runtime';

/**
 * Phase 1 recovery: a restarted worker (same worker id) first takes back the
 * runs its previous incarnation held. It clears that incarnation's run lock
 * and BullMQ job lock so the job is stalled now, not after the lease.
 */
export async function recoverOwnRuns(rt: Runtime, stages: Stage[]): Promise<string[]> {
  const mine = (await rt.store.runsInFlight()).filter(
    (r) => r.worker_id === rt.workerId && r.status === 'running' && stages.includes(r.stage),
  );
  const recovered: string[] = [];
  for (const run of mine) {
    if ((await rt.locks.holder(run.id)) === rt.workerId) await rt.locks.forceClear(run.id);
    const jobId = stageJobId({ runId: run.id, stage: run.stage, attempt: run.attempt });
    const queue = rt.queues[run.stage];
    const state = await queue.getJobState(jobId);
    if (state === 'active') await rt.redis.del(`${queue.toKey(jobId)}:lock`);
    if (state === 'unknown')
      await enqueueStage(rt.queues, {
        runId: run.id,
        stage: run.stage,
        attempt: run.attempt,
        traceparent: run.traceparent ?? undefined,
      });
    recovered.push(run.id);
    rt.log.info({ runId: run.id, stage: run.stage, jobState: state }, 'recovering own run from its checkpoint');
  }
  return recovered;
}
