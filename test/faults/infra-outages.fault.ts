// Infrastructure outages: a worker frozen past its lease (SIGSTOP), Redis
// restarted and Redis losing its data, Postgres down for a long while.
// Each scenario prints its figures and fails on any loss or duplicate; timings are printed, never asserted.
import { setTimeout as sleep } from 'node:timers/promises';
import { runDoctor, spoolDepth, type Runtime } from '@rayvault/shared';
import { createScheduler } from '../../services/scheduler/src/scheduler';
import { createDatabase, createTestEnv, startPgServer, startRedisServer, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { readEffects } from '../support/test-processors';
import {
  counterTotal, createFleet, duplicateStepEvents, flushRedis, report, setAppendFsync, spooledRecords, spoolSideLines, stats, statuses,
  stepCounts, submitMany, unrestoredRuns, withinTarget,
} from './kit';

/** Every run done, every step of every stage recorded once in the database. */
async function expectCompleteOnce(rt: Runtime, ids: string[], steps: number) {
  expect(await statuses(rt, ids)).toEqual({ done: ids.length });
  expect(await duplicateStepEvents(rt, ids)).toBe(0);
  const { rows } = await rt.pool.query<{ run_id: string; n: number; done: number }>(`SELECT r.id AS run_id,
      (SELECT count(*)::int FROM run_events e WHERE e.run_id = r.id AND e.type = 'step_done') AS n,
      (SELECT count(*)::int FROM run_events e WHERE e.run_id = r.id AND e.type = 'run_done') AS done
    FROM runs r WHERE r.id = ANY($1)`, [ids]);
  for (const r of rows) expect({ run: r.run_id, steps: r.n, done: r.done }).toEqual({ run: r.run_id, steps: 4 * steps, done: 1 });
}

it('SIGSTOP a worker for 1.5x the lease: another takes over, the frozen one is fenced out and panics, the run completes once', async () => {
  const t = await createTestEnv('faults-stop');
  const rt = testRuntime(t, 'stop-observer');
  const fleet = createFleet(t);
  const steps = 8;
  try {
    await Promise.all([fleet.start('st-a'), fleet.start('st-b')]);
    const [id] = await submitMany(rt, 1, { steps, stepMs: 150 });
    // Freeze the holder in the middle of a stage, after some of its steps are checkpointed.
    await waitFor('voice half done', () => readEffects(t.stateDir, id).filter((l) => l.startsWith('voice:')).length >= 3, 30000, 20);
    const run = (await rt.store.getRun(id))!;
    const victim = fleet.workers.get(run.worker_id!)!;
    const staleFence = run.fence;
    const checkpointedBefore = new Set((await rt.pool.query(`SELECT payload->>'stage' || ':' || (payload->>'step') AS k FROM run_events
      WHERE run_id = $1 AND type = 'step_done'`, [id])).rows.map((r) => r.k.replace(':step-', ':')));
    const fencedBefore = await counterTotal(rt, 'fenced_writes');
    victim.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const pauseMs = 1.5 * t.config.RAYVAULT_LEASE_MS;
    await sleep(pauseMs);
    // Took over while frozen: a new fence, claimed by the other worker.
    const takeover = await waitFor('takeover by the other worker', async () => (await rt.pool.query<{ seq: number; fence: number; actor: string }>(`SELECT seq, fence, actor
      FROM run_events WHERE run_id = $1 AND type = 'stage_claimed' AND fence > $2 ORDER BY seq LIMIT 1`, [id, staleFence])).rows[0], 20000, 50);
    const frozenMs = Date.now() - stoppedAt;
    const effectsAtResume = readEffects(t.stateDir, id).length;
    victim.proc.kill('SIGCONT');
    const resumedAt = Date.now();

    const panicEvent = await waitFor('panic_lost_lock event', async () => (await rt.pool.query(`SELECT created_at FROM run_events
      WHERE run_id = $1 AND type = 'panic_lost_lock' AND actor = $2`, [id, victim.workerId])).rows[0], 15000, 50);
    const panicState = await waitFor('worker record in panic', async () => (await rt.store.listWorkers())
      .find((w) => w.id === victim.workerId && w.state === 'panic'), 5000, 50).catch(() => undefined);
    await waitFor('run done', async () => (await rt.store.getRun(id))!.status === 'done', 60000, 100);

    // Writes of the frozen worker after its fence moved: none may have landed.
    const { rows: [landed] } = await rt.pool.query(`SELECT count(*)::int AS n FROM run_events WHERE run_id = $1 AND fence = $2 AND seq > $3`, [id, staleFence, takeover.seq]);
    const fenced = (await counterTotal(rt, 'fenced_writes')) - fencedBefore;
    const refusedLogged = victim.output().split('\n').filter((l) => l.includes('write refused by fencing')).length;
    const victimPid = String(victim.proc.pid);
    const victimLate = readEffects(t.stateDir, id).slice(effectsAtResume).filter((l) => l.endsWith(`:${victimPid}`));
    const counts = stepCounts(t.stateDir, id);
    const repeated = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
    const recorded = new Set((await rt.pool.query(`SELECT payload->>'stage' || ':' || (payload->>'step') AS k FROM run_events
      WHERE run_id = $1 AND type = 'step_done'`, [id])).rows.map((r) => r.k.replace(':step-', ':')));
    report('SIGSTOP past the lease', {
      lease_ms: t.config.RAYVAULT_LEASE_MS, frozen_ms: frozenMs, takeover_within_pause: frozenMs <= pauseMs + 100 ? 'yes' : `no (needed ${frozenMs} ms)`,
      stale_fence: staleFence, new_fence: takeover.fence, new_holder: takeover.actor,
      stale_writes_landed: landed.n, fenced_writes_counted: fenced, refusals_in_worker_log: refusedLogged,
      panic_event_after_resume_ms: new Date(panicEvent.created_at).getTime() - resumedAt, worker_record_state: panicState ? 'panic' : 'not seen (took new work)',
      frozen_worker_steps_after_resume: victimLate, steps_repeated: repeated, steps_ran_but_not_recorded: [...counts.keys()].filter((k) => !recorded.has(k)), duplicate_db_step_events: await duplicateStepEvents(rt, [id]),
    });
    expect(landed.n).toBe(0);
    expect(fenced).toBe(refusedLogged);
    expect(panicEvent).toBeTruthy();
    await expectCompleteOnce(rt, [id], steps);
    // A step checkpointed before the freeze never ran again; only the step in flight at the freeze may have (its side effect was under way).
    for (const k of checkpointedBefore) expect([k, counts.get(k)]).toEqual([k, 1]);
    expect(repeated.length).toBeLessThanOrEqual(1);
    expect(victimLate.length).toBeLessThanOrEqual(1);
  } finally {
    await fleet.killAll();
    await rt.releasers.close();
  }
});
