// The hand-off between stages does not wait on the previous stage's run lock:
// the next stage's worker takes over a lock left at an earlier stage, as when
// its holder died after the database completed its stage but before it let go.
import { createRunLocks, createWorkerHost, enqueueStage, submitRun } from '@rayvault/shared';
import { createTestEnv, testRuntime, waitFor } from '../support/harness';
import { allStepsProcessors } from '../support/test-processors';

jest.setTimeout(60000);

it('a lock left behind by a finished stage holds the next stage back for none of its lease', async () => {
  const t = await createTestEnv('handoff');
  const rt = testRuntime(t, 'handoff-worker');
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  try {
    const run = await submitRun(rt, { product: { name: 'P' }, actor: 'test' });
    // A worker finished evidence in the database and died before releasing its lock, which has a minute left.
    const deadLocks = createRunLocks(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, 60000);
    expect(await deadLocks.acquire(run.id, 'dead-worker', { attempt: 1, stage: 'evidence' })).not.toBeNull();
    const claim = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'dead-worker' });
    await rt.store.completeStage({ runId: run.id, stage: 'evidence', fence: claim.run.fence, output: null, next: 'voice', eventId: `${run.id}:evidence:1:complete` });
    await enqueueStage(rt.queues, { runId: run.id, stage: 'voice', attempt: 1 });

    await host.start();
    await waitFor('run done', async () => (await rt.store.getRun(run.id))!.status === 'done', 20000, 100);
    const detail = (await rt.store.getRun(run.id))!;
    expect(detail.events.filter((e) => e.type === 'stage_claimed').map((e) => e.payload.stage)).toEqual(['evidence', 'voice', 'render', 'qc']);
    expect(await rt.locks.holder(run.id)).toBeNull();
    expect(await deadLocks.expiresInMs(run.id)).toBe(0);
  } finally {
    await host.close(1000);
    await rt.releasers.close();
  }
});
