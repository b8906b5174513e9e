// Scenario 4 of the partition drill: one worker host's uplink (host → Redis and host → Postgres) gets 100-300 ms of
// added latency, the way back none. Runs complete; with the worst delay far below the lease, no heartbeat is taken
// for a loss: no lost lock, no uncertain panic, no fenced write. Prints p50/p99 per stage for the slow host and the
// other. Fails on any loss or duplicate.
import type { Runtime } from '@rayvault/shared';
import { testRuntime, waitFor } from '../support/harness';
import {
  counterTotal,
  duplicateStepEvents,
  eventCounts,
  report,
  stats,
  statuses,
  submitMany,
  tally,
  startScheduler,
} from './kit';
import { explainStuck, logLines, percentilesByStage, repeatedAcross, stageTimings } from './netns/checks';
import { expectCompleteOnce } from './outcomes';
import { createDrill, describeNetns, type Drill } from './netns/drill';

const LEASE_MS = 3000;
const STEPS = 4;
const DELAY = { minMs: 100, maxMs: 300 };

describeNetns('partition drill: asymmetric latency on one host link', () => {
  let d: Drill;
  let rt: Runtime;
  let scheduler: { close: () => Promise<void> };
  beforeAll(async () => {
    // One job per stage queue per host, so the fast host cannot take every stage and the slow one gets its share.
    d = await createDrill('faults-slow-link', ['a', 'b'], {
      RAYVAULT_LEASE_MS: String(LEASE_MS),
      RAYVAULT_CONCURRENCY: '1',
    });
    rt = testRuntime(d.t, 'slow-observer');
    scheduler = startScheduler(d.t);
  });
  afterAll(async () => {
    await scheduler?.close();
    await rt?.releasers.close();
    await d?.close();
  });

  it(`${DELAY.minMs}-${DELAY.maxMs} ms added on one host's uplink: runs complete, no loss taken for a slow heartbeat, p50/p99 per stage`, async () => {
    const { a, b } = d.hosts;
    d.slowUplink(a, DELAY);
    const [wa, wb] = await Promise.all([a.fleet.start('slow-a'), b.fleet.start('slow-b')]);
    const ids = await submitMany(rt, 12, { steps: STEPS, stepMs: 250 });
    // Each heartbeat's round trips (renewals, then the worker record), as the workers publish them.
    const beats: Record<string, number[]> = { [wa.workerId]: [], [wb.workerId]: [] };
    const sampleBeats = async () => {
      for (const w of await rt.store.listWorkers())
        if (w.last_heartbeat_latency_ms !== null) beats[w.id]?.push(w.last_heartbeat_latency_ms);
    };
    await waitFor(
      'all runs done',
      async () => {
        await sampleBeats();
        return (await statuses(rt, ids)).done === ids.length;
      },
      90000,
      250,
    ).catch(explainStuck(rt, ids, [wa, wb]));
    const host = (worker: string) =>
      worker === wa.workerId ? `a (slow uplink)` : worker === wb.workerId ? 'b' : worker;
    const timings = await stageTimings(rt, ids);
    const repeated = repeatedAcross([a.stateDir, b.stateDir], ids);
    const events = await eventCounts(rt, ids, ['panic_heartbeat_uncertain', 'panic_lost_lock', 'requeued']);
    const { rows: requeues } = await rt.pool.query<{ state: string }>(
      `SELECT payload->>'previousJobState' AS state FROM run_events WHERE run_id = ANY($1) AND type = 'requeued'`,
      [ids],
    );
    const lockLosses = await counterTotal(rt, 'lock_losses');
    const fenced = await counterTotal(rt, 'fenced_writes');
    const slowFailures = logLines(wa.output(), 'heartbeat failed');
    report(`${DELAY.minMs}-${DELAY.maxMs} ms on host a's uplink only (network namespaces)`, {
      lease_ms: LEASE_MS,
      heartbeat_ms: d.t.config.heartbeatMs,
      runs: ids.length,
      stage_ms: percentilesByStage(timings, host),
      stages_run: {
        a: timings.filter((x) => x.worker === wa.workerId).length,
        b: timings.filter((x) => x.worker === wb.workerId).length,
      },
      heartbeat_latency_ms: { a: stats(beats[wa.workerId]), b: stats(beats[wb.workerId]) },
      heartbeats_failed: { a: slowFailures, b: logLines(wb.output(), 'heartbeat failed') },
      lock_losses: lockLosses,
      fenced_writes: fenced,
      events,
      requeued_job_was: tally(requeues.map((r) => r.state)),
      done: (await statuses(rt, ids)).done ?? 0,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      duplicate_step_effects: repeated,
    });
    await expectCompleteOnce(rt, ids, STEPS);
    expect(repeated).toEqual([]);
    // `requeued` may be above 0 and is printed only: the reconciler can act on a run it read just before a hand-off
    // that the slow uplink stretches (job `unknown`: the next stage's enqueue not there yet; `completed`: the stage it
    // read had just finished). The same job id, or the claim finding the stage stale, keeps it from running twice.
    expect({ ...events, requeued: 0 }).toEqual({ panic_heartbeat_uncertain: 0, panic_lost_lock: 0, requeued: 0 });
    expect({ lockLosses, fenced, slowFailures }).toEqual({ lockLosses: 0, fenced: 0, slowFailures: 0 });
    // The latency was there: the slow host ran stages, and its heartbeat (a renewal, then a write) paid the delay.
    expect(timings.some((x) => x.worker === wa.workerId)).toBe(true);
    expect(Math.min(...beats[wa.workerId])).toBeGreaterThanOrEqual(DELAY.minMs);
    expect(Math.max(...beats[wa.workerId])).toBeLessThan(LEASE_MS);
  });
});
