// Scenario 2 of the partition drill: a worker host on its own network loses Postgres only (Redis still answers, so it
// keeps its leases). Its writes go to its own spool, are replayed once when the link heals, and every run completes.
// The cut is silent (packets dropped, nothing refused): a write waits for the pool's query timeout before it spools.
// Prints its figures; fails on any loss or duplicate.
import { setTimeout as sleep } from 'node:timers/promises';
import { spoolDepth, stateLayout, type Runtime, type SpoolRecord } from '@rayvault/shared';
import { testRuntime, waitFor } from '../support/harness';
import {
  counterTotal,
  duplicateStepEvents,
  eventCounts,
  report,
  spooledRecords,
  spoolReplays,
  spoolSideLines,
  statuses,
  submitMany,
  tally,
  startScheduler,
} from './kit';
import { explainStuck, heldMidStage, repeatedAcross } from './netns/checks';
import { expectCompleteOnce } from './outcomes';
import { createDrill, describeNetns, type Drill } from './netns/drill';

const LEASE_MS = 3000;
const STEPS = 8;
/** Longer than the pool's 15 s query timeout: a write sent just before the cut spools within it. */
const PG_CUT_MS = 20000;

describeNetns('partition drill: a host cut off from Postgres only', () => {
  let d: Drill;
  let rt: Runtime;
  let scheduler: { close: () => Promise<void> };
  beforeAll(async () => {
    d = await createDrill('faults-pg-cut', ['a', 'b'], { RAYVAULT_LEASE_MS: String(LEASE_MS) });
    rt = testRuntime(d.t, 'pgcut-observer');
    scheduler = startScheduler(d.t);
  });
  afterAll(async () => {
    await scheduler?.close();
    await rt?.releasers.close();
    await d?.close();
  });

  it(`a host cut off from Postgres for ${PG_CUT_MS / 1000} s: its writes spool, are replayed once when it heals, runs complete`, async () => {
    const { a, b } = d.hosts;
    const [wa, wb] = await Promise.all([a.fleet.start('pgc-a'), b.fleet.start('pgc-b')]);
    const ids = await submitMany(rt, 4, { steps: STEPS, stepMs: 250 });
    const held = await waitFor(
      'host a inside a run',
      async () => {
        const rows = await heldMidStage(rt, ids, wa.workerId, STEPS);
        return rows.length > 0 && rows;
      },
      30000,
      20,
    );
    const spoolDir = stateLayout(a.stateDir).spool;
    const spooled = new Map<string, SpoolRecord>();
    const collect = () => {
      for (const r of spooledRecords(spoolDir)) spooled.set(r.id, r);
    };
    const appendsBefore = await counterTotal(rt, 'spool_appends');
    await d.cutPostgres(a);
    const cutAt = Date.now();
    let firstSpoolMs: number | undefined;
    const depths: number[] = [];
    while (Date.now() - cutAt < PG_CUT_MS) {
      collect();
      depths.push(spoolDepth(spoolDir));
      if (firstSpoolMs === undefined && spooled.size) firstSpoolMs = Date.now() - cutAt;
      await sleep(100);
    }
    collect();
    const depthAtHeal = spoolDepth(spoolDir);
    const dropped = await d.heal(a);
    const healedAt = Date.now();
    await waitFor(
      'host a spool drained',
      () => {
        collect();
        return spoolDepth(spoolDir) === 0;
      },
      60000,
      50,
    );
    const drainMs = Date.now() - healedAt;
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 60000, 100).catch(
      explainStuck(rt, ids, [wa, wb]),
    );

    const eventIds = [...spooled.values()].map((r) => String(r.args.p_event_id));
    const { rows: landed } = await rt.pool.query<{ id: string }>('SELECT id FROM run_events WHERE id = ANY($1)', [
      eventIds,
    ]);
    const missing = eventIds.filter((id) => !landed.some((r) => r.id === id));
    const replays = spoolReplays(wa.output());
    const side = spoolSideLines(spoolDir);
    const repeated = repeatedAcross([a.stateDir, b.stateDir], ids);
    report(`host cut off from Postgres only for ${PG_CUT_MS / 1000} s (network namespaces)`, {
      lease_ms: LEASE_MS,
      cut_ms: healedAt - cutAt,
      packets_dropped: dropped,
      runs_held_when_cut: held.length,
      first_write_spooled_after_ms: firstSpoolMs ?? 'none spooled',
      spooled_writes: spooled.size,
      by_function: tally([...spooled.values()].map((r) => r.fn)),
      spool_appends_counted: (await counterTotal(rt, 'spool_appends')) - appendsBefore,
      spool_depth: { max: Math.max(...depths), at_heal: depthAtHeal, after: spoolDepth(spoolDir) },
      drain_ms: drainMs,
      replays_applied: replays.applied,
      replays_found_already_applied: replays.duplicates,
      replayed_missing: missing.length,
      rejected: side.rejected,
      quarantined: side.quarantined,
      done: (await statuses(rt, ids)).done ?? 0,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      duplicate_step_effects: repeated,
      events: await eventCounts(rt, ids, ['panic_heartbeat_uncertain', 'panic_lost_lock', 'requeued']),
      lock_losses: await counterTotal(rt, 'lock_losses'),
    });
    expect(spooled.size).toBeGreaterThan(0);
    expect(missing).toEqual([]);
    // Each spooled write lands once: applied by the replay, or found there already (the event id makes it idempotent).
    expect(replays.applied + replays.duplicates).toBe(spooled.size);
    expect({ rejected: replays.rejected, quarantined: replays.quarantined }).toEqual({ rejected: 0, quarantined: 0 });
    expect(side).toEqual({ rejected: 0, quarantined: 0 });
    await expectCompleteOnce(rt, ids, STEPS);
    expect(repeated).toEqual([]);
  });
});
