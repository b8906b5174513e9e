// kill -9 at random points (2 workers, 20 kills), SIGTERM (10 times), and a poison job.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Runtime } from '@rayvault/shared';
import { createScheduler } from '@rayvault/scheduler';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { readEffects } from '../support/test-processors';
import { createFleet, duplicateStepEvents, report, stats, statuses, stepCounts, submitMany } from './kit';

let t: TestEnv;
let rt: Runtime;
beforeAll(async () => {
  t = await createTestEnv('faults-crash', { RAYVAULT_MAX_STALLS: '50' });
  rt = testRuntime(t, 'fault-observer');
});
afterAll(() => rt.releasers.close());

it('kill -9 at random points, 20 times, 2 workers: nothing lost, no checkpointed step twice, recovery <= lease + 2 s', async () => {
  const fleet = createFleet(t);
  // As deployed: the scheduler's reconciler re-queues a run whose worker died
  // between recording a stage complete and enqueuing the next one.
  const scheduler = createScheduler(rt);
  scheduler.start();
  await Promise.all([fleet.start('k-a'), fleet.start('k-b')]);
  const ids = await submitMany(rt, 6, { steps: 8, stepMs: 120 });
  const recoveries: number[] = [];
  let kills = 0;
  try {
    while (kills < 20) {
      await sleep(200 + Math.random() * 800);
      const { rows } = await rt.pool.query(
        `SELECT id, worker_id FROM runs WHERE id = ANY($1) AND status = 'running' AND worker_id IS NOT NULL`,
        [ids],
      );
      // Keep work in flight until all 20 kills have landed.
      if (!rows.length) {
        ids.push(...(await submitMany(rt, 2, { steps: 8, stepMs: 120 })));
        continue;
      }
      const victimRun = rows[Math.floor(Math.random() * rows.length)];
      const victim = fleet.workers.get(victimRun.worker_id);
      if (!victim || victim.proc.exitCode !== null) continue;
      const before = readEffects(t.stateDir, victimRun.id).length;
      victim.proc.kill('SIGKILL');
      const killedAt = Date.now();
      kills++;
      await victim.exited;
      const replacement = fleet.start(victimRun.worker_id);
      await waitFor(
        'progress after kill',
        async () =>
          readEffects(t.stateDir, victimRun.id).length > before ||
          (await rt.store.getRun(victimRun.id))!.status === 'done',
        30000,
        25,
      );
      recoveries.push(Date.now() - killedAt);
      await replacement;
    }
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 120000, 250).catch(
      async (e) => {
        // Say where an unfinished run is stuck: its row and its BullMQ job.
        const { rows } = await rt.pool.query(
          `SELECT id, status, stage, attempt, worker_id FROM runs WHERE id = ANY($1) AND status <> 'done'`,
          [ids],
        );
        for (const r of rows) {
          const job = await rt.queues[r.stage as 'evidence'].getJob(`${r.id}:${r.stage}:${r.attempt}`);
          console.log(
            JSON.stringify({
              run: r,
              job: job
                ? {
                    state: await job.getState(),
                    stalled: job.stalledCounter,
                    attempts: job.attemptsMade,
                    failed: job.failedReason,
                  }
                : null,
            }),
          );
        }
        throw e;
      },
    );
  } finally {
    await fleet.killAll();
    await scheduler.close();
  }
  const repeated = ids.flatMap((id) => [...stepCounts(t.stateDir, id).values()].filter((n) => n > 1));
  report('kill -9 x 20, 2 workers', {
    kills,
    runs: ids.length,
    lost: ids.length - ((await statuses(rt, ids)).done ?? 0),
    recovery_ms: stats(recoveries),
    lease_ms: t.config.RAYVAULT_LEASE_MS,
    within_lease_plus_2s: `${recoveries.filter((ms) => ms <= t.config.RAYVAULT_LEASE_MS + 2000).length}/${recoveries.length}`,
    in_flight_steps_repeated: repeated.length,
    duplicate_db_step_events: await duplicateStepEvents(rt, ids),
    reconciler_requeued: (
      await rt.pool.query(`SELECT count(*)::int AS n FROM run_events WHERE type = 'requeued' AND run_id = ANY($1)`, [
        ids,
      ])
    ).rows[0].n,
  });
  expect((await statuses(rt, ids)).done).toBe(ids.length);
  expect(await duplicateStepEvents(rt, ids)).toBe(0);
  // Only a step in flight at a kill (never checkpointed) may run again: at most one per kill.
  expect(repeated.length).toBeLessThanOrEqual(kills);
  for (const id of ids) expect(stepCounts(t.stateDir, id).size).toBe(32);
  expect(kills).toBe(20);
});

it('SIGTERM mid-stage, 10 times: no new job after the signal, stopped within the grace period, exit 0', async () => {
  const fleet = createFleet(t);
  const ids: string[] = [];
  const stops: number[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      ids.push(...(await submitMany(rt, 1, { steps: 6, stepMs: 150 })));
      const w = await fleet.start(`term-${i}`);
      await waitFor(
        'stage under way',
        async () => (await rt.pool.query(`SELECT 1 FROM runs WHERE worker_id = $1`, [w.workerId])).rowCount! > 0,
        30000,
        50,
      );
      await sleep(Math.random() * 400);
      const at = new Date();
      w.proc.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      stops.push(Date.now() - at.getTime());
      // From the moment the worker handled the signal (its log line), it claims nothing new.
      const handled = w
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"shutting down gracefully"'));
      const handledAt = new Date(JSON.parse(handled!).time);
      const late = await rt.pool.query(
        `SELECT 1 FROM run_events WHERE type = 'stage_claimed' AND actor = $1 AND created_at > $2`,
        [w.workerId, handledAt],
      );
      expect(late.rowCount).toBe(0);
      expect(
        (await rt.pool.query(`SELECT 1 FROM runs WHERE worker_id = $1 AND status = 'running'`, [w.workerId])).rowCount,
      ).toBe(0);
    }
    await fleet.start('term-finisher');
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 120000, 250);
  } finally {
    await fleet.killAll();
  }
  const repeated = ids.flatMap((id) => [...stepCounts(t.stateDir, id).values()].filter((n) => n > 1));
  report('SIGTERM x 10', {
    stop_ms: stats(stops),
    grace_ms: t.config.RAYVAULT_SHUTDOWN_GRACE_MS,
    steps_repeated: repeated.length,
  });
  expect(repeated).toEqual([]);
  expect(Math.max(...stops)).toBeLessThan(t.config.RAYVAULT_SHUTDOWN_GRACE_MS + 3000);
});

it('a poison job that crashes its worker every time fails after the configured attempts; others keep flowing; an alert fires', async () => {
  const t2 = await createTestEnv('faults-poison', { RAYVAULT_MAX_STALLS: '2' });
  const rt2 = testRuntime(t2, 'poison-observer');
  const scheduler = createScheduler(rt2);
  scheduler.start();
  const fleet = createFleet(t2);
  try {
    const [poison] = await submitMany(rt2, 1, { steps: 1, poisonAt: 'voice' });
    const healthy = await submitMany(rt2, 3, { steps: 2 });
    const crashes = { n: 0 };
    const keepAlive = setInterval(() => {
      for (const [id, w] of fleet.workers)
        if (w.proc.exitCode !== null) {
          crashes.n++;
          fleet.workers.delete(id);
          void fleet.start(`p-${Date.now()}`);
        }
    }, 200);
    await fleet.start('p-first');
    await waitFor('poison run failed', async () => (await rt2.store.getRun(poison))!.status === 'failed', 120000, 250);
    await waitFor(
      'healthy runs done',
      async () => (await statuses(rt2, healthy)).done === healthy.length,
      60000,
      250,
    ).catch(async (e) => {
      console.log(
        await statuses(rt2, healthy),
        crashes,
        (await rt2.pool.query('SELECT id, status, stage, worker_last_error FROM runs')).rows,
      );
      throw e;
    });
    clearInterval(keepAlive);
    const alerts = await rt2.alerter.queue.getJobs(['waiting', 'delayed', 'active', 'completed']);
    const dead = alerts.filter((a) => a.data.kind === 'dead_letter' && a.data.runId === poison);
    report('poison job', {
      worker_crashes: crashes.n,
      max_stalls: t2.config.RAYVAULT_MAX_STALLS,
      poison_status: 'failed',
      healthy_done: healthy.length,
      alerts: dead.length,
    });
    expect(dead).toHaveLength(1);
    expect((await rt2.store.getRun(poison))!.worker_last_error).toMatch(/stalled/i);
  } finally {
    await fleet.killAll();
    await scheduler.close();
    await rt2.releasers.close();
  }
});
