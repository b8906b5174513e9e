// Operator manual 001 §13, scenarios 2 and 3, as the operator runs them
// (`rayvault index refresh --force [--allow-missing-sha8]`, `make status`,
// `make maintenance`, the doctor) on a real render: voice → render → qc with
// real espeak-ng, ffmpeg and ffprobe, the harness's Postgres and Redis.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorkerHost, submitRun, type Runtime, type StageProcessor } from '@rayvault/shared';
import { createMediaProcessors, type RenderOutput } from '@rayvault/render-worker';
import { loadMediaConfig } from '../../services/render-worker/src/config.schema';
import { createTestEnv, ROOT, testRuntime, waitFor, type TestEnv } from '../support/harness';
import { json, rayvault, type CliResult } from './cli-kit';

// Real encodes on a shared 2-core machine: generous limits, no timing asserts.
jest.setTimeout(180_000);

let t: TestEnv;
let rt: Runtime;
let runId: string;
let finals: string[]; // segment 1..3, as the render stage named them
const backup = mkdtempSync(path.join(os.tmpdir(), 'rv-video-index-'));
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A Makefile verb as the manual writes it (`make status`), against this test's stack. */
function make(verb: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'make',
      ['-s', verb, `RAYVAULT=${process.execPath} ${path.join(ROOT, 'cli/bin/rayvault')}`],
      {
        cwd: ROOT,
        env: { ...process.env, ...t.env, RAYVAULT_LOG_LEVEL: 'silent' },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const entries = async () =>
  (
    await rt.pool.query(
      `SELECT segment, path, meta, probe_status, probe_error, probed_at, container, video_codec, audio_codec,
  width, height, duration_s FROM artifacts WHERE run_id = $1 AND stage = 'render' AND kind = 'video' ORDER BY segment`,
      [runId],
    )
  ).rows;

beforeAll(async () => {
  t = await createTestEnv('video-index');
  rt = testRuntime(t, 'w-video-index');
  const evidence: StageProcessor = async () => ({
    output: { product: { name: 'Kettle Pro', brand: 'Acme', price: 39.9, currency: 'USD' } },
  });
  const config = loadMediaConfig({ ...t.env, RAYVAULT_RENDER_SIZE: '320x180' });
  const host = createWorkerHost(rt, { processors: { evidence, ...createMediaProcessors(rt, config) }, concurrency: 1 });
  await host.start();
  const script = [
    { text: 'Meet the Kettle Pro.', target_s: 2 },
    { text: 'It boils fast.', target_s: 2 },
    { text: 'Sources below.', target_s: 2 },
  ];
  runId = (await submitRun(rt, { product: { name: 'Kettle Pro' }, input: { script }, actor: 'test' })).id;
  const run = await waitFor(
    'run done',
    async () => {
      const r = await rt.store.getRun(runId);
      return r?.status === 'done' ? r : null;
    },
    150_000,
  );
  await host.close(1000);
  finals = (run.output.render as RenderOutput).segments.map((s) => s.path);
  finals.forEach((f, i) => copyFileSync(f, path.join(backup, `seg${i + 1}.mp4`)));
});
afterAll(async () => {
  await rt.releasers.close();
  rmSync(backup, { recursive: true, force: true });
});
/** The good render of segment `n`, put back at `to` (the operator's backup). */
const restore = (n: number, to: string) => copyFileSync(path.join(backup, `seg${n}.mp4`), to);

it('the render stage records what ffprobe says of every final file', async () => {
  const rows = await entries();
  expect(rows).toHaveLength(3);
  for (const r of rows) {
    expect(r).toMatchObject({
      probe_status: 'ok',
      probe_error: null,
      video_codec: 'h264',
      audio_codec: 'aac',
      width: 320,
      height: 180,
    });
    expect(r.container).toMatch(/mp4/);
    expect(r.probed_at).toBeInstanceOf(Date);
    expect(r.duration_s).toBeGreaterThan(1);
  }
});

describe('scenario 2: the index looks strange (invalid paths, meta missing)', () => {
  it('refresh --force --allow-missing-sha8 relinks a renamed legacy file, fills missing meta, keeps a deleted file missing; make status agrees', async () => {
    const [one, two, three] = finals as [string, string, string];
    const legacy = path.join(path.dirname(two), `${runId.slice(0, 8)}-seg02.mp4`);
    renameSync(two, legacy); // same bytes, the name from before sha8 names
    rmSync(three);
    // An entry from before the index kept probe metadata.
    await rt.pool.query(
      `UPDATE artifacts SET probe_status = NULL, probed_at = NULL, container = NULL, video_codec = NULL WHERE path = $1`,
      [one],
    );

    const plain = json(await rayvault(t, ['index', 'refresh', '--force', '--json']));
    expect(plain.missing.map((m: { path: string }) => m.path)).toEqual([two, three]);
    expect(plain.refused.map((m: { path: string }) => m.path)).toEqual([legacy]); // a legacy name needs the flag
    expect(plain.relinked).toEqual([]);

    const fixed = await rayvault(t, ['index', 'refresh', '--force', '--allow-missing-sha8', '--json']);
    expect(fixed.code).toBe(1); // segment 3 is still gone
    const r = json(fixed);
    expect(r.relinked).toEqual([
      expect.objectContaining({ path: legacy, from: two, run_id: runId, segment: 2, legacy: true }),
    ]);
    expect(r.missing).toEqual([
      expect.objectContaining({ path: three, run_id: runId, segment: 3, reason: 'file not found' }),
    ]);
    expect([r.unattributed, r.refused, r.mismatched, r.probe_failed]).toEqual([[], [], [], []]);
    const rows = await entries();
    expect(rows.map((e) => e.path)).toEqual([one, legacy, three]);
    expect(rows[1].meta).toMatchObject({ legacy: true, relinked_from: two });
    expect(rows[0]).toMatchObject({ probe_status: 'ok', video_codec: 'h264' }); // meta probed again

    const status = await make('status');
    expect(status.code).not.toBe(0);
    expect(status.stdout).toMatch(
      /^index \(dry run\): 3 indexed, 2 ok, 1 missing, 0 mismatched, 0 refused, 0 to relink, 0 to add, 0 probe_failed/m,
    );
    expect(status.stdout).toMatch(new RegExp(`^  MISSING  ${esc(three)}  \\(file not found\\)`, 'm'));

    restore(3, three); // the operator puts the deleted render back
    const healthy = await make('status');
    expect(healthy.stdout).toMatch(
      /^index \(dry run\): 3 indexed, 3 ok, 0 missing, 0 mismatched, 0 refused, 0 to relink, 0 to add, 0 probe_failed/m,
    );
    expect(healthy.code).toBe(0);
    expect(json(await rayvault(t, ['orphans', '--json'])).orphans).toEqual([]);
  });
});

describe('scenario 3: many probe_failed in a row', () => {
  it('truncated finals are probe_failed in make maintenance, make status and the doctor, and ok again once the good files return', async () => {
    const current = (await entries()).map((e) => e.path as string);
    // an export cut short (an IO race, a bad codec)
    for (const f of current) truncateSync(f, Math.floor(statSync(f).size / 2));

    const maint = await make('maintenance');
    expect(maint.code).not.toBe(0);
    expect(maint.stdout).toMatch(/^index: 3 indexed, .* 3 probe_failed/m);
    for (const f of current) {
      expect(maint.stdout).toMatch(new RegExp(`^  PROBE    ${esc(f)}  \\(ok -> probe_failed\\)`, 'm'));
      expect(maint.stdout).toMatch(new RegExp(`^  PROBE_FAILED ${esc(f)}  \\(`, 'm'));
    }
    expect(maint.stdout).toMatch(/check `ffprobe -version`/);
    expect((await entries()).map((e) => e.probe_status)).toEqual(['probe_failed', 'probe_failed', 'probe_failed']);

    const status = await make('status');
    expect(status.code).not.toBe(0);
    expect(status.stdout).toMatch(/^index \(dry run\): .* 3 probe_failed/m);

    const doctor = json(await rayvault(t, ['doctor', '--health', '--json']));
    const finding = doctor.findings.find((f: { code: string }) => f.code === 'PROBE_FAILED_STREAK');
    expect(finding).toMatchObject({ area: 'pipeline', level: 'WARN', details: { probe_failed: 3, streak: 3 } });
    expect(finding.message).toMatch(
      /^3 probe_failed in a row .*check `ffprobe -version`.*make maintenance.*export\/codec/,
    );

    current.forEach((f, i) => restore(i + 1, f));
    const again = await make('maintenance');
    expect(again.stdout).toMatch(
      /^index: 3 indexed, 3 ok, 0 missing, 0 mismatched, 0 refused, 0 relinked, 0 added, 0 probe_failed/m,
    );
    for (const f of current)
      expect(again.stdout).toMatch(new RegExp(`^  PROBE    ${esc(f)}  \\(probe_failed -> ok\\)`, 'm'));
    expect(again.code).toBe(0);
    expect((await entries()).map((e) => e.probe_status)).toEqual(['ok', 'ok', 'ok']);
    const healthy = json(await rayvault(t, ['doctor', '--health', '--json']));
    expect(healthy.findings.filter((f: { code: string }) => f.code.startsWith('PROBE'))).toEqual([]);
    expect((await make('status')).code).toBe(0);
  });
});
