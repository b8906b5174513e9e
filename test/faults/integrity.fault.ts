// Data integrity under crashes and duplicates: the spool killed mid-append and
// mid-replay, replays run twice and concurrently, stalled jobs whose worker
// comes back, resent Telegram presses, and force-unlock races.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  forceUnlockRun,
  IllegalTransitionError,
  replaySpool,
  spoolDepth,
  stageJobId,
  type Runtime,
} from '@rayvault/shared';
import { createScheduler } from '@rayvault/scheduler';
import { loadNotifierConfig } from '../../services/notifier/src/config.schema';
import { createNotifier } from '@rayvault/notifier';
import { startBotApiDouble } from '../fixtures/telegram/bot-api-double';
import type { Update } from '../fixtures/telegram/bot-api-state';
import { gateAlert, openGate } from '../fixtures/telegram/gate-run';
import { startApi } from '../ops-api/api-support';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { readEffects } from '../support/test-processors';
import {
  createFleet,
  dumpRunRows,
  duplicateStepEvents,
  report,
  seededRandom,
  spawnTs,
  spoolSideLines,
  stats,
  statuses,
  stepCounts,
  submitMany,
  tally,
} from './kit';

const SEED = Number(process.env.RV_FAULT_SEED ?? 20240606);
const KILLS = Number(process.env.RV_FAULT_SPOOL_KILLS ?? 30);
let t: TestEnv;
let rt: Runtime;
beforeAll(async () => {
  t = await createTestEnv('faults-integrity', { RAYVAULT_MAX_STALLS: '50' });
  rt = testRuntime(t, 'integrity-observer');
});
afterAll(() => rt.releasers.close());

/** A run whose evidence stage is held by `worker`, as a worker would hold it. */
async function heldRun(worker = 'drill-holder') {
  const run = await rt.store.createRun({ product: { name: 'integrity' }, actor: 'fault-drill' });
  const claim = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: worker });
  return { id: run.id, fence: claim.run.fence };
}

/** Spool files as they are now: name and content. */
function spoolFiles(dir: string): { name: string; text: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl') || f.endsWith('.replaying'))
    .map((name) => ({ name, text: readFileSync(path.join(dir, name), 'utf8') }));
}

/** Event ids of the complete records in spool text, and how many lines are torn. */
function classify(text: string): { ids: string[]; torn: number } {
  const ids: string[] = [];
  let torn = 0;
  for (const line of text.split('\n').filter(Boolean)) {
    try {
      ids.push((JSON.parse(line) as { args: { p_event_id: string } }).args.p_event_id);
    } catch {
      torn++;
    }
  }
  return { ids, torn };
}

async function presentEventIds(ids: string[]): Promise<Set<string>> {
  const { rows } = await rt.pool.query<{ id: string }>('SELECT id FROM run_events WHERE id = ANY($1)', [ids]);
  return new Set(rows.map((r) => r.id));
}

it('spool: kill -9 mid-append and mid-replay, 30 times: every start replays cleanly, torn records quarantined, replaying again changes nothing', async () => {
  const dir = path.join(t.stateDir, 'spool-drill');
  mkdirSync(dir, { recursive: true });
  const rng = seededRandom(SEED);
  const runIds: string[] = [];
  const written: { name: string; text: string }[] = [];
  const expected: string[] = [];
  const k = { append: 0, sizeLimitCrashes: 0, replay: 0, replayFinishedFirst: 0, torn: 0, lost: 0 };
  const recoveryMs: number[] = [];
  for (let cycle = 0; k.append + k.replay < KILLS; cycle++) {
    const run = await heldRun();
    runIds.push(run.id);
    // Every third writer runs under a file-size limit: the write that crosses it is cut mid-record and fails,
    // leaving a torn tail at a random byte (a kill -9 mostly lands between records).
    const limited = cycle % 3 === 2;
    const writer = spawnTs(
      'test/faults/spool-child.ts',
      {
        SPOOL_MODE: 'append',
        SPOOL_DIR: dir,
        SPOOL_RUN: run.id,
        SPOOL_FENCE: String(run.fence),
        DATABASE_URL: t.dbUrl,
      },
      limited ? ['prlimit', `--fsize=${300_000 + rng.int(1_500_000)}`] : [],
    );
    await waitFor(
      'spool writer ready',
      () => writer.output().includes('ready') || writer.proc.exitCode !== null,
      30000,
      20,
    );
    if (limited) {
      expect(await writer.exited).toBe(1);
      k.sizeLimitCrashes++;
    } else {
      await sleep(50 + rng.int(400));
      writer.proc.kill('SIGKILL');
      await writer.exited;
      k.append++;
    }
    const left = spoolFiles(dir);
    written.push(...left);
    for (const f of left) {
      const c = classify(f.text);
      expected.push(...c.ids);
      k.torn += c.torn;
    }

    // A replay killed at a random point (unless it finished first).
    const replayer = spawnTs('test/faults/spool-child.ts', {
      SPOOL_MODE: 'replay',
      SPOOL_DIR: dir,
      DATABASE_URL: t.dbUrl,
    });
    await waitFor(
      'replayer ready',
      () => replayer.output().includes('ready') || replayer.proc.exitCode !== null,
      30000,
      20,
    );
    await sleep(rng.int(150));
    if (replayer.proc.exitCode === null) {
      replayer.proc.kill('SIGKILL');
      k.replay++;
    }
    if ((await replayer.exited) === 0) k.replayFinishedFirst++;

    // The next start: its replay must succeed and leave nothing behind.
    const t0 = Date.now();
    const r = await replaySpool(dir, rt.store.rpc, rt.log);
    recoveryMs.push(Date.now() - t0);
    expect(r.remaining).toBe(0);
    expect(spoolDepth(dir)).toBe(0);
  }
  const present = await presentEventIds(expected);
  k.lost = expected.filter((id) => !present.has(id)).length;
  const side = spoolSideLines(dir);
  const before = await dumpRunRows(rt, runIds);

  // Replaying everything again (a crash after applying, before deleting the files) leaves the same database.
  const again = path.join(t.stateDir, 'spool-again');
  mkdirSync(again, { recursive: true });
  for (const f of written) writeFileSync(path.join(again, f.name.replace(/\.replaying$/, '.jsonl')), f.text);
  const second = await replaySpool(again, rt.store.rpc, rt.log);
  const afterSecond = await dumpRunRows(rt, runIds);

  // Two replays at once over files a crashed replayer had claimed: the same database again, neither fails.
  const both = path.join(t.stateDir, 'spool-both');
  mkdirSync(both, { recursive: true });
  for (const f of written) writeFileSync(path.join(both, f.name.replace(/\.jsonl$/, '.replaying')), f.text);
  const rt2 = testRuntime(t, 'integrity-replayer-2');
  const concurrent = await Promise.allSettled([
    replaySpool(both, rt.store.rpc, rt.log),
    replaySpool(both, rt2.store.rpc, rt2.log),
  ]);
  await rt2.releasers.close();
  const afterConcurrent = await dumpRunRows(rt, runIds);
  const concurrentSide = spoolSideLines(both);

  report(`spool kill -9 x ${k.append + k.replay} (append and replay)`, {
    seed: SEED,
    kills_mid_append: k.append,
    kills_mid_replay: k.replay,
    replays_done_before_kill: k.replayFinishedFirst,
    writers_cut_by_size_limit: k.sizeLimitCrashes,
    records_written: expected.length,
    torn_records: k.torn,
    quarantined_lines: side.quarantined,
    rejected_lines: side.rejected,
    lost: k.lost,
    recovery_replays: recoveryMs.length,
    recovery_replay_ms: stats(recoveryMs),
    second_replay: second,
    second_replay_same_db: before === afterSecond,
    concurrent_replays: concurrent.map((c) =>
      c.status === 'fulfilled' ? c.value : `failed: ${(c.reason as Error).message}`,
    ),
    concurrent_same_db: before === afterConcurrent,
    concurrent_quarantined_lines: concurrentSide.quarantined,
  });
  expect(k.lost).toBe(0);
  expect(side.rejected).toBe(0);
  expect(side.quarantined).toBe(k.torn);
  expect(k.torn).toBeGreaterThan(0);
  expect(afterSecond).toBe(before);
  expect(second).toMatchObject({ rejected: 0, remaining: 0, quarantined: k.torn });
  expect(concurrent.every((c) => c.status === 'fulfilled')).toBe(true);
  expect(afterConcurrent).toBe(before);
  expect(concurrentSide).toEqual({ rejected: 0, quarantined: k.torn });
});

it('stalled workers (SIGSTOP past the lease) that come back, with the reconciler and the stalled checker re-queueing: one completion per stage, no step recorded twice', async () => {
  const scheduler = createScheduler(rt);
  // A second reconciler, tighter, so both re-queue paths race for the same runs.
  const rt2 = testRuntime(t, 'integrity-reconciler-2');
  const second = createScheduler(rt2);
  scheduler.start();
  const hammer = setInterval(() => void second.reconciler.pass().catch(() => undefined), 150);
  const fleet = createFleet(t);
  const ids: string[] = [];
  const rng = seededRandom(SEED + 1);
  let stops = 0;
  let inFlightAtStops = 0;
  let jobsLost = 0;
  const takeovers: number[] = [];
  try {
    await Promise.all([fleet.start('st-a'), fleet.start('st-b')]);
    ids.push(...(await submitMany(rt, 6, { steps: 6, stepMs: 150 })));
    while (stops < 8) {
      await sleep(200 + rng.int(600));
      const { rows } = await rt.pool.query(
        `SELECT id, worker_id, fence FROM runs WHERE id = ANY($1) AND status = 'running' AND worker_id IS NOT NULL`,
        [ids],
      );
      if (!rows.length) {
        ids.push(...(await submitMany(rt, 2, { steps: 6, stepMs: 150 })));
        continue;
      }
      const victimRun = rows[rng.int(rows.length)];
      const victim = fleet.workers.get(victimRun.worker_id);
      if (!victim || victim.proc.exitCode !== null) continue;
      // Runs the victim is working on: its run locks (a handed-off run names its worker only at its first write).
      const { rows: running } = await rt.pool.query<{ id: string }>(
        `SELECT id FROM runs WHERE id = ANY($1) AND status = 'running'`,
        [ids],
      );
      const holders = await Promise.all(running.map((r) => rt.locks.holder(r.id)));
      inFlightAtStops += holders.filter((h) => h === victimRun.worker_id).length;
      victim.proc.kill('SIGSTOP');
      const at = Date.now();
      stops++;
      // Every other stop, Redis also loses the frozen run's job once its lock expires: only the reconciler can bring it
      // back.
      if (stops % 2 === 0) {
        const run = (await rt.store.getRun(victimRun.id))!;
        const jobId = stageJobId({ runId: run.id, stage: run.stage, attempt: run.attempt });
        await waitFor(
          'job removable',
          async () => {
            const job = await rt.queues[run.stage].getJob(jobId);
            if (!job) return true;
            return job.remove().then(
              () => {
                jobsLost++;
                return true;
              },
              () => false,
            );
          },
          15000,
          100,
        ).catch(() => undefined);
      }
      // Frozen past its lease: the other worker takes the run over (or finishes it); then the frozen one wakes up
      // mid-step.
      await waitFor(
        'takeover',
        async () => {
          const r = (await rt.store.getRun(victimRun.id))!;
          return r.fence > victimRun.fence || r.status === 'done';
        },
        30000,
        50,
      ).finally(() => victim.proc.kill('SIGCONT'));
      takeovers.push(Date.now() - at);
    }
    await waitFor('all runs done', async () => (await statuses(rt, ids)).done === ids.length, 120000, 250);
  } finally {
    clearInterval(hammer);
    await fleet.killAll();
    await scheduler.close();
    await second.close();
    await rt2.releasers.close();
  }
  const { rows: completions } = await rt.pool.query<{ run_id: string; stage: string; n: number }>(
    `SELECT run_id, payload->>'stage' AS stage, count(*)::int AS n FROM run_events
    WHERE run_id = ANY($1) AND type IN ('stage_completed', 'run_done') GROUP BY 1, 2`,
    [ids],
  );
  const {
    rows: [ev],
  } = await rt.pool.query(
    `SELECT count(*) FILTER (WHERE type = 'requeued')::int AS requeued, count(*) FILTER (WHERE type = 'panic_lost_lock')::int AS lost_lock,
    count(*) FILTER (WHERE type = 'stage_claimed')::int AS claims FROM run_events WHERE run_id = ANY($1)`,
    [ids],
  );
  const repeated = ids.flatMap((id) => [...stepCounts(t.stateDir, id).values()].filter((n) => n > 1));
  report('SIGSTOP past the lease x 8 (4 with the job lost in Redis), 2 workers, 2 reconcilers', {
    seed: SEED + 1,
    stops,
    runs: ids.length,
    done: (await statuses(rt, ids)).done,
    takeover_ms: stats(takeovers),
    lease_ms: t.config.RAYVAULT_LEASE_MS,
    jobs_lost_in_redis: jobsLost,
    stage_completions: completions.length,
    completions_per_stage: tally(completions.map((c) => c.n)),
    reconciler_requeues: ev.requeued,
    lost_lock_refusals: ev.lost_lock,
    stage_claims: ev.claims,
    in_flight_steps_repeated: repeated.length,
    runs_in_flight_at_stops: inFlightAtStops,
    duplicate_db_step_events: await duplicateStepEvents(rt, ids),
  });
  expect((await statuses(rt, ids)).done).toBe(ids.length);
  expect(completions).toHaveLength(ids.length * 4);
  expect(completions.every((c) => c.n === 1)).toBe(true);
  expect(await duplicateStepEvents(rt, ids)).toBe(0);
  for (const id of ids) expect(stepCounts(t.stateDir, id).size).toBe(24);
  // Only a step in flight on a frozen worker may run again (its effect happens before the refused checkpoint).
  expect(repeated.length).toBeLessThanOrEqual(inFlightAtStops);
  if (jobsLost) expect(ev.requeued).toBeGreaterThan(0);
  for (const id of ids) expect(readEffects(t.stateDir, id).length).toBeLessThanOrEqual(24 + inFlightAtStops);
});

it('a Telegram press resent by the Bot API, and two admins pressing at once: one operator action per run', async () => {
  const nrt = testRuntime(t, 'integrity-notifier');
  const api = await startBotApiDouble();
  const notifier = createNotifier(nrt, loadNotifierConfig({ ...t.env, TELEGRAM_ADMIN_IDS: '4242,7' }), {
    botToken: api.token,
    chatId: '-100777',
    apiRoot: api.apiRoot,
    retryBaseMs: 100,
    retryMaxMs: 400,
  });
  await notifier.start();
  const runs: string[] = [];
  const resent: Update[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const run = await openGate(nrt);
      runs.push(run.id);
      await nrt.alerter.raise(gateAlert(run));
      const msg = await waitFor('gate message', () => api.messages.find((m) => m.text.includes(run.id)));
      const approve = api.buttonData(msg, 'Approve')!;
      const abort = api.buttonData(msg, 'Abort')!;
      // Ray presses Approve and Telegram resends that update 5 times; meanwhile user 7 presses Abort.
      const first = api.press({ fromId: 4242, data: approve, message: msg });
      for (let r = 0; r < 5; r++) {
        api.redeliver(first);
        resent.push(first);
      }
      api.press({ fromId: 7, data: abort, message: msg });
    }
    // Every press is handled: 2 answers per run, and each resend ends in a refused re-answer.
    await waitFor(
      'all presses handled',
      () => api.calls.filter((c) => c.method === 'answercallbackquery').length >= runs.length * 2 + resent.length,
      60000,
      100,
    );
  } finally {
    await notifier.close();
    await api.close();
    await nrt.releasers.close();
  }
  const { rows } = await rt.pool.query<{ run_id: string; type: string; n: number }>(
    `SELECT run_id, type, count(*)::int AS n FROM run_events
    WHERE run_id = ANY($1) AND type IN ('approve', 'abort', 'refetch', 'resume') GROUP BY 1, 2`,
    [runs],
  );
  const perRun = runs.map((id) => rows.filter((r) => r.run_id === id).reduce((n, r) => n + r.n, 0));
  const final = await statuses(rt, runs);
  report('Telegram press resent x 5 + a second admin at once, 5 runs', {
    updates_resent: resent.length,
    actions_per_run: perRun,
    winners: tally(rows.map((r) => r.type)),
    final_status: final,
    answers: tally(api.calls.filter((c) => c.method === 'answercallbackquery').map((c) => c.status)),
  });
  expect(perRun).toEqual(runs.map(() => 1));
  expect((final.approved ?? 0) + (final.aborted ?? 0)).toBe(runs.length);
});

it('force-unlock races: ten operators at once (shared and API) on each of 10 runs: exactly one succeeds, every attempt audited', async () => {
  const api = await startApi('faults-unlock', { t, options: { rateLimitPerMin: 100000 } });
  const outcomes: string[] = [];
  let winnersWrong = 0;
  try {
    const runs = await Promise.all(Array.from({ length: 10 }, () => heldRun('unlock-holder')));
    for (const r of runs) await api.rt.locks.acquire(r.id, 'unlock-holder');
    // Runs 0-4: five through shared and five through the API at once; runs 5-9: ten through the API.
    await Promise.all(
      runs.map(async (run, n) => {
        const attempts = await Promise.all(
          Array.from({ length: 10 }, async (_, i) => {
            if (n < 5 && i % 2 === 0) {
              return forceUnlockRun(rt, { runId: run.id, operator: `op-shared-${i}`, reason: 'stuck run' }).then(
                () => 'ok:shared',
                (err) => (err instanceof IllegalTransitionError ? 'refused:shared' : `error:${(err as Error).message}`),
              );
            }
            const res = await api.call('POST', `/api/runs/${run.id}/unlock`, {
              token: api.adminToken,
              body: { reason: `stuck run ${i}` },
            });
            return res.status === 200
              ? 'ok:api'
              : res.status === 409 && res.body?.error?.code === 'illegal_transition'
                ? 'refused:api'
                : `error:${res.status}:${JSON.stringify(res.body)}`;
          }),
        );
        outcomes.push(...attempts);
        if (attempts.filter((a) => a.startsWith('ok:')).length !== 1) winnersWrong++;
      }),
    );
    const { rows } = await rt.pool.query<{ run_id: string; type: string; n: number }>(
      `SELECT run_id, type, count(*)::int AS n FROM run_events
      WHERE run_id = ANY($1) AND type LIKE 'force_unlock%' GROUP BY 1, 2`,
      [runs.map((r) => r.id)],
    );
    const holders = await Promise.all(runs.map((r) => rt.locks.holder(r.id)));
    const after = await Promise.all(runs.map((r) => rt.store.getRun(r.id)));
    report('force-unlock x 10 operators x 10 runs', {
      outcomes: tally(outcomes),
      runs_without_exactly_one_winner: winnersWrong,
      audit: tally(rows.flatMap((r) => Array(r.n).fill(r.type))),
    });
    expect(outcomes.filter((o) => o.startsWith('error'))).toEqual([]);
    expect(winnersWrong).toBe(0);
    for (const run of runs) {
      expect(rows.find((r) => r.run_id === run.id && r.type === 'force_unlock')?.n).toBe(1);
      expect(rows.find((r) => r.run_id === run.id && r.type === 'force_unlock_refused')?.n).toBe(9);
    }
    expect(holders.every((h) => !h)).toBe(true);
    expect(after.every((r, i) => r!.fence === runs[i].fence + 1 && r!.worker_id === null)).toBe(true);
  } finally {
    await api.close();
  }
});
