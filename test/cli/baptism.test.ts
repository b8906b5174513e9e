// Baptism A (no worker) and B (after kill tests) through the real CLI: PASS on
// a healthy setup, FAIL for what the operator must fix, report files written.
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger, createSpool, createWorkerHost, submitRun, type Runtime } from '@rayvault/shared';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { allStepsProcessors } from '../support/test-processors';
import { deadPid, indexFinal, json, rayvault, writeFinal, writeRaw } from './cli-kit';

let t: TestEnv;
let rt: Runtime;
let doneRun: string;
const state = (...p: string[]) => path.join(t.stateDir, ...p);
const levels = (report: { checks: { name: string; level: string }[] }) =>
  Object.fromEntries(report.checks.map((c) => [c.name, c.level]));

beforeAll(async () => {
  t = await createTestEnv('cli-baptism');
  rt = testRuntime(t, 'cli-baptism');
  // One real run through the four stages (test processors), then its final file indexed.
  const host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir) });
  await host.start();
  doneRun = (await submitRun(rt, { product: { name: 'Kettle' }, input: { steps: 2 }, actor: 'test' })).id;
  await waitFor('run done', async () => (await rt.store.getRun(doneRun))?.status === 'done');
  await host.close(1000);
  await indexFinal(rt.pool, doneRun, 1, writeFinal(t.stateDir, doneRun, 1, 'final video'));
});
afterAll(() => rt.releasers.close());

it('baptism A passes on a healthy setup and writes its report to state/baptism', async () => {
  const r = await rayvault(t, ['baptism']);
  expect(r.code).toBe(0);
  for (const name of ['infra', 'migrations', 'index', 'skip', 'orphans'])
    expect(r.stdout).toMatch(new RegExp(`^PASS  ${name}`, 'm'));
  expect(r.stdout).toMatch(/^verdict: PASS$/m);
  const txt = /^report: (.+)$/m.exec(r.stdout)![1];
  expect(path.dirname(txt)).toBe(state('baptism'));
  expect(readFileSync(txt, 'utf8')).toMatch(/^BAPTISM A/);
  const saved = JSON.parse(readFileSync(txt.replace(/\.txt$/, '.json'), 'utf8'));
  expect(saved).toMatchObject({ level: 'A', verdict: 'PASS' });
  expect(json(await rayvault(t, ['baptism', '--json']))).toMatchObject({
    level: 'A',
    verdict: 'PASS',
    checks: expect.any(Array),
  });
});

it('baptism --full needs --confirm (exit 2)', async () => {
  const r = await rayvault(t, ['baptism', '--full']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/add --confirm/);
});

it('baptism B FAILs on a stale pid file and an undrained spool; clean and replay-spool fix both', async () => {
  writeRaw(state('pids/Mac-Ray-01.pid'), String(await deadPid()));
  // A write spooled by a worker that died before replaying it.
  const spool = createSpool(state('spool'), 'Mac-Ray-01', createLogger('test', 'silent'));
  spool.append('rv_append_event', {
    p_event_id: 'spooled-note-1',
    p_run: doneRun,
    p_fence: null,
    p_type: 'note',
    p_actor: 'Mac-Ray-01',
    p_reason: null,
    p_payload: {},
  });
  spool.rotate();
  const dead = await deadPid();
  for (const f of readdirSync(state('spool')).filter((n) => n.endsWith('.jsonl')))
    renameSync(state('spool', f), state('spool', f.replace(`.${process.pid}.`, `.${dead}.`)));

  const failed = await rayvault(t, ['baptism', '--full', '--confirm', '--json']);
  expect(failed.code).toBe(1);
  const report = json(failed);
  expect(report).toMatchObject({ level: 'B', verdict: 'FAIL' });
  expect(levels(report)).toEqual({
    infra: 'PASS',
    migrations: 'PASS',
    checkpoints: 'PASS',
    spool: 'FAIL',
    pids: 'FAIL',
    index: 'PASS',
    skip: 'PASS',
    orphans: 'PASS',
  });
  expect(report.checks.find((c: { name: string }) => c.name === 'pids').message).toMatch(
    /Mac-Ray-01 \(pid \d+ not running\)/,
  );
  expect(existsSync(report.files.json)).toBe(true);

  expect((await rayvault(t, ['clean'])).code).toBe(0);
  expect((await rayvault(t, ['replay-spool'])).code).toBe(0);
  const passed = await rayvault(t, ['baptism', '--full', '--confirm']);
  expect(passed.code).toBe(0);
  expect(passed.stdout).toMatch(/^BAPTISM B/);
  expect(passed.stdout).toMatch(/^PASS {2}spool +spool drained/m);
  expect(passed.stdout).toMatch(/^PASS {2}pids/m);
});

it('baptism B compares checkpoint files with the database steps', async () => {
  const run = await rt.store.createRun({ product: {}, actor: 'test' });
  const claim = await rt.store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'Mac-Ray-01' });
  for (const step of ['fetch', 'extract']) {
    await rt.store.checkpoint({
      runId: run.id,
      stage: 'evidence',
      fence: claim.run.fence,
      step,
      result: { step, n: 1 },
      eventId: `${run.id}:${step}`,
    });
  }
  const file = state('checkpoints', `${run.id}.json`);
  const write = (steps: Record<string, unknown>) =>
    writeFileSync(
      file,
      JSON.stringify({ run_id: run.id, stages: { evidence: { generation: 0, steps } }, updated_at: '' }),
    );

  write({ fetch: { n: 1, step: 'fetch' } }); // lost a step the database has
  const lagging = json(await rayvault(t, ['baptism', '--full', '--confirm', '--json']));
  expect(levels(lagging).checkpoints).toBe('FAIL');
  expect(lagging.checks.find((c: { name: string }) => c.name === 'checkpoints').message).toMatch(
    /database has extract the file lacks/,
  );

  write({ fetch: { step: 'fetch', n: 1 }, extract: { step: 'extract', n: 1 }, normalize: null }); // one ahead: a crash between the writes
  const ahead = await rayvault(t, ['baptism', '--full', '--confirm']);
  expect(ahead.code).toBe(0);
  expect(ahead.stdout).toMatch(/^WARN {2}checkpoints +.*file ahead by normalize/m);
  await rt.store.operatorAction({ runId: run.id, action: 'abort', actor: 'test' });
});

it('baptism A FAILs when a finished stage was run again (skip logic)', async () => {
  // What a worker without skip logic would leave: a claim of a stage after the run was done.
  await rt.pool.query(
    `INSERT INTO run_events (id, run_id, type, actor, payload) VALUES ('rerun-1', $1, 'stage_claimed', 'Mac-Ray-02', '{"stage":"render","attempt":1}')`,
    [doneRun],
  );
  const r = await rayvault(t, ['baptism']);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    new RegExp(`^FAIL  skip +run ${doneRun}: render claimed 1 time\\(s\\) after it finished`, 'm'),
  );
  expect(r.stdout).toMatch(/^verdict: FAIL$/m);
});
