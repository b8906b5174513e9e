// kill -9 of a real render-worker process mid-render: the restarted worker resumes
// at the first unfinished segment and renders no finished segment again.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createWorkerHost, submitRun, type Runtime, type StageProcessor, type WorkerHost } from '@rayvault/shared';
import { probeMedia, type RenderOutput } from '@rayvault/render-worker';
import { createTestEnv, ROOT, testRuntime, waitFor, type ChildWorker, type TestEnv } from '../support/harness';

// Real encodes on a shared 2-core machine: generous limits, no timing asserts.
jest.setTimeout(180_000);

let t: TestEnv;
let rt: Runtime;
let evidenceHost: WorkerHost;
const children: ChildWorker[] = [];

const evidence: StageProcessor = async () => ({ output: { product: { name: 'Kettle Pro', brand: 'Acme' } } });

beforeAll(async () => {
  t = await createTestEnv('media-crash', { RAYVAULT_RENDER_SIZE: '1280x720' });
  rt = testRuntime(t, 'crash-observer');
  evidenceHost = createWorkerHost(rt, { processors: { evidence } });
  await evidenceHost.start();
});
afterEach(async () => {
  for (const c of children.splice(0))
    if (c.proc.exitCode === null) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
});
afterAll(async () => {
  await evidenceHost.close(1000);
  await rt.releasers.close();
});

/** A render-worker process (test/support/media-worker-child.ts, or the service's own main) under `workerId`. */
function mediaWorker(
  workerId: string,
  script = 'test/support/media-worker-child.ts',
  extraEnv: Record<string, string> = {},
): ChildWorker {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...t.env, RAYVAULT_LOG_LEVEL: 'info', RAYVAULT_WORKER_ID: workerId, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const c = { proc, workerId, exited, output: () => out };
  children.push(c);
  return c;
}
const ready = (c: ChildWorker) => waitFor(`${c.workerId} ready`, () => c.output().includes('worker ready'), 30000);

const LINES = [
  'Meet the Acme Kettle Pro, a kettle built for people who drink a lot of tea.',
  'It holds one and a half litres and boils a full jug in about three minutes.',
  'The body is brushed steel, and the handle stays cool while the water boils.',
  'Trusted sources agree on the price, so nothing here needs a second look.',
  'It switches itself off when the water boils or when the jug runs dry.',
  'That is the Kettle Pro. The sources behind every claim are in the description.',
];
const SCRIPT = LINES.map((text) => ({ text, target_s: 4.5 }));

async function renderSteps(runId: string): Promise<string[]> {
  const run = (await rt.store.getRun(runId))!;
  return run.events
    .filter((e) => e.type === 'step_done' && e.payload.stage === 'render')
    .map((e) => String(e.payload.step));
}

it('kill -9 mid-render: the restarted worker resumes without re-rendering finished segments', async () => {
  const first = mediaWorker('render-a');
  await ready(first);
  const run = await submitRun(rt, { product: { name: 'Kettle Pro' }, input: { script: SCRIPT }, actor: 'test' });
  const before = await waitFor(
    'two segments rendered',
    async () => {
      const s = await renderSteps(run.id);
      return s.length >= 2 ? s : null;
    },
    60000,
    50,
  );
  first.proc.kill('SIGKILL');
  await first.exited;
  expect(before.length).toBeLessThan(SCRIPT.length); // killed mid-render, not after it
  const { rows: kept } = await rt.pool.query(
    'SELECT segment, path, sha256, created_at FROM artifacts WHERE run_id = $1 ORDER BY segment',
    [run.id],
  );
  const mtimes = new Map(kept.map((a) => [a.path as string, statSync(a.path).mtimeMs]));
  expect(kept.length).toBeGreaterThanOrEqual(before.length);

  // The operator restarts the worker (same id): it recovers its own run from the checkpoint.
  const restartedAt = Date.now();
  const second = mediaWorker('render-a');
  await ready(second);
  await waitFor('run done', async () => (await rt.store.getRun(run.id))!.status === 'done', 90000);
  process.stdout.write(
    `kill -9 mid-render: ${before.length} of ${SCRIPT.length} segments done at the kill; restart to done ${Date.now() - restartedAt} ms\n`,
  );
  const done = (await rt.store.getRun(run.id))!;

  // Finished segments were not rendered again: same index rows, same files, one record each.
  const { rows: after } = await rt.pool.query(
    'SELECT segment, path, sha256, created_at FROM artifacts WHERE run_id = $1 ORDER BY segment',
    [run.id],
  );
  for (const a of kept) {
    expect(after.find((x) => x.segment === a.segment)).toEqual(a);
    expect(statSync(a.path).mtimeMs).toBe(mtimes.get(a.path));
  }
  const recorded = done.events.filter((e) => e.type === 'artifact_recorded').map((e) => e.payload.segment);
  for (const a of kept) expect(recorded.filter((s) => s === a.segment)).toHaveLength(1);
  const steps = await renderSteps(run.id);
  for (const s of before) expect(steps.filter((x) => x === s)).toHaveLength(1);
  expect(
    done.events.filter((e) => e.type === 'stage_claimed' && e.payload.stage === 'render').length,
  ).toBeGreaterThanOrEqual(2);

  // Every segment is in final/, once, and ffprobe accepts it.
  const render = done.output.render as RenderOutput;
  expect(render.segments.map((s) => s.segment)).toEqual([1, 2, 3, 4, 5, 6]);
  const finals = readdirSync(path.join(t.stateDir, 'final')).filter((f) => f.startsWith(run.id.slice(0, 8)));
  expect(finals.sort()).toEqual(render.segments.map((s) => path.basename(s.path)).sort());
  for (const s of render.segments)
    expect((await probeMedia(s.path)).streams.some((x) => x.codec_name === 'h264')).toBe(true);
  expect((done.output.qc as { contract: { pass: boolean } }).contract.pass).toBe(true);
});

it('the render-worker service starts, consumes voice/render/qc, and exits 0 on SIGTERM; bad settings stop it with their names', async () => {
  const service = mediaWorker('render-svc', 'services/render-worker/src/main.ts');
  await waitFor('service ready', () => service.output().includes('render worker ready'), 30000);
  expect(service.output()).toMatch(/"provider":"local"/);
  service.proc.kill('SIGTERM');
  expect(await service.exited).toBe(0);
  const bad = mediaWorker('render-bad', 'services/render-worker/src/main.ts', {
    RAYVAULT_VOICE_TOLERANCE_S: 'soon',
    RAYVAULT_RENDER_PROVIDER: 'dzine',
  });
  expect(await bad.exited).toBe(1);
  expect(bad.output()).toMatch(/RAYVAULT_VOICE_TOLERANCE_S/);
  expect(bad.output()).toMatch(/RAYVAULT_RENDER_PROVIDER/);
});
