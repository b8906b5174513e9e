// A Redis Cluster in trouble while runs flow: 3 masters, each with a replica,
// AOF everysec, every worker on a cluster connection. Three rounds, each on
// fresh runs: a master's slots resharded away (MOVED/ASK), a master killed
// (its replica takes over), and a whole shard killed and restarted from its
// AOF (what it had not written is lost; the reconciler restores it). Commands
// in between wait or are postponed, never failed. Prints its figures; fails on
// any loss or duplicate.
import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_QUEUES, redisLayout, STAGES, type Runtime } from '@rayvault/shared';
import { createTestEnv, testRuntime, waitFor } from '../support/harness';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster';
import { explainStuck, logLines } from './netns/checks';
import {
  counterTotal,
  createFleet,
  duplicateStepEvents,
  eventCounts,
  report,
  statuses,
  submitMany,
  unrestoredRuns,
  startScheduler,
} from './kit';
import { expectCompleteOnce, repeatedSteps } from './outcomes';

const STEPS = 8;

/** The master holding the most of RayVault's parts (queues, locks, misc), those parts and their slots. */
async function busiestMaster(rt: Runtime): Promise<[string, string[], number[]]> {
  const layout = await redisLayout(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, ALL_QUEUES);
  if (layout.mode !== 'cluster') throw new Error('expected a cluster');
  const held = new Map<string, string[]>();
  for (const [part, addr] of Object.entries(layout.placement)) held.set(addr!, [...(held.get(addr!) ?? []), part]);
  const [victim, parts] = [...held].sort((a, b) => b[1].length - a[1].length)[0];
  return [victim, parts, parts.map((p) => layout.slots[p])];
}

type Round = {
  round: string;
  in_flight: number;
  parts_hit: string[];
  fault_ms: number;
  lost_from_redis: number;
  restored_ms: number;
};

/** Fresh runs under way, the fault, then every in-flight run back in Redis (a job or a lock holder). */
async function round(
  rt: Runtime,
  ids: string[],
  name: string,
  fault: (victim: string, slots: number[]) => Promise<void>,
): Promise<Round> {
  ids.push(...(await submitMany(rt, 6, { steps: STEPS, stepMs: 250 })));
  await waitFor('work under way', async () => (await rt.store.runsInFlight()).length >= 3);
  const [victim, parts, slots] = await busiestMaster(rt);
  const inFlight = (await rt.store.runsInFlight()).length;
  const t0 = Date.now();
  await fault(victim, slots);
  const faultMs = Date.now() - t0;
  const lost = await waitFor('the cluster answering', () => unrestoredRuns(rt), 30_000, 50);
  await waitFor('every in-flight run restored', async () => (await unrestoredRuns(rt)).length === 0, 30_000, 50);
  return {
    round: name,
    in_flight: inFlight,
    parts_hit: parts,
    fault_ms: faultMs,
    lost_from_redis: lost.length,
    restored_ms: Date.now() - t0,
  };
}

const rounds = (cluster: TestRedisCluster) =>
  [
    [
      'reshard: the slots of the busiest master’s queues moved to another master',
      async (victim: string, slots: number[]) => {
        cluster.moveSlots(
          slots,
          (await cluster.masters()).find((m) => m !== victim)!,
        );
      },
    ],
    [
      'failover: the busiest master killed (SIGKILL)',
      async (victim: string) => {
        const serving = (await cluster.masters()).length;
        await cluster.kill(Number(victim.split(':')[1]));
        await waitFor(
          'a replica promoted',
          async () => (await cluster.masters()).filter((m) => m !== victim).length === serving,
          30_000,
          50,
        );
        await cluster.restart(Number(victim.split(':')[1])); // it rejoins as a replica
      },
    ],
    [
      'shard lost: the busiest master and its replica killed, restarted from AOF everysec',
      async (victim: string) => {
        const v = cluster.view();
        const master = v.find((n) => n.address === victim)!;
        const shard = [master, ...v.filter((n) => n.masterId === master.id)].map((n) => n.port);
        await Promise.all(shard.map((p) => cluster.kill(p)));
        await sleep(1500);
        for (const p of shard) await cluster.restart(p);
        await waitFor('the cluster ok again', () => cluster.ok(), 30_000, 100);
      },
    ],
  ] as const;

it('resharding, a master failover and a whole shard lost mid-run: no job fails, the reconciler restores what Redis lost, every run completes once', async () => {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
  const t = await createTestEnv('faults-cluster', { REDIS_CLUSTER_NODES: cluster.seeds, RAYVAULT_MAX_STALLS: '20' });
  const rt = testRuntime(t, 'cluster-observer');
  const scheduler = startScheduler(t);
  const fleet = createFleet(t);
  const ids: string[] = [];
  try {
    await Promise.all([fleet.start('cl-a'), fleet.start('cl-b')]);
    const done: Round[] = [];
    for (const [name, fault] of rounds(cluster)) done.push(await round(rt, ids, name, fault));
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 180_000, 250).catch(
      explainStuck(rt, ids, [...fleet.workers.values()]),
    );
    const failedJobs = (await Promise.all(STAGES.map((s) => rt.queues[s].getFailedCount()))).reduce((a, b) => a + b);
    report('Redis Cluster under resharding, failover and a lost shard (3 masters + replicas, AOF everysec)', {
      runs: ids.length,
      rounds: done,
      done: (await statuses(rt, ids)).done,
      failed_jobs: failedJobs,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      in_flight_steps_repeated: repeatedSteps(t.stateDir, ids),
      events: await eventCounts(rt, ids, ['panic_lost_lock', 'requeued', 'stage_failed']),
      fenced_writes: await counterTotal(rt, 'fenced_writes'),
      // BullMQ fetch loops found parked after a failover and replaced (stage-worker fetch watchdog).
      fetch_loops_replaced: [...fleet.workers.values()].reduce(
        (n, w) => n + logLines(w.output(), 'stage fetch loop parked: worker replaced'),
        0,
      ),
    });
    expect(done.every((r) => r.in_flight > 0 && r.parts_hit.length > 0)).toBe(true);
    expect(failedJobs).toBe(0);
    await expectCompleteOnce(rt, ids, STEPS);
  } finally {
    await fleet.killAll();
    await scheduler.close();
    await rt.releasers.close();
    await cluster.stop();
  }
});
