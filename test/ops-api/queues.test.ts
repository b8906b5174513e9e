// Queue triage, pause/resume, drain/resume intake, the confirmed purge and
// dead-letter re-drive, with a real worker host consuming the stage queues.
import { waitFor } from '../support/harness';
import type { TestInput } from '../support/test-processors';
import { startApi, startWorkers, type Api } from './api-support';

let api: Api;
let workers: Awaited<ReturnType<typeof startWorkers>>;
beforeAll(async () => {
  api = await startApi('ops-queues');
  workers = await startWorkers(api.t);
});
afterAll(async () => {
  await workers.close();
  await api.close();
});

const admin = (method: string, path: string, body?: unknown) =>
  api.call(method, path, { token: api.tokens.admin, body });
const create = (input: TestInput) =>
  api.call('POST', '/api/runs', {
    token: api.tokens.operator,
    body: {
      product: { name: 'Lamp', sources: [{ url: 'https://shop.example/p', tier: 5 }] },
      input: { steps: 1, ...input },
    },
  });
const statusOf = async (id: string) =>
  (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body.status as string;
const until = (id: string, status: string) =>
  waitFor(`run ${id} ${status}`, async () => (await statusOf(id)) === status);

it('shows status, per-queue counts, the live worker and intake', async () => {
  const id = (await create({})).body.id;
  await until(id, 'done');
  // The run is recorded done before BullMQ marks the qc job completed, and the worker's recorded job is cleared by its
  // next heartbeat: wait for both.
  const res = await waitFor('qc job completed, worker idle', async () => {
    const r = await api.call('GET', '/api/ops/queues', { token: api.tokens.viewer });
    return r.body.queues?.qc?.completed === 1 && r.body.workers?.[0]?.current_job === null ? r : null;
  });
  expect(res.body).toMatchObject({
    status: 'online',
    queues: {
      evidence: {
        waiting: 0,
        active: 0,
        delayed: 0,
        prioritized: 0,
        completed: 1,
        failed: 0,
        paused: 0,
        is_paused: false,
      },
      alerts: expect.any(Object),
    },
    workers: [{ id: 'w-ops', live: true, queues: ['evidence', 'voice', 'render', 'qc'], current_job: null }],
    scheduler: { scheduled_jobs: 0 },
    intake: { paused: false },
  });
  expect(['idle', 'active']).toContain(res.body.workers[0].state);
  expect(res.body.workers[0].heartbeat_age_ms).toBeGreaterThanOrEqual(0);
});

it('drain stops intake and lets queued work finish; resume takes runs again', async () => {
  const slow = (await create({ steps: 3, stepMs: 150 })).body.id;
  const drain = await admin('POST', '/api/ops/drain', { reason: 'redis upgrade' });
  expect(drain.status).toBe(200);
  expect(drain.body.intake).toMatchObject({ paused: true, by: 'admin-ops-queues', reason: 'redis upgrade' });
  expect(drain.body.remaining.runs_in_flight).toBe(1);
  expect(drain.body.remaining.drained).toBe(false);
  const refused = await create({});
  expect(refused).toMatchObject({
    status: 503,
    body: { error: { message: expect.stringMatching(/intake is paused .*resume intake/) } },
  });
  await until(slow, 'done');
  const after = await api.call('GET', '/api/ops/drain', { token: api.tokens.viewer });
  expect(after.body.remaining).toMatchObject({ jobs_total: 0, runs_in_flight: 0, drained: true });
  expect((await api.call('GET', '/api/ops/queues', { token: api.tokens.viewer })).body.status).toBe('degraded');
  expect((await admin('POST', '/api/ops/resume', { reason: 'upgrade done' })).body.intake).toEqual({ paused: false });
  const id = (await create({})).body.id;
  await until(id, 'done');
  const events = (await api.call('GET', '/api/ops/events', { token: api.tokens.viewer })).body.events;
  expect(events.slice(0, 2)).toMatchObject([
    { type: 'intake_resume', actor: 'admin-ops-queues', reason: 'upgrade done' },
    { type: 'intake_drain', reason: 'redis upgrade' },
  ]);
});

it('a paused queue holds its jobs until resumed; purge needs the queue name as confirmation', async () => {
  expect((await admin('POST', '/api/ops/queues/evidence/pause', { reason: 'inspect a source' })).body).toMatchObject({
    queue: 'evidence',
    is_paused: true,
  });
  const held = (await create({})).body.id;
  const purged = (await create({})).body.id;
  await waitFor(
    'both jobs waiting',
    async () => (await admin('GET', '/api/ops/queues')).body.queues.evidence.paused === 2,
  );
  expect(await statusOf(held)).toBe('queued');

  expect((await admin('POST', '/api/ops/queues/evidence/purge', { reason: 'bad batch' })).status).toBe(422);
  expect(
    (await admin('POST', '/api/ops/queues/evidence/purge', { reason: 'bad batch', confirm: 'voice' })).status,
  ).toBe(422);
  expect((await admin('POST', '/api/ops/queues/nope/pause', { reason: 'x' })).status).toBe(404);
  await api.rt.queues.evidence.remove(`${held}:evidence:1`); // keep one job aside, so the purge takes only the other
  const purge = await admin('POST', '/api/ops/queues/evidence/purge', { reason: 'bad batch', confirm: 'evidence' });
  expect(purge.body.removed).toEqual([`${purged}:evidence:1`]);
  await api.rt.queues.evidence.add(
    'evidence',
    { runId: held, stage: 'evidence', attempt: 1 },
    { jobId: `${held}:evidence:1` },
  );
  expect((await admin('POST', '/api/ops/queues/evidence/resume', { reason: 'source ok' })).body.is_paused).toBe(false);
  await until(held, 'done');
  expect(await statusOf(purged)).toBe('queued');
  const types = (await api.call('GET', '/api/ops/events', { token: api.tokens.viewer })).body.events
    .slice(0, 3)
    .map((e: { type: string; target: string }) => `${e.type}:${e.target}`);
  expect(types).toEqual(['queue_resume:evidence', 'queue_purge:evidence', 'queue_pause:evidence']);
});

it('a dead letter is listed and re-driven: the run resumes and finishes', async () => {
  const id = (await create({ failAt: 'voice' })).body.id;
  await until(id, 'failed');
  // The worker records the run as failed before BullMQ moves its job to the failed set: wait for the dead letter
  // itself.
  const list = await waitFor('dead letter listed', async () => {
    const res = await api.call('GET', '/api/dead-letters', { token: api.tokens.viewer });
    return res.body.counts.voice === 1 ? res : null;
  });
  expect(list.body.jobs).toEqual([
    expect.objectContaining({
      queue: 'voice',
      job_id: `${id}:voice:1`,
      run_id: id,
      attempts_made: 3,
      failed_reason: 'test failure at voice',
    }),
  ]);
  await api.rt.pool.query(`UPDATE runs SET input = input - 'failAt' WHERE id = $1`, [id]); // the operator fixed the cause
  const redrive = await api.call('POST', `/api/dead-letters/voice/${encodeURIComponent(`${id}:voice:1`)}/redrive`, {
    token: api.tokens.operator,
    body: { reason: 'provider back' },
  });
  expect(redrive).toMatchObject({
    status: 200,
    body: { run_id: id, outcome: expect.stringMatching(/resumed/), run: { status: 'queued', attempt: 2 } },
  });
  await until(id, 'done');
  expect((await api.call('GET', '/api/dead-letters', { token: api.tokens.viewer })).body.jobs).toEqual([]);
  const again = await api.call('POST', `/api/dead-letters/voice/${encodeURIComponent(`${id}:voice:1`)}/redrive`, {
    token: api.tokens.operator,
    body: { reason: 'again' },
  });
  expect(again.status).toBe(404);
  const run = (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body;
  expect(run.events.find((e: { type: string }) => e.type === 'resume')).toMatchObject({
    actor: 'operator-ops-queues',
    reason: 'provider back',
  });
});
