// The scheduler's cron-style jobs on BullMQ job schedulers: scheduled intake
// dispatched once per due time even with two schedulers running, stale-gate
// reminders once per period, and a bad schedule file refused with every problem.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Runtime } from '@rayvault/shared';
import { schedulerConfigSchema } from '@rayvault/scheduler';
import { createCronJobs } from '../../services/scheduler/src/cron-jobs';
import { readScheduleFile } from '../../services/scheduler/src/schedule-file';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';

let t: TestEnv;
let rt: Runtime;
beforeAll(async () => {
  t = await createTestEnv('cron');
  rt = testRuntime(t, 'cron-test');
});
afterAll(() => rt.releasers.close());

const schedulerConfig = (extra: Record<string, string>) =>
  loadConfig({ ...t.env, ...extra }, { schema: schedulerConfigSchema, useDotenv: false });

it('two schedulers dispatch each due time of a schedule once: one run per slot, with a stable id', async () => {
  const file = path.join(t.stateDir, 'schedule.json');
  writeFileSync(file, JSON.stringify([{ name: 'kettle-every-second', every: 1000, sample: 'consistent' }]));
  const cfg = schedulerConfig({
    RAYVAULT_SCHEDULE_FILE: file,
    RAYVAULT_STALE_GATE_CHECK_MS: '600000',
    RAYVAULT_DOCTOR_EVERY_MS: '600000',
    RAYVAULT_RETENTION_EVERY_MS: '600000',
  });
  const rtB = testRuntime(t, 'cron-b');
  const [a, b] = [createCronJobs(rt, cfg), createCronJobs(rtB, cfg)];
  await Promise.all([a.start(), b.start()]);
  const scheduled = async () =>
    (
      await rt.pool.query(
        `SELECT r.id, e.actor FROM runs r JOIN run_events e ON e.run_id = r.id AND e.type = 'run_created' WHERE e.actor = 'schedule:kettle-every-second'`,
      )
    ).rows;
  await waitFor('four scheduled runs', async () => (await scheduled()).length >= 4, 20000, 200);
  await Promise.all([a.close(), b.close()]);
  await rtB.releasers.close();
  const runs = await scheduled();
  const jobs = await a.queue.getJobs(['completed']);
  const intakeJobs = jobs.filter((j) => j.name === 'intake:kettle-every-second');
  // Every completed intake job made exactly one run, and no run came from two jobs.
  expect(new Set(intakeJobs.map((j) => j.returnvalue)).size).toBe(intakeJobs.length);
  expect(runs.length).toBe(intakeJobs.length);
  expect((await rt.store.getRun(runs[0].id))!.input).toEqual({ script: expect.any(Array) });
});

it('reminds about a gate left open past RAYVAULT_STALE_GATE_MS, once per period', async () => {
  const run = await rt.store.createRun({ product: { name: 'Gated' }, actor: 'test' });
  const claim = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'w' });
  await rt.store.transition({
    runId: run.id,
    to: 'waiting_approval',
    fence: claim.run.fence,
    actor: 'w',
    payload: { diff: [] },
    eventId: `${run.id}:gate`,
  });
  const cfg = schedulerConfig({
    RAYVAULT_STALE_GATE_MS: '60000',
    RAYVAULT_STALE_GATE_CHECK_MS: '300',
    RAYVAULT_DOCTOR_EVERY_MS: '600000',
    RAYVAULT_RETENTION_EVERY_MS: '600000',
  });
  await rt.pool.query(`UPDATE runs SET updated_at = now() - interval '5 minutes' WHERE id = $1`, [run.id]);
  const cron = createCronJobs(rt, cfg);
  await cron.start();
  const reminders = async () =>
    (await rt.alerter.queue.getJobs(['waiting', 'delayed', 'completed', 'active'])).filter(
      (j) => j.data.kind === 'stale_gate' && j.data.runId === run.id,
    );
  await waitFor('a STALE_GATE reminder', async () => (await reminders()).length > 0, 10000);
  await waitFor(
    'several more checks',
    async () => (await cron.queue.getJobs(['completed'])).filter((j) => j.name === 'stale-gates').length >= 4,
    10000,
  );
  await cron.close();
  expect(await reminders()).toHaveLength(1);
  expect((await reminders())[0].data.title).toMatch(/^STALE_GATE: run /);
});

it('refuses a bad schedule file, naming every problem', () => {
  const file = path.join(t.stateDir, 'bad-schedule.json');
  writeFileSync(
    file,
    JSON.stringify([
      { name: 'a b', every: 10, sample: 'nope' },
      { name: 'x', sample: 'consistent' },
    ]),
  );
  expect(() => readScheduleFile(file)).toThrow(
    /0\.name: letters[\s\S]*0\.every[\s\S]*0\.sample[\s\S]*1: give exactly one of pattern/,
  );
});
