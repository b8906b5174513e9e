// One Postgres round trip per transition (migration 016): a stage's completion
// claims the next stage, and the next worker starts from that claim on the
// job's first delivery. Any other delivery claims for itself and moves the
// fence on, so whoever still holds the hand-off fence is refused.
import { randomUUID } from 'node:crypto';
import {
  createWorkerHost,
  FencedWriteError,
  submitRun,
  type ClaimResult,
  type Runtime,
  type Stage,
} from '@rayvault/shared';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { allStepsProcessors } from '../support/test-processors';

jest.setTimeout(60000);

let t: TestEnv;
let rt: Runtime;

beforeAll(async () => {
  t = await createTestEnv('handoff-claim');
  rt = testRuntime(t, 'handoff-claim-worker');
});
afterAll(() => rt.releasers.close());

/** A run created and claimed at evidence by `worker`, as the first stage's worker does. */
async function claimedAtEvidence(worker = 'w-evidence') {
  const run = await submitRun(rt, { product: { name: 'P' }, actor: 'test' });
  const claim = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: worker });
  return { runId: run.id, fence: claim.run.fence };
}

const handOff = (runId: string, fence: number, next: Stage = 'voice', eventId = randomUUID()) =>
  rt.store.handOff({ runId, stage: 'evidence', fence, output: { ok: true }, next, workerId: 'w-evidence', eventId });

it('a run through four stages makes one claim call; the next three start from the claim their hand-off made', async () => {
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  const claims = jest.spyOn(rt.store, 'claimStage');
  try {
    const run = await submitRun(rt, { product: { name: 'P' }, actor: 'test' });
    await host.start();
    await waitFor('run done', async () => (await rt.store.getRun(run.id))!.status === 'done', 30000, 100);
    expect(claims).toHaveBeenCalledTimes(1);
    const events = (await rt.store.getRun(run.id))!.events;
    const claimed = events.filter((e) => e.type === 'stage_claimed');
    expect(claimed.map((e) => [e.payload.stage, e.actor])).toEqual([
      ['evidence', rt.workerId],
      ['voice', 'hand-off'],
      ['render', 'hand-off'],
      ['qc', 'hand-off'],
    ]);
    // Each stage worked under its own fence, and the holder is named by its writes.
    expect(claimed.map((e) => e.fence)).toEqual([1, 2, 3, 4]);
    const finished = events.filter((e) => e.type === 'stage_completed' || e.type === 'run_done');
    expect(finished.map((e) => [e.payload.stage, e.actor, e.fence])).toEqual([
      ['evidence', rt.workerId, 1],
      ['voice', rt.workerId, 2],
      ['render', rt.workerId, 3],
      ['qc', rt.workerId, 4],
    ]);
    const steps = events.filter((e) => e.type === 'step_done' && e.payload.stage !== 'evidence');
    expect(steps.length).toBeGreaterThan(0);
    expect(new Set(steps.map((e) => e.actor))).toEqual(new Set([rt.workerId]));
  } finally {
    claims.mockRestore();
    await host.close(1000);
  }
});

it('the hand-off claims the next stage under a new fence, refusing the completed stage any further write', async () => {
  const { runId, fence } = await claimedAtEvidence();
  const claim = (await handOff(runId, fence)) as ClaimResult;
  expect(claim).toMatchObject({ stale: false, run: { stage: 'voice', status: 'running', fence: fence + 1 } });
  expect(claim.run.worker_id).toBeNull();
  await expect(
    rt.store.checkpoint({ runId, stage: 'evidence', fence, step: 'late', result: 1, eventId: randomUUID() }),
  ).rejects.toBeInstanceOf(FencedWriteError);
});

it('a replayed hand-off (its answer was lost) applies nothing and returns no claim: the job then claims for itself', async () => {
  const { runId, fence } = await claimedAtEvidence();
  const eventId = randomUUID();
  expect(await handOff(runId, fence, 'voice', eventId)).not.toBeNull();
  expect(await handOff(runId, fence, 'voice', eventId)).toBeNull();
  const run = (await rt.store.getRun(runId))!;
  expect(run.fence).toBe(fence + 1);
  expect(run.events.filter((e) => e.type === 'stage_completed')).toHaveLength(1);
});

it('a later delivery claims explicitly: the holder of the hand-off fence is refused from then on', async () => {
  const { runId, fence } = await claimedAtEvidence();
  const handed = (await handOff(runId, fence)) as ClaimResult;
  // The first holder wrote a step under the hand-off fence, and named itself by it.
  const first = { runId, stage: 'voice' as const, fence: handed.run.fence, workerId: 'w-first' };
  await rt.store.checkpoint({ ...first, step: 'a', result: 1, eventId: randomUUID() });
  expect((await rt.store.getRun(runId))!.worker_id).toBe('w-first');
  // It froze past its lease; the stalled job went to another worker, which claimed for itself.
  const taken = await rt.store.claimStage({ runId, stage: 'voice', attempt: 1, workerId: 'w-next' });
  expect(taken.run.fence).toBe(handed.run.fence + 1);
  expect(taken.steps).toEqual({ a: 1 });
  await expect(
    rt.store.completeStage({
      runId,
      stage: 'voice',
      fence: handed.run.fence,
      output: null,
      next: 'render',
      eventId: randomUUID(),
    }),
  ).rejects.toBeInstanceOf(FencedWriteError);
});

it('a handed-off run not yet written by its holder counts as locked by the worker whose record names it', async () => {
  const { runId, fence } = await claimedAtEvidence();
  await handOff(runId, fence);
  const unlock = () => rt.store.forceUnlock({ runId, operator: 'ray', reason: 'worker hung' });
  expect((await unlock()).refused).toMatch(/not locked by any worker/);
  const beat = { state: 'active' as const, queues: ['voice'], currentJob: `${runId}:voice:1`, latencyMs: 1 };
  await rt.store.heartbeat({ ...beat, id: 'w-hung', currentRun: runId, host: 'test', pid: 1 });
  const unlocked = await unlock();
  expect(unlocked.refused).toBeNull();
  expect(unlocked.run.fence).toBe(fence + 2);
});

it('two holders of one hand-off claim (Redis lost the job start): the first write binds the fence, the other is refused', async () => {
  const { runId, fence } = await claimedAtEvidence();
  const handed = (await handOff(runId, fence)) as ClaimResult;
  const at = { runId, stage: 'voice' as const, fence: handed.run.fence };
  await rt.store.checkpoint({ ...at, workerId: 'w-first', step: 'a', result: 1, eventId: randomUUID() });
  await expect(
    rt.store.checkpoint({ ...at, workerId: 'w-second', step: 'a', result: 2, eventId: randomUUID() }),
  ).rejects.toBeInstanceOf(FencedWriteError);
  await expect(
    rt.store.handOff({ ...at, output: null, next: 'render', workerId: 'w-second', eventId: randomUUID() }),
  ).rejects.toBeInstanceOf(FencedWriteError);
  expect(
    await rt.store.handOff({ ...at, output: null, next: 'render', workerId: 'w-first', eventId: randomUUID() }),
  ).toMatchObject({ run: { stage: 'render', fence: handed.run.fence + 1 } });
});
