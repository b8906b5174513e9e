// voice → render → qc through real queues on real Redis and Postgres, with real
// espeak-ng, ffmpeg and ffprobe. The evidence stage is a trivial processor that
// returns the product claims, so these tests need no source pages.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  createWorkerHost,
  runOperatorAction,
  submitRun,
  type RunDetail,
  type Runtime,
  type StageProcessor,
  type WorkerHost,
} from '@rayvault/shared';
import { createMediaProcessors, probeMedia, type QcOutput, type RenderOutput } from '@rayvault/render-worker';
import { loadMediaConfig } from '../../services/render-worker/src/config.schema';
import { createTestEnv, ROOT, testRuntime, waitFor, type TestEnv } from '../support/harness';

// Real encodes on a shared 2-core machine: generous limits, no timing asserts.
jest.setTimeout(120_000);

let t: TestEnv;
let rt: Runtime;
let host: WorkerHost;

const PRODUCT = { name: 'Kettle Pro', brand: 'Acme', price: 39.9, currency: 'USD', voltage: '220 V' };
const evidence: StageProcessor = async () => ({ output: { product: PRODUCT } });

beforeAll(async () => {
  t = await createTestEnv('media-pipeline');
  rt = testRuntime(t, 'w-media');
  const config = loadMediaConfig({ ...t.env, RAYVAULT_RENDER_SIZE: '640x360' });
  host = createWorkerHost(rt, { processors: { evidence, ...createMediaProcessors(rt, config) }, concurrency: 1 });
  await host.start();
});
afterAll(async () => {
  await host.close(1000);
  await rt.releasers.close();
});

const SCRIPT = [
  { text: 'Meet the Acme Kettle Pro.', target_s: 2 },
  { text: 'Trusted sources list it at thirty nine dollars and ninety cents.', target_s: 4 },
  { text: 'That is the Kettle Pro. The sources are in the description.', target_s: 4 },
];
const submit = (input: object = {}) => submitRun(rt, { product: { name: 'Kettle Pro' }, input, actor: 'test' });
const detail = async (id: string) => (await rt.store.getRun(id))!;
const until = (id: string, status: string, ms = 60000) =>
  waitFor(
    `run ${id} ${status}`,
    async () => {
      const r = await detail(id);
      return r.status === status ? r : null;
    },
    ms,
  );
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const alertsOf = async (runId: string) =>
  (await rt.alerter.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']))
    .filter((j) => j.data.runId === runId)
    .map((j) => j.data);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'cli/src/main.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, ...t.env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function expectDoneMedia(run: RunDetail, segments: number) {
  expect(run.stages.map((s) => [s.stage, s.status])).toEqual([
    ['evidence', 'done'],
    ['voice', 'done'],
    ['render', 'done'],
    ['qc', 'done'],
  ]);
  const qc = run.output.qc as QcOutput;
  expect(qc.contract.pass).toBe(true);
  expect(qc.timeline.rows).toHaveLength(segments);
  expect(qc.timeline.rows.every((r) => r.status === 'READY')).toBe(true);
  return { qc, render: run.output.render as RenderOutput };
}

it('a run with a script reaches done: every segment READY, sha8-named MP4s ffprobe accepts, indexed, credits ledgered', async () => {
  const run = await submit({ script: SCRIPT });
  const done = await until(run.id, 'done');
  const { qc, render } = expectDoneMedia(done, 3);
  for (const seg of render.segments) {
    expect(path.dirname(seg.path)).toBe(path.join(t.stateDir, 'final'));
    expect(path.basename(seg.path)).toBe(
      `${run.id.slice(0, 8)}-seg0${seg.segment}-${sha256(seg.path).slice(0, 8)}.mp4`,
    );
    const probe = await probeMedia(seg.path);
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(Math.abs(probe.duration_s - SCRIPT[seg.segment - 1]!.target_s)).toBeLessThanOrEqual(1.6);
  }
  // Cumulative timeline: each segment starts where the previous ended.
  expect(qc.timeline.rows[1]!.start_s).toBe(qc.timeline.rows[0]!.end_s);
  expect(qc.timeline.total_s).toBe(qc.timeline.rows[2]!.end_s);
  const { rows: artifacts } = await rt.pool.query(
    'SELECT segment, path, sha256 FROM artifacts WHERE run_id = $1 ORDER BY segment',
    [run.id],
  );
  expect(artifacts.map((a) => [a.segment, a.path, a.sha256])).toEqual(
    render.segments.map((s) => [s.segment, s.path, s.sha256]),
  );
  const { rows: credits } = await rt.pool.query('SELECT provider, credits FROM credits_ledger WHERE run_id = $1', [
    run.id,
  ]);
  expect(credits).toEqual([
    { provider: 'local', credits: '0' },
    { provider: 'local', credits: '0' },
    { provider: 'local', credits: '0' },
  ]);
  const csv = readFileSync(qc.csv_path, 'utf8').trim().split('\n');
  expect(csv[0]).toBe('segment,file,start_s,end_s,duration_s,target_s,drift_s,status');
  expect(csv.slice(1, 4).every((l) => l.endsWith(',READY'))).toBe(true);
  expect(csv[4]).toMatch(/^TOTAL,.*3 READY \/ 0 MISSING$/);

  // The operator's view: timeline and check-contract agree; a lost file is a CONTRACT FAIL.
  const ok = await cli(['check-contract', run.id, '--json']);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ pass: true, problems: [] });
  rmSync(render.segments[1]!.path);
  const fail = await cli(['check-contract', run.id]);
  expect(fail.code).toBe(1);
  expect(fail.stdout).toMatch(/CONTRACT FAIL[\s\S]*segment 2 MISSING \(file missing/);
  const csvFile = path.join(t.stateDir, 'editor.csv');
  const tl = await cli(['timeline', run.id, '--csv', csvFile]);
  expect(tl.code).toBe(0);
  expect(tl.stdout).toBe(readFileSync(csvFile, 'utf8'));
  expect(tl.stdout).toMatch(/^2,.*,MISSING$/m);
  expect(tl.stdout).toMatch(/^TOTAL,.*2 READY \/ 1 MISSING$/m);
});

it('without a script, the narration is a template over the evidence claims and the run reaches done', async () => {
  const run = await submit();
  const done = await until(run.id, 'done');
  expectDoneMedia(done, 4); // intro, price, specs, outro
  const voice = done.output.voice as { segments: { text: string }[] };
  expect(voice.segments.map((s) => s.text).join(' ')).toMatch(/Acme.*39.9 US dollars.*220 volts/);
});

it('a voice target no rate can meet stops the run in panic_voice_contract_drift; after a text fix, resume narrates only that segment', async () => {
  const script = [SCRIPT[0]!, { text: 'Hi.', target_s: 40 }];
  const run = await submit({ script });
  const panicked = await until(run.id, 'panic');
  expect(panicked.panic_kind).toBe('panic_voice_contract_drift');
  expect(panicked.worker_last_error).toMatch(/segment 2: .* for a target of 40 s/);
  expect(panicked.stages.find((s) => s.stage === 'render')).toBeUndefined();
  await waitFor('panic alert', async () =>
    (await alertsOf(run.id)).some((a) => a.kind === 'panic_voice_contract_drift'),
  );

  // The operator edits the segment's text, as the manual advises, and resumes.
  const fixed = [
    script[0],
    {
      text: 'Hi. The Acme Kettle Pro is a steel kettle that boils a litre in three minutes, and it switches off by itself.',
      target_s: 7,
    },
  ];
  await rt.pool.query(`UPDATE runs SET input = jsonb_set(input, '{script}', $2::jsonb) WHERE id = $1`, [
    run.id,
    JSON.stringify(fixed),
  ]);
  await runOperatorAction(rt, { runId: run.id, action: 'resume', actor: 'ray', reason: 'segment 2 text rewritten' });
  const done = await until(run.id, 'done');
  expectDoneMedia(done, 2);
  const voiceSteps = done.events
    .filter((e) => e.type === 'step_done' && e.payload.stage === 'voice')
    .map((e) => String(e.payload.step));
  expect(voiceSteps.filter((s) => s.startsWith('seg-01'))).toHaveLength(1); // segment 1 was not narrated again
  expect(voiceSteps.filter((s) => s.startsWith('seg-02'))).toHaveLength(1);
});

it('qc finding a rendered file gone raises CONTRACT FAIL and stops the run for the operator', async () => {
  await rt.queues.qc.pause();
  try {
    const run = await submit({ script: SCRIPT.slice(0, 2) });
    const atQc = await waitFor(
      'render done',
      async () => {
        const r = await detail(run.id);
        return r.stage === 'qc' && r.stages.some((s) => s.stage === 'render' && s.status === 'done') ? r : null;
      },
      60000,
    );
    rmSync((atQc.output.render as RenderOutput).segments[0]!.path);
    await rt.queues.qc.resume();
    const panicked = await until(run.id, 'panic');
    expect(panicked.panic_kind).toBe('panic_dzine_ui_failure');
    expect(panicked.worker_last_error).toMatch(/CONTRACT FAIL: segment 1 MISSING/);
    expect(panicked.events.find((e) => e.type === 'contract_fail')?.payload.problems).toEqual([
      expect.stringMatching(/segment 1 MISSING/),
    ]);
    const alert = await waitFor('contract_fail alert', async () =>
      (await alertsOf(run.id)).find((a) => a.kind === 'contract_fail'),
    );
    expect(alert.title).toBe(`CONTRACT FAIL: run ${run.id}`);
    // One incident, one alert: the generic panic alert is not sent on top of CONTRACT FAIL.
    expect((await alertsOf(run.id)).map((a) => a.kind)).toEqual(['contract_fail']);
    expect(readFileSync(path.join(t.stateDir, 'timelines', `${run.id}.csv`), 'utf8')).toMatch(/^1,.*,MISSING$/m);
  } finally {
    await rt.queues.qc.resume();
  }
});

it('leaves nothing behind in staging once segments are promoted', () => {
  const staging = path.join(t.stateDir, 'staging', 'render');
  const left = existsSync(staging)
    ? readdirSync(staging, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
    : [];
  expect(left).toEqual([]);
});
