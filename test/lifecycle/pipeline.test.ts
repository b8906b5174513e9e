// The run lifecycle through real BullMQ queues on real Redis and Postgres,
// with the test processors registered in an in-process worker host.
import { createWorkerHost, runOperatorAction, submitRun, type Runtime, type WorkerHost } from '@rayvault/shared';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { allStepsProcessors, readEffects, type TestInput } from '../support/test-processors';

let t: TestEnv;
let rt: Runtime;
let host: WorkerHost;

beforeAll(async () => {
  t = await createTestEnv('pipeline');
  rt = testRuntime(t, 'w-pipeline');
  host = createWorkerHost(rt, { processors: allStepsProcessors(t.stateDir), concurrency: 4 });
  await host.start();
});
afterAll(async () => {
  await host.close(1000);
  await rt.releasers.close();
});

const submit = (input: TestInput) => submitRun(rt, { product: { name: 'Kettle' }, input, actor: 'test' });
const statusOf = async (id: string) => (await rt.store.getRun(id))!;
const until = (id: string, status: string, ms = 20000) =>
  waitFor(`run ${id} ${status}`, async () => ((await statusOf(id)).status === status ? statusOf(id) : null), ms);

it('a run goes through the four stages to done, each step once', async () => {
  const run = await submit({ steps: 2 });
  const done = await until(run.id, 'done');
  expect(done.stages.map((s) => [s.stage, s.status])).toEqual([
    ['evidence', 'done'],
    ['voice', 'done'],
    ['render', 'done'],
    ['qc', 'done'],
  ]);
  expect(readEffects(t.stateDir, run.id).map((l) => l.split(':').slice(0, 2).join(':'))).toEqual([
    'evidence:0',
    'evidence:1',
    'voice:0',
    'voice:1',
    'render:0',
    'render:1',
    'qc:0',
    'qc:1',
  ]);
  expect(done.events.filter((e) => e.type === 'stage_completed')).toHaveLength(3);
  expect(done.worker_id).toBeNull();
});

it('a gate stops the run at waiting_approval; approve carries it to done', async () => {
  const run = await submit({ steps: 1, gateAt: 'evidence' });
  const gated = await until(run.id, 'waiting_approval');
  const gate = gated.events.find((e) => e.type === 'gate_opened')!;
  expect(gate.payload.diff).toEqual([expect.objectContaining({ field: 'price' })]);
  expect(readEffects(t.stateDir, run.id).some((l) => l.startsWith('voice'))).toBe(false);
  await runOperatorAction(rt, {
    runId: run.id,
    action: 'approve',
    actor: 'ray',
    reason: 'checked the diff',
    expected: 'waiting_approval',
  });
  const done = await until(run.id, 'done');
  expect(done.events.find((e) => e.type === 'approve')).toMatchObject({ actor: 'ray', reason: 'checked the diff' });
});

it('refetch re-collects evidence with force_refetch, visible in events', async () => {
  const run = await submit({ steps: 1, gateAt: 'evidence' });
  await until(run.id, 'waiting_approval');
  const after = await runOperatorAction(rt, {
    runId: run.id,
    action: 'refetch',
    actor: 'ray',
    reason: 'source updated',
  });
  expect(after).toMatchObject({ status: 'running', attempt: 2, force_refetch: true });
  const done = await until(run.id, 'done');
  expect(done.events.filter((e) => e.type === 'stage_claimed' && e.payload.stage === 'evidence')).toHaveLength(2);
  expect(readEffects(t.stateDir, run.id).filter((l) => l.startsWith('evidence:0'))).toHaveLength(2);
});

it('abort stops a gated run; later actions on it are refused', async () => {
  const run = await submit({ steps: 1, gateAt: 'evidence' });
  await until(run.id, 'waiting_approval');
  await runOperatorAction(rt, { runId: run.id, action: 'abort', actor: 'ray', reason: 'bad product' });
  expect((await statusOf(run.id)).status).toBe('aborted');
  await expect(runOperatorAction(rt, { runId: run.id, action: 'approve', actor: 'ray' })).rejects.toThrow(
    /illegal transition|aborted/,
  );
});

it('a panic stops the run with the reason; resume continues from the checkpoint', async () => {
  const run = await submit({ steps: 2, panicAt: 'render', panicKind: 'panic_browser_frozen' });
  const panicked = await until(run.id, 'panic');
  expect(panicked.panic_kind).toBe('panic_browser_frozen');
  expect(panicked.worker_last_error).toMatch(/panic_browser_frozen: test panic at render/);
  // The operator fixes the cause (here: the input) and resumes.
  await rt.pool.query(`UPDATE runs SET input = input - 'panicAt' WHERE id = $1`, [run.id]);
  await runOperatorAction(rt, { runId: run.id, action: 'resume', actor: 'ray', reason: 'browser restarted' });
  await until(run.id, 'done');
  const effects = readEffects(t.stateDir, run.id).map((l) => l.split(':').slice(0, 2).join(':'));
  // Resume continues from the checkpoint: no step that finished before the panic runs again.
  expect(effects).toEqual(['evidence:0', 'evidence:1', 'voice:0', 'voice:1', 'render:0', 'render:1', 'qc:0', 'qc:1']);
});

it('transient failures retry with backoff, then the run fails and the job is kept as a dead letter', async () => {
  const run = await submit({ steps: 1, failAt: 'voice' });
  const failed = await until(run.id, 'failed');
  expect(failed.worker_last_error).toMatch(/test failure at voice/);
  // The run is marked failed first, then BullMQ moves the job to its failed set: two stores, one after the other.
  const job = await rt.queues.voice.getJob(`${run.id}:voice:1`);
  await waitFor('the job in the failed set', async () => (await job!.getState()) === 'failed');
  expect((await rt.queues.voice.getJob(`${run.id}:voice:1`))!.attemptsMade).toBe(3);
});

it('a duplicate delivery of a finished stage job has no effect', async () => {
  const run = await submit({ steps: 1 });
  await until(run.id, 'done');
  const before = await statusOf(run.id);
  await rt.queues.evidence
    .add('evidence', { runId: run.id, stage: 'evidence', attempt: 1 }, { jobId: `${run.id}:evidence:1-dup` })
    .catch(() => undefined);
  await rt.queues.voice.add('voice', { runId: run.id, stage: 'voice', attempt: 1 });
  await waitFor(
    'duplicate processed',
    async () => (await rt.queues.voice.getCompletedCount()) > 0 && (await rt.queues.voice.getWaitingCount()) === 0,
  );
  await new Promise((r) => setTimeout(r, 300));
  const after = await statusOf(run.id);
  expect(after.events.length).toBe(before.events.length);
  expect(after.fence).toBe(before.fence);
});
