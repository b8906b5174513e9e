// Fencing: a worker whose lock was taken over gets none of its later writes
// accepted, and its stage is aborted.
import { randomUUID } from 'node:crypto';
import {
  createWorkerHost,
  FencedWriteError,
  forceUnlockRun,
  IllegalTransitionError,
  InvalidInputError,
  submitRun,
  type Runtime,
  type StageProcessor,
  type WorkerHost,
} from '@rayvault/shared';
import { createScheduler } from '@rayvault/scheduler';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { allStepsProcessors } from '../support/test-processors';

let t: TestEnv;
let rt: Runtime;

beforeAll(async () => {
  t = await createTestEnv('fencing');
  rt = testRuntime(t, 'fence-observer');
});
afterAll(() => rt.releasers.close());

/** A processor that records its abort reason and each write attempt's outcome. */
function probeProcessor(log: string[]): StageProcessor {
  return async (ctx) => {
    ctx.signal.addEventListener('abort', () => log.push(`aborted:${(ctx.signal.reason as Error).name}`));
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        await ctx.step(`s${i}`, async () => i);
        log.push(`ok:${i}`);
      } catch (err) {
        log.push(`refused:${(err as Error).name}`);
        throw err;
      }
    }
    return { output: {} };
  };
}

async function startHost(
  workerId: string,
  processors: Parameters<typeof createWorkerHost>[1]['processors'],
): Promise<[Runtime, WorkerHost]> {
  const r = testRuntime(t, workerId);
  const h = createWorkerHost(r, { processors });
  await h.start();
  return [r, h];
}

it('force unlock mid-stage: the old holder is fenced and aborted, the run continues elsewhere', async () => {
  const log: string[] = [];
  const [rtA, a] = await startHost('fence-a', { evidence: probeProcessor(log) });
  const run = await submitRun(rt, { product: { name: 'P' }, input: { steps: 2 }, actor: 'test' });
  await waitFor('a few steps', () => log.filter((l) => l.startsWith('ok')).length >= 3);
  const fenceBefore = (await rt.store.getRun(run.id))!.fence;
  const { run: after, previous } = await forceUnlockRun(rt, {
    runId: run.id,
    operator: 'ray',
    reason: 'worker looks stuck',
  });
  expect(after.fence).toBe(fenceBefore + 1);
  expect(previous.worker_id).toBe('fence-a');
  expect(after.worker_last_error).toBe('force unlock by ray: worker looks stuck');
  await waitFor('holder aborted', () => log.some((l) => l.startsWith('aborted')));
  const okBefore = log.filter((l) => l.startsWith('ok')).length;
  await new Promise((r) => setTimeout(r, 500));
  // No write of the old holder after the unlock is accepted.
  expect(log.filter((l) => l.startsWith('ok')).length).toBe(okBefore);
  expect(log).toContain('aborted:PanicError');
  const detail = (await rt.store.getRun(run.id))!;
  const unlockSeq = detail.events.find((e) => e.type === 'force_unlock')!.seq;
  expect(detail.events.filter((e) => e.seq > unlockSeq && e.fence === fenceBefore)).toEqual([]);
  expect(detail.events.find((e) => e.type === 'force_unlock')!.payload.previous).toMatchObject({
    id: run.id,
    worker_id: 'fence-a',
    fence: fenceBefore,
  });
  await a.close(500);
  await rtA.releasers.close();

  // The reconciler re-queues the run; a healthy worker finishes it from the checkpoint.
  const [rtB, b] = await startHost('fence-b', allStepsProcessors(t.stateDir));
  const sched = createScheduler(rtB);
  sched.start();
  await waitFor('run done', async () => (await rt.store.getRun(run.id))!.status === 'done', 30000);
  await sched.close();
  await b.close(500);
  await rtB.releasers.close();
});

it('an expired lease taken over by another worker: the first holder is fenced on its next write', async () => {
  const run = await submitRun(rt, { product: { name: 'P' }, actor: 'test' });
  const first = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'old' });
  const lease = await rt.locks.acquire(run.id, 'old');
  await rt.redis.del(lease!.key); // the lease expired
  const second = await rt.locks.acquire(run.id, 'new');
  expect(second).not.toBeNull();
  await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'new' });
  expect(await rt.locks.renew(lease!)).toBe('lost');
  await expect(
    rt.store.checkpoint({
      runId: run.id,
      stage: 'evidence',
      fence: first.run.fence,
      step: 'x',
      result: 1,
      eventId: randomUUID(),
    }),
  ).rejects.toThrow(FencedWriteError);
});

it('force unlock: refused on terminal runs without force, reason required, allowed with force', async () => {
  const run = await submitRun(rt, { product: { name: 'P' }, actor: 'test' });
  await rt.pool.query(`UPDATE runs SET status = 'done' WHERE id = $1`, [run.id]);
  const { events: eventsBefore, ...before } = (await rt.store.getRun(run.id))!;
  await expect(forceUnlockRun(rt, { runId: run.id, operator: 'ray', reason: 'stuck' })).rejects.toThrow(
    IllegalTransitionError,
  );
  await expect(forceUnlockRun(rt, { runId: run.id, operator: 'ray', reason: ' ', force: true })).rejects.toThrow(
    InvalidInputError,
  );
  const { events: eventsAfter, ...after0 } = (await rt.store.getRun(run.id))!;
  expect(after0).toEqual(before);
  // The refused attempt is audited; the one without a reason never reached the run.
  expect(eventsAfter.slice(eventsBefore.length)).toEqual([
    expect.objectContaining({ type: 'force_unlock_refused', actor: 'ray', reason: 'stuck' }),
  ]);
  const { run: after } = await forceUnlockRun(rt, { runId: run.id, operator: 'ray', reason: 'forensics', force: true });
  expect(after.status).toBe('done');
  expect(after.fence).toBe(before.fence + 1);
  const ev = (await rt.store.getRun(run.id))!.events.at(-1)!;
  expect(ev).toMatchObject({
    type: 'force_unlock',
    actor: 'ray',
    reason: 'forensics',
    payload: { force: true, previous: { status: 'done' } },
  });
});

it('two operators unlocking at once: exactly one succeeds, both attempts are audited', async () => {
  const run = await submitRun(rt, { product: { name: 'P' }, actor: 'test' });
  await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'stuck-worker' });
  const results = await Promise.allSettled([
    forceUnlockRun(rt, { runId: run.id, operator: 'ana', reason: 'stuck' }),
    forceUnlockRun(rt, { runId: run.id, operator: 'bob', reason: 'stuck too' }),
  ]);
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
  const types = (await rt.store.getRun(run.id))!.events
    .filter((e) => e.type.startsWith('force_unlock'))
    .map((e) => e.type)
    .sort();
  expect(types).toEqual(['force_unlock', 'force_unlock_refused']);
});
