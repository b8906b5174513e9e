// `rayvault report <run>`: credits, cost in USD and BRL, quality and stage
// timings, read from the ledger, the video index and run_stages.
import { rmSync } from 'node:fs';
import type { Runtime } from '@rayvault/shared';
import { createTestEnv, testRuntime, type TestEnv } from '../support/harness';
import { indexFinal, json, rayvault, writeFinal } from './cli-kit';

let t: TestEnv;
let rt: Runtime;
let runId: string;
const prices = { DZINE_CREDIT_PRICE_USD: '2', USD_BRL: '5.5' };

beforeAll(async () => {
  t = await createTestEnv('cli-report');
  rt = testRuntime(t, 'cli-report');
  runId = (await rt.store.createRun({ product: { name: 'Kettle X1' }, actor: 'test' })).id;
  // What the stages leave behind: the voice script, two rendered segments (one file since lost), credits, stage times.
  const voice = { segments: [1, 2, 3].map((segment) => ({ segment, target_s: 4 })) };
  await rt.pool.query(`UPDATE runs SET status = 'running', stage = 'qc', output = $2 WHERE id = $1`, [
    runId,
    { voice },
  ]);
  const one = writeFinal(t.stateDir, runId, 1, 'segment one');
  const two = writeFinal(t.stateDir, runId, 2, 'segment two');
  await indexFinal(rt.pool, runId, 1, one, { duration_s: 4.25, target_s: 4 });
  await indexFinal(rt.pool, runId, 2, two, { duration_s: 3.9, target_s: 4 });
  rmSync(two.path);
  for (const [id, provider, credits] of [
    ['c1', 'dzine', 4],
    ['c2', 'dzine', 2.5],
    ['c3', 'local', 0],
  ] as const) {
    await rt.pool.query('INSERT INTO credits_ledger (id, run_id, provider, credits) VALUES ($1, $2, $3, $4)', [
      `${runId}:${id}`,
      runId,
      provider,
      credits,
    ]);
  }
  for (const [stage, from, to] of [
    ['evidence', 0, 10],
    ['voice', 10, 30],
    ['render', 30, 90],
    ['qc', 90, null],
  ] as const) {
    await rt.pool.query(
      `INSERT INTO run_stages (run_id, stage, status, attempt, fence, worker_id, started_at, finished_at)
      VALUES ($1, $2, $3, 1, 1, 'Mac-Ray-01', to_timestamp(1700000000 + $4::int), to_timestamp(1700000000 + $5::int))`,
      [runId, stage, to === null ? 'running' : 'done', from, to],
    );
  }
});
afterAll(() => rt.releasers.close());

it('reports credits, cost in USD and BRL, quality and stage timings as JSON', async () => {
  const r = await rayvault(t, ['report', runId, '--json'], prices);
  expect(r.code).toBe(0);
  const report = json(r);
  expect(report).toMatchObject({
    run_id: runId,
    status: 'running',
    product: 'Kettle X1',
    credits: { total: 6.5, entries: 3, by_provider: { dzine: 6.5, local: 0 } },
    cost: { credit_price_usd: 2, usd_brl: 5.5, usd: 13, brl: 71.5 },
    quality: {
      segments_total: 3,
      segments_ready: 1,
      segments_missing: 2,
      duration_s: 4.25,
      target_s: 12,
      drift_s: 0.25,
    },
  });
  expect(
    report.quality.segments.map((s: { status: string; problem?: string }) => [s.status, s.problem ?? null]),
  ).toEqual([
    ['READY', null],
    ['MISSING', 'file missing'],
    ['MISSING', 'not rendered'],
  ]);
  expect(
    report.timings.stages.map((s: { stage: string; duration_s: number | null }) => [s.stage, s.duration_s]),
  ).toEqual([
    ['evidence', 10],
    ['voice', 20],
    ['render', 60],
    ['qc', null],
  ]);
  expect(report.timings.wall_s).toBeNull(); // qc has not finished
});

it('prints the same for humans, and takes the run8 of a final file name', async () => {
  const r = await rayvault(t, ['report', runId.slice(0, 8)], prices);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`REPORT run ${runId} (Kettle X1)`);
  expect(r.stdout).toContain('credits  6.5 (dzine 6.5, local 0) x US$ 2.00 = US$ 13.00 = R$ 71.50 (USD_BRL 5.50)');
  expect(r.stdout).toMatch(/quality {2}1\/3 segments READY, 2 MISSING/);
  expect(r.stdout).toMatch(/seg01 {2}READY {3}4\.250 s {2}target 4\.000 s {2}drift \+0\.250/);
  expect(r.stdout).toMatch(/render {3}done {4}attempt 1 +60\.000 s {2}worker Mac-Ray-01/);
});

it('uses the configured defaults when the prices are not set', async () => {
  const report = json(await rayvault(t, ['report', runId, '--json']));
  expect(report.cost).toMatchObject({ credit_price_usd: 1.5, usd_brl: 5, usd: 9.75, brl: 48.75 });
});

it('a run that does not exist fails (exit 1); a malformed id is bad usage (exit 2)', async () => {
  const missing = await rayvault(t, ['report', '00000000-0000-4000-8000-000000000000', '--json']);
  expect(missing.code).toBe(1);
  expect(json(missing)).toEqual({ error: { code: 'not_found', message: expect.stringContaining('not found') } });
  const bad = await rayvault(t, ['report', 'RAY-99']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/not a run id/);
  expect((await rayvault(t, ['report'])).code).toBe(2);
});
