// The hand-off between stages does not wait on the previous stage's run lock:
// the next stage's worker takes over a lock left at an earlier stage, as when
// its holder died after the database completed its stage but before it let go.
import { randomUUID } from 'node:crypto';
import {
  createRunLocks,
  createWorkerHost,
  enqueueStage,
  RunLease,
  RunSession,
  stageJobId,
  submitRun,
  whenRedisReady,
} from '@rayvault/shared';
import { createHeartbeat } from '../../shared/src/stage/heartbeat';
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
    await rt.store.completeStage({
      runId: run.id,
      stage: 'evidence',
      fence: claim.run.fence,
      output: null,
      next: 'voice',
      eventId: `${run.id}:evidence:1:complete`,
    });
    await enqueueStage(rt.queues, { runId: run.id, stage: 'voice', attempt: 1 });
    // The evidence job submitRun queued is stale now; left in, it would take the free lock for a moment after qc.
    await rt.queues.evidence.remove(stageJobId({ runId: run.id, stage: 'evidence', attempt: 1 }));

    await host.start();
    await waitFor('run done', async () => (await rt.store.getRun(run.id))!.status === 'done', 20000, 100);
    const detail = (await rt.store.getRun(run.id))!;
    expect(detail.events.filter((e) => e.type === 'stage_claimed').map((e) => e.payload.stage)).toEqual([
      'evidence',
      'voice',
      'render',
      'qc',
    ]);
    expect(await rt.locks.holder(run.id)).toBeNull();
    expect(await deadLocks.expiresInMs(run.id)).toBe(0);
  } finally {
    await host.close(1000);
    await rt.releasers.close();
  }
});

it('a renewal that finds the next stage holding the lock is a lost lock mid-stage, but not while the stage hands off', async () => {
  const t = await createTestEnv('handoff-beat');
  const rt = testRuntime(t, 'handoff-beat');
  const sessions = new Set<RunSession>();
  const heartbeat = createHeartbeat({
    rt,
    sessions,
    intervalMs: 60000,
    flushSpool: async () => true,
    onPanic: () => undefined,
    record: () => ({
      id: rt.workerId,
      state: 'active',
      queues: ['evidence'],
      currentRun: null,
      currentJob: null,
      host: 'test',
      pid: process.pid,
    }),
  });
  try {
    await whenRedisReady(rt.fastRedis);
    const session = async (handingOff: boolean) => {
      const runId = randomUUID();
      const job = { runId, stage: 'evidence' as const, attempt: 1 };
      const s = new RunSession(job, stageJobId(job), (await RunLease.acquire(rt.locks, runId, rt.workerId, job))!, 1);
      if (handingOff) s.lease.handOff();
      sessions.add(s);
      // The next stage's worker takes the lock over.
      expect(await rt.locks.acquire(runId, 'next-worker', { attempt: 1, stage: 'voice' })).not.toBeNull();
      return s;
    };
    const midStage = await session(false);
    const handingOff = await session(true);
    heartbeat.start();
    await waitFor('renewals answered', () => midStage.signal.aborted, 10000, 20);
    expect((midStage.signal.reason as Error).message).toMatch(/lock taken by another holder/);
    expect(handingOff.signal.aborted).toBe(false);
  } finally {
    await heartbeat.stop();
    await rt.releasers.close();
  }
});
