// A job that stalled twice (its worker died twice while running it) is a poison
// suspect: it runs alone, but only until it has survived a lease.
import { createWorkerHost, runOperatorAction, stageJobId, submitRun } from '@rayvault/shared';
import { createTestEnv, testRuntime, waitFor } from '../support/harness';
import { allStepsProcessors } from '../support/test-processors';

jest.setTimeout(60000);

it('a suspect runs alone first, then shares the worker: a bystander is not held back to the end of a long stage', async () => {
  const t = await createTestEnv('suspect');
  const rt = testRuntime(t, 'suspect-worker');
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir), concurrency: 4 });
  try {
    // Evidence of 30 steps of 150 ms: a 4.5 s stage, more than twice the 2 s lease.
    const suspect = await submitRun(rt, {
      product: { name: 'long' },
      input: { steps: 30, stepMs: 150 },
      actor: 'test',
    });
    const queue = rt.queues.evidence;
    await rt.redis.hset(queue.toKey(stageJobId({ runId: suspect.id, stage: 'evidence', attempt: 1 })), 'stc', 2); // stalled twice before
    await host.start();
    const claimedAt = async (runId: string) =>
      (
        await rt.pool.query<{ at: Date }>(
          `SELECT created_at AS at FROM run_events
      WHERE run_id = $1 AND type = 'stage_claimed' AND payload->>'stage' = 'evidence' ORDER BY seq LIMIT 1`,
          [runId],
        )
      ).rows[0]?.at;
    await waitFor('suspect claimed', () => claimedAt(suspect.id), 10000, 50);
    const bystander = await submitRun(rt, { product: { name: 'short' }, input: { steps: 1 }, actor: 'test' });
    const bystanderClaim = await waitFor('bystander claimed', () => claimedAt(bystander.id), 20000, 50);
    const {
      rows: [finished],
    } = await rt.pool.query(
      `SELECT created_at AS at FROM run_events
      WHERE run_id = $1 AND type = 'stage_completed' AND payload->>'stage' = 'evidence'`,
      [suspect.id],
    );
    // Alone at first (the bystander was turned away while the suspect started), then side by side.
    const { rows: turnedAway } = await rt.pool.query(
      `SELECT 1 FROM run_events WHERE run_id = $1 AND type = 'step_done'
      AND payload->>'stage' = 'evidence' AND created_at < $2`,
      [suspect.id, bystanderClaim],
    );
    expect(turnedAway.length).toBeGreaterThanOrEqual(5);
    expect(finished === undefined || bystanderClaim < finished.at).toBe(true);
    await waitFor('bystander done', async () => (await rt.store.getRun(bystander.id))!.status === 'done', 20000, 100);
    await runOperatorAction(rt, { runId: suspect.id, action: 'abort', actor: 'test', reason: 'measured' });
  } finally {
    await host.close(1000);
    await rt.releasers.close();
  }
});
