// kill -9 and SIGTERM of real worker processes mid-stage.
import { submitRun, type Runtime } from '@rayvault/shared';
import { createTestEnv, spawnWorker, testRuntime, waitFor, type ChildWorker, type TestEnv } from '../support/harness';
import { readEffects } from '../support/test-processors';

let t: TestEnv;
let rt: Runtime;
const children: ChildWorker[] = [];

beforeAll(async () => {
  t = await createTestEnv('crash');
  rt = testRuntime(t, 'crash-observer');
});
afterEach(async () => {
  for (const c of children.splice(0))
    if (c.proc.exitCode === null) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
});
afterAll(() => rt.releasers.close());

const worker = (id: string) => {
  const c = spawnWorker(t, id);
  children.push(c);
  return c;
};
// A worker child compiles the sources through tsx at start: on a loaded machine that alone can take tens of seconds.
const ready = (c: ChildWorker) =>
  waitFor(`${c.workerId} ready`, () => c.output().includes('worker ready'), 60000).catch((err: Error) => {
    throw new Error(`${err.message}; its output:\n${c.output().slice(-3000)}`);
  });
const status = async (id: string) => (await rt.store.getRun(id))!;
const steps = (runId: string) => readEffects(t.stateDir, runId).map((l) => l.split(':').slice(0, 2).join(':'));

it('kill -9 mid-stage: another worker resumes from the checkpoint within the lease + a few seconds', async () => {
  const a = worker('crash-a');
  const b = worker('crash-b');
  await Promise.all([ready(a), ready(b)]);
  const run = await submitRun(rt, { product: { name: 'Kettle' }, input: { steps: 6, stepMs: 300 }, actor: 'test' });
  // Wait until some worker is in the middle of the voice stage, then kill that one.
  await waitFor('voice stage under way', () => steps(run.id).filter((s) => s.startsWith('voice')).length >= 2, 30000);
  const holder = (await status(run.id)).worker_id;
  const victim = holder === 'crash-a' ? a : b;
  const survivor = victim === a ? b : a;
  const before = readEffects(t.stateDir, run.id).length;
  victim.proc.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor('progress after the kill', () => readEffects(t.stateDir, run.id).length > before + 1, 20000, 50);
  const recoveryMs = Date.now() - killedAt;
  process.stdout.write(`kill -9 recovery: ${recoveryMs} ms (lease ${t.config.RAYVAULT_LEASE_MS} ms)\n`);
  await waitFor('run done', async () => (await status(run.id)).status === 'done', 60000);
  const done = await status(run.id);
  expect(done.events.filter((e) => e.type === 'stage_claimed').some((e) => e.actor === survivor.workerId)).toBe(true);
  const all = steps(run.id);
  const counts = new Map<string, number>();
  for (const s of all) counts.set(s, (counts.get(s) ?? 0) + 1);
  // Only the step in flight at the kill (not yet checkpointed) may run twice.
  expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
  expect([...counts.values()].every((n) => n <= 2)).toBe(true);
  expect(counts.size).toBe(24);
  expect(recoveryMs).toBeLessThan(t.config.RAYVAULT_LEASE_MS + 5000);
});

it('SIGTERM mid-stage: stops at a checkpoint within the grace period, releases the lock, exits 0', async () => {
  const a = worker('term-a');
  await ready(a);
  const run = await submitRun(rt, { product: { name: 'Kettle' }, input: { steps: 20, stepMs: 300 }, actor: 'test' });
  await waitFor('evidence under way', () => steps(run.id).length >= 2, 20000);
  const signalledAt = Date.now();
  a.proc.kill('SIGTERM');
  expect(await a.exited).toBe(0);
  const stopMs = Date.now() - signalledAt;
  process.stdout.write(`SIGTERM stop: ${stopMs} ms (grace ${t.config.RAYVAULT_SHUTDOWN_GRACE_MS} ms)\n`);
  expect(stopMs).toBeLessThan(t.config.RAYVAULT_SHUTDOWN_GRACE_MS + 3000);
  expect(await rt.locks.holder(run.id)).toBeNull();
  const doneBefore = steps(run.id);
  expect(doneBefore.length).toBeLessThan(20);
  // The job went back to the queue; a new worker finishes the run without repeating a step.
  const b = worker('term-b');
  await ready(b);
  await waitFor('run done', async () => (await status(run.id)).status === 'done', 60000);
  const all = steps(run.id);
  expect(new Set(all).size).toBe(all.length);
  expect(all.slice(0, doneBefore.length)).toEqual(doneBefore);
});
