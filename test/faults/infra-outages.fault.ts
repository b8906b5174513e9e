// Infrastructure outages: a worker frozen past its lease (SIGSTOP), Redis
// restarted and Redis losing its data, Postgres down for a long while.
// Each scenario prints its figures and fails on any loss or duplicate; timings are printed, never asserted.
import { setTimeout as sleep } from 'node:timers/promises';
import { runDoctor, spoolDepth, type DoctorReport, type Runtime, type SpoolRecord } from '@rayvault/shared';
import {
  createDatabase,
  createTestEnv,
  startPgServer,
  startRedisServer,
  testRuntime,
  waitFor,
} from '../support/harness';
import { readEffects } from '../support/test-processors';
import {
  counterTotal,
  createFleet,
  duplicateStepEvents,
  eventCounts,
  flushRedis,
  report,
  setAppendFsync,
  spooledRecords,
  spoolReplays,
  spoolSideLines,
  stats,
  statuses,
  stepCounts,
  submitMany,
  tally,
  unrestoredRuns,
  withinTarget,
  startScheduler,
} from './kit';
import { expectCompleteOnce, repeatedSteps } from './outcomes';

/** Steps the database has recorded for a run, as `stage:i` like the side-effect log. */
async function recordedSteps(rt: Runtime, runId: string): Promise<Set<string>> {
  const { rows } = await rt.pool.query<{ stage: string; step: string }>(
    `SELECT payload->>'stage' AS stage, payload->>'step' AS step
    FROM run_events WHERE run_id = $1 AND type = 'step_done'`,
    [runId],
  );
  return new Set(rows.map((r) => `${r.stage}:${r.step.replace('step-', '')}`));
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
    await waitFor(
      'voice half done',
      () => readEffects(t.stateDir, id).filter((l) => l.startsWith('voice:')).length >= 3,
      30000,
      20,
    );
    const run = (await rt.store.getRun(id))!;
    const victim = fleet.workers.get(run.worker_id!)!;
    const staleFence = run.fence;
    const checkpointedBefore = await recordedSteps(rt, id);
    const fencedBefore = await counterTotal(rt, 'fenced_writes');
    victim.proc.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const pauseMs = 1.5 * t.config.RAYVAULT_LEASE_MS;
    await sleep(pauseMs);
    // Took over while frozen: a new fence, claimed by the other worker.
    const takeover = await waitFor(
      'takeover by the other worker',
      async () =>
        (
          await rt.pool.query<{ seq: number; fence: number; actor: string }>(
            `SELECT seq, fence, actor
      FROM run_events WHERE run_id = $1 AND type = 'stage_claimed' AND fence > $2 ORDER BY seq LIMIT 1`,
            [id, staleFence],
          )
        ).rows[0],
      20000,
      50,
    );
    const frozenMs = Date.now() - stoppedAt;
    const effectsAtResume = readEffects(t.stateDir, id).length;
    const checkpointedAtResume = await recordedSteps(rt, id);
    victim.proc.kill('SIGCONT');
    const resumedAt = Date.now();

    const panicEvent = await waitFor(
      'panic_lost_lock event',
      async () =>
        (
          await rt.pool.query(
            `SELECT created_at FROM run_events
      WHERE run_id = $1 AND type = 'panic_lost_lock' AND actor = $2`,
            [id, victim.workerId],
          )
        ).rows[0],
      15000,
      50,
    );
    // The record shows the panic until the worker takes its next job (its last_error keeps the reason after that).
    const record = await waitFor(
      'worker record shows the panic',
      async () =>
        (await rt.store.listWorkers()).find(
          (w) => w.id === victim.workerId && (w.state === 'panic' || w.last_error?.includes(id)),
        ),
      5000,
      50,
    ).catch(() => undefined);
    await waitFor('run done', async () => (await rt.store.getRun(id))!.status === 'done', 60000, 100);

    // Writes of the frozen worker after its fence moved: none may have landed.
    const {
      rows: [landed],
    } = await rt.pool.query(`SELECT count(*)::int AS n FROM run_events WHERE run_id = $1 AND fence = $2 AND seq > $3`, [
      id,
      staleFence,
      takeover.seq,
    ]);
    const fenced = (await counterTotal(rt, 'fenced_writes')) - fencedBefore;
    const refusedLogged = victim
      .output()
      .split('\n')
      .filter((l) => l.includes('write refused by fencing')).length;
    const victimPid = String(victim.proc.pid);
    // The step the frozen worker was inside when stopped can finish after the resume: a side effect already under way,
    // outside fencing.
    const victimLate = readEffects(t.stateDir, id)
      .slice(effectsAtResume)
      .filter((l) => l.startsWith(`${run.stage}:`) && l.endsWith(`:${victimPid}`))
      .map((l) => l.split(':').slice(0, 2).join(':'));
    const counts = stepCounts(t.stateDir, id);
    const repeated = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
    const recorded = await recordedSteps(rt, id);
    report('SIGSTOP past the lease', {
      lease_ms: t.config.RAYVAULT_LEASE_MS,
      frozen_ms: frozenMs,
      takeover_within_pause: frozenMs <= pauseMs + 100 ? 'yes' : `no (needed ${frozenMs} ms)`,
      stale_fence: staleFence,
      new_fence: takeover.fence,
      new_holder: takeover.actor,
      stale_writes_landed: landed.n,
      fenced_writes_counted: fenced,
      refusals_in_worker_log: refusedLogged,
      panic_event_after_resume_ms: new Date(panicEvent.created_at).getTime() - resumedAt,
      worker_record: record ? { state: record.state, last_error: record.last_error } : 'panic not seen',
      in_flight_step_finished_after_resume: victimLate.map(
        (k) => `${k}${checkpointedAtResume.has(k) ? ' (the new holder had checkpointed it first)' : ''}`,
      ),
      steps_repeated: repeated,
      steps_ran_but_not_recorded: [...counts.keys()].filter((k) => !recorded.has(k)),
      duplicate_db_step_events: await duplicateStepEvents(rt, [id]),
    });
    expect(takeover.actor).not.toBe(victim.workerId);
    expect(landed.n).toBe(0);
    expect(fenced).toBe(refusedLogged);
    // A step that finished after the resume tried to checkpoint: that write is among the refused ones.
    expect(fenced).toBeGreaterThanOrEqual(victimLate.length);
    expect(panicEvent).toBeTruthy();
    expect(record).toBeTruthy();
    await expectCompleteOnce(rt, [id], steps);
    // A step checkpointed before the freeze never ran again; only the one in flight at the freeze may have.
    for (const k of checkpointedBefore) expect([k, counts.get(k)]).toEqual([k, 1]);
    expect(repeated.length).toBeLessThanOrEqual(1);
    expect(victimLate.length).toBeLessThanOrEqual(1);
  } finally {
    await fleet.killAll();
    await rt.releasers.close();
  }
});

it('Redis restarted (AOF) 5 times during 10 active runs: all complete, no step event twice', async () => {
  const redis = await startRedisServer({ aof: true });
  const t = await createTestEnv('faults-redis-restart', { REDIS_URL: redis.url, RAYVAULT_MAX_STALLS: '20' });
  const rt = testRuntime(t, 'restart-observer');
  const scheduler = startScheduler(t);
  const fleet = createFleet(t);
  const steps = 8;
  // Two of the outages outlast the lease: the run-lock keys expire while Redis is away.
  const downtimes = [500, 1000, 1500, 2500, 3000];
  const restarts: Array<{ active: number; down_ms: number; first_claim_ms: number }> = [];
  try {
    await Promise.all([fleet.start('rr-a'), fleet.start('rr-b')]);
    const ids = await submitMany(rt, 10, { steps, stepMs: 300 });
    // Say what the runs and workers were doing when nothing moved, then fail.
    const describeStuck = (context: object) => async (e: unknown) => {
      const { rows } = await rt.pool.query(
        `SELECT r.id, r.status, r.stage, r.attempt, r.worker_id, r.worker_last_error,
          (SELECT json_agg(e.type || ' by ' || e.actor || coalesce(': ' || e.reason, '') ORDER BY e.seq) FROM (SELECT * FROM run_events
            WHERE run_id = r.id ORDER BY seq DESC LIMIT 8) e) AS last_events
        FROM runs r WHERE r.id = ANY($1) AND r.status <> 'done'`,
        [ids],
      );
      console.log(
        JSON.stringify(
          {
            ...context,
            stuck: rows,
            workers: [...fleet.workers.values()].map((w) => ({
              id: w.workerId,
              tail: w
                .output()
                .split('\n')
                .filter((l) => /"level":(40|50|60)/.test(l))
                .slice(-25),
            })),
          },
          null,
          1,
        ),
      );
      throw e;
    };
    for (const downMs of downtimes) {
      await sleep(1500);
      // Keep runs in flight for every restart, however fast the earlier ones finished.
      if (ids.length - ((await statuses(rt, ids)).done ?? 0) < 3)
        ids.push(...(await submitMany(rt, 3, { steps, stepMs: 300 })));
      const active = ids.length - ((await statuses(rt, ids)).done ?? 0);
      const downAt = Date.now();
      await redis.stop();
      await sleep(downMs);
      await redis.start();
      const upAt = new Date();
      // Steps go on without Redis; a stage claim needs a job delivered through it (unless every run finished during the
      // outage).
      await waitFor(
        'a stage claimed after the restart',
        async () =>
          (
            await rt.pool.query(
              `SELECT 1 FROM run_events
        WHERE run_id = ANY($1) AND type = 'stage_claimed' AND created_at > $2`,
              [ids, upAt],
            )
          ).rowCount || (await statuses(rt, ids)).done === ids.length,
        30000,
        50,
      ).catch(describeStuck({ active, downMs }));
      restarts.push({ active, down_ms: upAt.getTime() - downAt, first_claim_ms: Date.now() - upAt.getTime() });
    }
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 120000, 250).catch(
      describeStuck({ restarts }),
    );
    const repeated = repeatedSteps(t.stateDir, ids);
    report('Redis restarted x 5 (AOF always)', {
      runs: ids.length,
      started_with: 10,
      restarts,
      first_claim_after_restart_ms: stats(restarts.map((r) => r.first_claim_ms)),
      done: (await statuses(rt, ids)).done,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      in_flight_steps_repeated: repeated,
      events: await eventCounts(rt, ids, ['panic_heartbeat_uncertain', 'panic_lost_lock', 'requeued']),
      lock_losses: await counterTotal(rt, 'lock_losses'),
      fenced_writes: await counterTotal(rt, 'fenced_writes'),
    });
    expect(restarts.every((r) => r.active > 0)).toBe(true);
    await expectCompleteOnce(rt, ids, steps);
  } finally {
    await fleet.killAll();
    await scheduler.close();
    await rt.releasers.close();
    await redis.stop();
  }
});

it('Redis killed (AOF everysec) and restarted, then wiped: the reconciler restores every run the database knows; all complete', async () => {
  const redis = await startRedisServer({ aof: true });
  const t = await createTestEnv('faults-redis-loss', { REDIS_URL: redis.url, RAYVAULT_MAX_STALLS: '20' });
  await setAppendFsync(redis.url, 'everysec');
  const rt = testRuntime(t, 'loss-observer');
  const scheduler = startScheduler(t);
  const fleet = createFleet(t);
  const steps = 8;
  const target = t.config.RAYVAULT_RECONCILE_MS + 2000;
  const rounds: Array<{
    round: string;
    in_flight: number;
    lost_from_redis: number;
    restore_ms: number;
    requeued: number;
  }> = [];
  try {
    await Promise.all([fleet.start('rl-a'), fleet.start('rl-b')]);
    const ids = await submitMany(rt, 8, { steps, stepMs: 250 });
    for (const wipe of [false, true]) {
      await sleep(2500);
      const inFlight = (await rt.store.runsInFlight()).length;
      await redis.stop(); // SIGKILL: up to a second of writes not yet fsynced is gone
      await sleep(1000);
      await redis.start();
      await setAppendFsync(redis.url, 'everysec');
      if (wipe) await flushRedis(redis.url);
      const upAt = new Date();
      const lost = await waitFor('Redis answering', () => unrestoredRuns(rt), 10000, 20);
      await waitFor('every in-flight run restored', async () => (await unrestoredRuns(rt)).length === 0, 30000, 50);
      rounds.push({
        round: wipe ? 'kill -9 + FLUSHALL (total loss)' : 'kill -9, AOF everysec',
        in_flight: inFlight,
        lost_from_redis: lost.length,
        restore_ms: Date.now() - upAt.getTime(),
        requeued: (await eventCounts(rt, ids, ['requeued'], upAt)).requeued,
      });
    }
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 120000, 250);
    const repeated = repeatedSteps(t.stateDir, ids);
    report('Redis killed with AOF everysec, then wiped', {
      runs: ids.length,
      rounds,
      reconcile_ms: t.config.RAYVAULT_RECONCILE_MS,
      restore: withinTarget(
        rounds.map((r) => r.restore_ms),
        target,
      ),
      done: (await statuses(rt, ids)).done,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      in_flight_steps_repeated: repeated,
      events: await eventCounts(rt, ids, ['panic_lost_lock', 'requeued']),
      fenced_writes: await counterTotal(rt, 'fenced_writes'),
    });
    expect(rounds.every((r) => r.in_flight > 0)).toBe(true);
    await expectCompleteOnce(rt, ids, steps);
  } finally {
    await fleet.killAll();
    await scheduler.close();
    await rt.releasers.close();
    await redis.stop();
  }
});

/** The 60 s: with it the whole file takes about 2.5 minutes on 2 cores. */
const PG_OUTAGE_MS = 60_000;

it(`Postgres down ${PG_OUTAGE_MS / 1000} s during 5 runs: every write spooled and replayed exactly once, spool depth visible, runs complete`, async () => {
  // Production durability (fsync on), as npm start runs it: the workers' writes go through group commit.
  const server = await startPgServer({ fast: false });
  const t = await createTestEnv('faults-pg-down', { DATABASE_URL: await createDatabase(server.url, 'pgdown') });
  const rt = testRuntime(t, 'pgdown-observer');
  const scheduler = startScheduler(t);
  const fleet = createFleet(t);
  const steps = 6;
  const spooled = new Map<string, SpoolRecord>();
  const collect = () => {
    for (const r of spooledRecords(rt.spoolDir)) spooled.set(r.id, r);
  };
  try {
    await Promise.all([fleet.start('pg-a'), fleet.start('pg-b')]);
    const ids = await submitMany(rt, 5, { steps, stepMs: 250 });
    await waitFor(
      'work under way',
      () => ids.filter((id) => readEffects(t.stateDir, id).length > 0).length >= 3,
      30000,
      50,
    );
    const appendsBefore = await counterTotal(rt, 'spool_appends');
    await server.stop();
    const downAt = Date.now();
    const depths: number[] = [];
    let doctor: DoctorReport | undefined;
    while (Date.now() - downAt < PG_OUTAGE_MS) {
      collect();
      depths.push(spoolDepth(rt.spoolDir));
      if (!doctor && Date.now() - downAt > PG_OUTAGE_MS / 2) doctor = await runDoctor(rt);
      await sleep(500);
    }
    const depthAtRestart = spoolDepth(rt.spoolDir);
    await server.start();
    const upAt = Date.now();
    await waitFor(
      'spool drained',
      () => {
        collect();
        return spoolDepth(rt.spoolDir) === 0;
      },
      60000,
      50,
    );
    const drainMs = Date.now() - upAt;
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 120000, 250);

    const eventIds = [...spooled.values()].map((r) => String(r.args.p_event_id));
    const { rows: landed } = await rt.pool.query<{ id: string }>('SELECT id FROM run_events WHERE id = ANY($1)', [
      eventIds,
    ]);
    const missing = eventIds.filter((id) => !landed.some((r) => r.id === id));
    const side = spoolSideLines(rt.spoolDir);
    const replays = [...fleet.workers.values()]
      .map((w) => spoolReplays(w.output()))
      .reduce((a, b) => ({
        applied: a.applied + b.applied,
        duplicates: a.duplicates + b.duplicates,
        rejected: a.rejected + b.rejected,
        quarantined: a.quarantined + b.quarantined,
      }));
    const findings = (doctor?.findings ?? []).map((f) => `${f.level} ${f.code}: ${f.message}`);
    const repeated = repeatedSteps(t.stateDir, ids);
    report(`Postgres down ${PG_OUTAGE_MS / 1000} s`, {
      outage_ms: upAt - downAt,
      runs: ids.length,
      spooled_writes: spooled.size,
      by_function: tally([...spooled.values()].map((r) => r.fn)),
      spool_appends_counted: (await counterTotal(rt, 'spool_appends')) - appendsBefore,
      spool_depth: { max: Math.max(...depths), at_restart: depthAtRestart, after: spoolDepth(rt.spoolDir) },
      doctor_during_outage: { line: doctor?.line, findings },
      drain_ms: drainMs,
      replays_applied: replays.applied,
      replays_found_already_applied: replays.duplicates,
      replayed_missing: missing.length,
      rejected: side.rejected,
      quarantined: side.quarantined,
      duplicate_db_step_events: await duplicateStepEvents(rt, ids),
      in_flight_steps_repeated: repeated,
      events: await eventCounts(rt, ids, ['panic_heartbeat_uncertain', 'panic_lost_lock', 'requeued']),
    });
    expect(spooled.size).toBeGreaterThan(0);
    expect(Math.max(...depths)).toBeGreaterThan(0);
    expect(findings.some((f) => f.startsWith('WARN SPOOL_PENDING'))).toBe(true);
    expect(missing).toEqual([]);
    // Two workers share this state dir, so both may replay a file; the database applies each record once.
    expect(replays).toMatchObject({ applied: spooled.size, rejected: 0, quarantined: 0 });
    expect(side).toEqual({ rejected: 0, quarantined: 0 });
    expect(spoolDepth(rt.spoolDir)).toBe(0);
    await expectCompleteOnce(rt, ids, steps);
  } finally {
    await fleet.killAll();
    await scheduler.close();
    await rt.releasers.close();
    await server.stop();
  }
});
