// A kill -9 takeover in the run's trace: two real worker processes (the test
// processors) export to the OTLP receiver double; the one holding the voice
// stage is killed mid-stage. Its claim and finished steps stay in the run's
// trace, and the survivor's try of the same stage joins that trace as a
// sibling, with a "stage resumed" event naming the new worker and fence.
import { spawn, type ChildProcess } from 'node:child_process';
import { startOtlpReceiverDouble, type OtlpReceiverDouble } from '../fixtures/otlp/otlp-receiver-double';
import {
  createTestEnv,
  ROOT,
  spawnWorker,
  testRuntime,
  waitFor,
  type ChildWorker,
  type TestEnv,
} from '../support/harness';
import { readEffects } from '../support/test-processors';
import type { Runtime } from '@rayvault/shared';
import { createReconciler } from '@rayvault/scheduler';

jest.setTimeout(120_000);

let t: TestEnv;
let rt: Runtime;
let otlp: OtlpReceiverDouble;
const children: ChildWorker[] = [];
const submitters: ChildProcess[] = [];

beforeAll(async () => {
  otlp = await startOtlpReceiverDouble();
  t = await createTestEnv('tracing-takeover');
  rt = testRuntime(t, 'takeover-observer');
});
afterAll(async () => {
  for (const c of children)
    if (c.proc.exitCode === null) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
  for (const p of submitters) if (p.exitCode === null) p.kill('SIGKILL');
  await rt?.releasers.close();
  await otlp?.close();
});

const otel = () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' });

/** Creates the run in a traced process of its own, as the API or the CLI would; resolves once it printed the run. */
function submitTraced(input: object): Promise<{ id: string; trace_id: string }> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `
    const s = require('./shared/src/index.ts');
    (async () => {
      await s.startTelemetry('submitter', process.env);
      const rt = s.createRuntime(s.loadConfig(process.env, { useDotenv: false }), s.createLogger('submitter', 'silent'), { workerId: 'submitter' });
      const run = await s.submitRun(rt, { product: { name: 'Kettle' }, input: ${JSON.stringify(input)}, actor: 'test' });
      console.log(JSON.stringify(run));
      await rt.releasers.close();
    })();`,
    ],
    { cwd: ROOT, env: { ...process.env, ...t.env, ...otel() }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  submitters.push(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) resolve(JSON.parse(line) as { id: string; trace_id: string });
    });
    proc.on('exit', (code) => reject(new Error(`submitter exited ${code}: ${out}`)));
  });
}

it("kill -9 mid-stage: both tries of the stage are in the run's trace, the takeover names its worker and fence", async () => {
  const workers = ['trace-a', 'trace-b'].map((id) => spawnWorker(t, id, otel()));
  children.push(...workers);
  await Promise.all(
    workers.map((c) => waitFor(`${c.workerId} ready`, () => c.output().includes('worker ready'), 30_000)),
  );
  const run = await submitTraced({ steps: 6, stepMs: 300 });
  expect(run.trace_id).toMatch(/^[0-9a-f]{32}$/);

  const voiceSteps = () => readEffects(t.stateDir, run.id).filter((l) => l.startsWith('voice')).length;
  await waitFor('voice stage under way', () => voiceSteps() >= 2, 30_000, 50);
  const holder = (await rt.store.getRun(run.id))!.worker_id;
  const victim = workers.find((c) => c.workerId === holder)!;
  if (!victim)
    throw new Error(
      `holder ${String(holder)}: ${JSON.stringify(readEffects(t.stateDir, run.id))} ${workers.map((w) => w.output().slice(-1500)).join('\n')}`,
    );
  const survivor = workers.find((c) => c !== victim)!;
  // Let the finished steps' spans leave the batch (100 ms here) before the kill.
  await new Promise((r) => setTimeout(r, 400));
  victim.proc.kill('SIGKILL');
  await victim.exited;
  await waitFor('run done', async () => (await rt.store.getRun(run.id))!.status === 'done', 60_000, 200);
  await waitFor(
    'qc exported',
    () => otlp.spans.some((s) => s.traceId === run.trace_id && s.name === 'stage qc'),
    20_000,
  );

  const spans = otlp.spans.filter((s) => s.traceId === run.trace_id);
  // The dead try took its claim from the evidence stage's hand-off: its finished steps, exported before it
  // died from its process, carry its fence. The takeover claimed for itself, under a later fence.
  const victimSteps = spans.filter(
    (s) =>
      s.name.startsWith('step ') &&
      s.attributes['rayvault.stage'] === 'voice' &&
      s.process === `worker-${victim.workerId}`,
  );
  expect(victimSteps.length).toBeGreaterThan(0);
  const victimFence = victimSteps[0]!.attributes['rayvault.fence'] as number;
  const claims = spans.filter((s) => s.name === 'stage claim' && s.attributes['rayvault.stage'] === 'voice');
  expect(claims.map((s) => s.attributes['rayvault.worker_id'])).toEqual([survivor.workerId]);
  const survivorClaim = claims[0]!;
  expect(survivorClaim.attributes['rayvault.fence'] as number).toBeGreaterThan(victimFence);

  // The takeover's stage span: a sibling of the dead try (same parent, the evidence stage), with the resume event.
  const voice = spans.filter(
    (s) =>
      s.name === 'stage voice' &&
      s.attributes['rayvault.worker_id'] === survivor.workerId &&
      s.attributes['rayvault.outcome'] === undefined,
  );
  expect(voice).toHaveLength(1);
  expect(spans.find((s) => s.spanId === voice[0]!.parentSpanId)?.name).toBe('stage evidence');
  const resumed = voice[0]!.events.find((e) => e.name === 'stage resumed');
  expect(resumed?.attributes).toMatchObject({
    'rayvault.worker_id': survivor.workerId,
    'rayvault.fence': survivorClaim.attributes['rayvault.fence'],
  });
  expect(resumed!.attributes['rayvault.resumed_steps'] as number).toBeGreaterThan(0);
  survivor.proc.kill('SIGKILL');
  await survivor.exited;
});

it("a run re-queued by the reconciler (its job lost) stays in its trace: the new job carries the run's trace context", async () => {
  const run = await submitTraced({ steps: 1, stepMs: 10 });
  const detail = (await rt.store.getRun(run.id))!;
  expect(detail.traceparent).toMatch(new RegExp(`^00-${run.trace_id}-[0-9a-f]{16}-01$`));
  // No worker runs now (the takeover test's are gone): the queued job is lost, as after a Redis that lost recent
  // writes.
  const jobId = `${run.id}:evidence:1`;
  await rt.queues.evidence.remove(jobId);
  expect(await rt.queues.evidence.getJob(jobId)).toBeUndefined();
  expect(await createReconciler(rt).pass()).toContain(run.id);
  expect((await rt.queues.evidence.getJob(jobId))?.data.traceparent).toBe(detail.traceparent);
});
