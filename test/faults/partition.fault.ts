// Scenario 1 of the partition drill: a worker host on its own network is cut off from Redis and Postgres for 1.5x
// the lease while it holds runs. Its processes keep running; only its packets vanish. Another host takes the runs
// over; when the network heals, every write of the cut-off host is refused by fencing, it enters panic_lost_lock for
// those runs and then goes on working. Prints its figures; fails on any loss or duplicate. Timings are printed.
import { setTimeout as sleep } from 'node:timers/promises';
import { stateLayout, type Runtime } from '@rayvault/shared';
import { testRuntime, waitFor } from '../support/harness';
import { readEffects } from '../support/test-processors';
import {
  counterTotal,
  duplicateStepEvents,
  eventCounts,
  report,
  spoolSideLines,
  stats,
  statuses,
  submitMany,
  withinTarget,
  startScheduler,
} from './kit';
import { explainStuck, heldMidStage, logLines, repeatedAcross, staleWritesLanded, takeoverOf } from './netns/checks';
import { expectCompleteOnce } from './outcomes';
import { createDrill, describeNetns, type Drill } from './netns/drill';

const LEASE_MS = 3000;
const STEPS = 10;

/** Stages of these runs that `worker` claimed and completed. */
async function stagesCompletedBy(rt: Runtime, ids: string[], worker: string): Promise<number> {
  const { rows } = await rt.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM run_events c JOIN run_events d ON d.run_id = c.run_id AND d.fence = c.fence
      AND d.type IN ('stage_completed', 'run_done')
    WHERE c.run_id = ANY($1) AND c.type = 'stage_claimed' AND c.actor = $2`,
    [ids, worker],
  );
  return rows[0].n;
}

describeNetns('partition drill: worker hosts on network namespaces of their own', () => {
  let d: Drill;
  let rt: Runtime;
  let scheduler: { close: () => Promise<void> };
  beforeAll(async () => {
    d = await createDrill('faults-partition', ['a', 'b'], {
      RAYVAULT_LEASE_MS: String(LEASE_MS),
      RAYVAULT_MAX_STALLS: '20',
    });
    rt = testRuntime(d.t, 'partition-observer');
    // As deployed: the scheduler (reconciler, lease watchdog) runs elsewhere, here in the root namespace.
    scheduler = startScheduler(d.t);
  });
  afterAll(async () => {
    await scheduler?.close();
    await rt?.releasers.close();
    await d?.close();
  });

  it('a host cut off from Redis and Postgres for 1.5x the lease: taken over, fenced out, panics, works on; nothing lost or doubled', async () => {
    const { a, b } = d.hosts;
    const [wa, wb] = await Promise.all([a.fleet.start('part-a'), b.fleet.start('part-b')]);
    const ids = await submitMany(rt, 4, { steps: STEPS, stepMs: 200 });
    // Cut while host a is inside runs (two when it gets them), with steps checkpointed and more to go.
    const inside = (n: number) => async () => {
      const rows = await heldMidStage(rt, ids, wa.workerId, STEPS);
      return rows.length >= n && rows;
    };
    const held = await waitFor('host a inside two runs', inside(2), 20000, 20).catch(() =>
      waitFor('host a inside a run', inside(1), 20000, 20),
    );
    const fencedBefore = await counterTotal(rt, 'fenced_writes');
    await d.cut(a);
    const cutAt = Date.now();
    const effectsAtCut = new Map(ids.map((id) => [id, readEffects(a.stateDir, id).length]));
    await sleep(1.5 * LEASE_MS);
    // The drill is about a host that comes back after it was replaced: stay cut until every held run was taken over.
    const takeovers = await waitFor(
      'every held run taken over while host a is cut off',
      async () => {
        const found = await Promise.all(held.map((r) => takeoverOf(rt, r.id, r.fence, wa.workerId)));
        return found.every(Boolean) ? found.map((x) => x!) : null;
      },
      LEASE_MS + 10000,
      50,
    );
    const partitionMs = Date.now() - cutAt;
    const dropped = await d.heal(a);
    const healedAt = new Date();

    const panics = await waitFor(
      'panic_lost_lock of host a for every held run',
      async () => {
        const { rows } = await rt.pool.query<{ run_id: string; created_at: Date }>(
          `SELECT run_id, created_at FROM run_events WHERE run_id = ANY($1) AND type = 'panic_lost_lock' AND actor = $2`,
          [held.map((r) => r.id), wa.workerId],
        );
        return rows.length >= held.length ? rows : null;
      },
      30000,
      50,
    );
    const record = (await rt.store.listWorkers()).find((w) => w.id === wa.workerId);
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 60000, 100).catch(
      explainStuck(rt, ids, [wa, wb]),
    );

    // Goes on working: new runs after the heal, and host a runs stages of them to completion.
    const after = await submitMany(rt, 4, { steps: 3, stepMs: 100 });
    await waitFor('new runs done', async () => (await statuses(rt, after)).done === after.length, 60000, 100).catch(
      explainStuck(rt, after, [wa, wb]),
    );
    const completedByA = await stagesCompletedBy(rt, after, wa.workerId);

    const landed = await Promise.all(held.map((r, i) => staleWritesLanded(rt, r.id, r.fence, takeovers[i].seq)));
    const fenced = (await counterTotal(rt, 'fenced_writes')) - fencedBefore;
    const refusedLogged = logLines(wa.output(), 'write refused by fencing');
    // Steps of the held stages host a ran after the cut: one in flight may finish while cut off (a side effect outside
    // fencing); its checkpoint is refused. Later stages of the same runs it may take again after the heal.
    const late = held.map((r) =>
      readEffects(a.stateDir, r.id)
        .slice(effectsAtCut.get(r.id))
        .filter((l) => l.startsWith(`${r.stage}:`) && l.endsWith(`:${wa.proc.pid}`)),
    );
    const repeated = repeatedAcross([a.stateDir, b.stateDir], [...ids, ...after]);
    const takeoverMs = takeovers.map((x) => new Date(x.at).getTime() - cutAt);
    report('host partitioned from Redis and Postgres for 1.5x the lease (network namespaces)', {
      lease_ms: LEASE_MS,
      partition_ms: partitionMs,
      packets_dropped: dropped,
      runs_held_when_cut: held.length,
      takeover_ms: stats(takeoverMs),
      takeover: withinTarget(takeoverMs, LEASE_MS + 2000),
      new_holders: [...new Set(takeovers.map((x) => x.actor))],
      stale_writes_landed: landed.reduce((n, x) => n + x, 0),
      refused_by_fencing: {
        counted: fenced,
        in_worker_log: refusedLogged,
        spool_rejected: spoolSideLines(stateLayout(a.stateDir).spool).rejected,
      },
      steps_finished_while_cut: late.flat().length,
      panic_lost_lock: { events: panics.length, in_worker_log: logLines(wa.output(), 'lost the run lock') },
      panic_after_heal_ms: stats(panics.map((p) => new Date(p.created_at).getTime() - healedAt.getTime())),
      worker_record_after_panic: record ? { state: record.state, last_error: record.last_error } : 'missing',
      after_heal: { runs: after.length, stages_completed_by_host_a: completedByA },
      done: (await statuses(rt, ids)).done ?? 0,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      duplicate_step_effects: repeated,
      events: await eventCounts(rt, ids, ['panic_heartbeat_uncertain', 'panic_lost_lock', 'requeued']),
    });
    expect(takeovers.every((x) => x.actor === wb.workerId)).toBe(true);
    expect(landed).toEqual(held.map(() => 0));
    expect(fenced).toBe(refusedLogged);
    expect(fenced).toBeGreaterThanOrEqual(late.flat().length);
    expect(late.every((l) => l.length <= 1)).toBe(true);
    expect(new Set(panics.map((p) => p.run_id)).size).toBe(held.length);
    await expectCompleteOnce(rt, ids, STEPS);
    await expectCompleteOnce(rt, after, 3);
    // Only a step in flight when the host was cut may have run twice.
    expect(repeated.length).toBeLessThanOrEqual(held.length);
    expect(completedByA).toBeGreaterThan(0);
  });
});
