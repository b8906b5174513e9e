// A Redis Cluster losing a master mid-run: 3 masters, each with a replica,
// AOF everysec, workers on cluster connections. The master holding the most of
// RayVault's queues is killed (SIGKILL); its replica takes over, commands in
// between wait or are postponed (never failed), and the reconciler restores
// any job the promoted replica had not received. Prints its figures; fails on
// any loss or duplicate.
import { ALL_QUEUES, redisLayout, STAGES } from '@rayvault/shared';
import { createScheduler } from '@rayvault/scheduler';
import { createTestEnv, testRuntime, waitFor } from '../support/harness';
import { startRedisCluster } from '../support/redis-cluster';
import { readEffects } from '../support/test-processors';
import {
  counterTotal,
  createFleet,
  duplicateStepEvents,
  eventCounts,
  report,
  statuses,
  submitMany,
  unrestoredRuns,
} from './kit';
import { expectCompleteOnce, repeatedSteps } from './outcomes';

it('a master killed mid-run: its replica takes over, no job fails, the reconciler restores what was lost, every run completes once', async () => {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
  const t = await createTestEnv('faults-cluster', { REDIS_CLUSTER_NODES: cluster.seeds, RAYVAULT_MAX_STALLS: '20' });
  const rt = testRuntime(t, 'cluster-observer');
  const schedulerRt = testRuntime(t, 'scheduler');
  const scheduler = createScheduler(schedulerRt);
  const fleet = createFleet(t);
  const steps = 8;
  try {
    scheduler.start();
    await Promise.all([fleet.start('cl-a'), fleet.start('cl-b')]);
    const ids = await submitMany(rt, 10, { steps, stepMs: 250 });
    await waitFor('work under way', () => ids.filter((id) => readEffects(t.stateDir, id).length > 0).length >= 3);
    const layout = await redisLayout(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, ALL_QUEUES);
    if (layout.mode !== 'cluster') throw new Error('expected a cluster');
    const held = new Map<string, string[]>();
    for (const [part, addr] of Object.entries(layout.placement)) held.set(addr!, [...(held.get(addr!) ?? []), part]);
    const [victim, parts] = [...held].sort((a, b) => b[1].length - a[1].length)[0];
    const inFlight = (await rt.store.runsInFlight()).length;

    const killedAt = Date.now();
    await cluster.kill(Number(victim.split(':')[1]));
    await waitFor(
      'a replica promoted in the killed master’s place',
      async () => (await cluster.masters()).filter((m) => m !== victim).length === 3,
      30_000,
      50,
    );
    const failoverMs = Date.now() - killedAt;
    const lost = await waitFor('the cluster answering', () => unrestoredRuns(rt), 20_000, 50);
    await waitFor('every in-flight run restored', async () => (await unrestoredRuns(rt)).length === 0, 30_000, 50);
    const restoreMs = Date.now() - killedAt;
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 120_000, 250);

    const failedJobs = (await Promise.all(STAGES.map((s) => rt.queues[s].getFailedCount()))).reduce((a, b) => a + b);
    report('Redis Cluster master killed mid-run (3 masters + replicas, AOF everysec)', {
      runs: ids.length,
      in_flight_at_kill: inFlight,
      killed_master: victim,
      parts_on_killed_master: parts,
      failover_ms: failoverMs,
      lost_from_redis: lost.length,
      restored_within_ms: restoreMs,
      done: (await statuses(rt, ids)).done,
      failed_jobs: failedJobs,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      in_flight_steps_repeated: repeatedSteps(t.stateDir, ids),
      events: await eventCounts(rt, ids, ['panic_lost_lock', 'requeued', 'stage_failed']),
      fenced_writes: await counterTotal(rt, 'fenced_writes'),
    });
    expect(inFlight).toBeGreaterThan(0);
    expect(parts.length).toBeGreaterThan(0);
    expect(failedJobs).toBe(0);
    await expectCompleteOnce(rt, ids, steps);
  } finally {
    await fleet.killAll();
    await scheduler.close();
    await schedulerRt.releasers.close();
    await rt.releasers.close();
    await cluster.stop();
  }
});
