// Runs through the API with a real worker host: create, list, show, operator
// actions with who and why, and refusals (404, 409) that change nothing.
import { waitFor } from '../support/harness';
import type { TestInput } from '../support/test-processors';
import { startApi, startWorkers, type Api } from './api-support';

let api: Api;
let workers: Awaited<ReturnType<typeof startWorkers>>;
beforeAll(async () => {
  api = await startApi('ops-runs');
  workers = await startWorkers(api.t);
});
afterAll(async () => {
  await workers.close();
  await api.close();
});

const create = async (input: TestInput, name = 'Kettle') => {
  const res = await api.call('POST', '/api/runs', {
    token: api.tokens.operator,
    body: { product: { name, sources: [{ url: 'https://shop.example/p', tier: 5 }] }, input: { steps: 1, ...input } },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const show = async (id: string) => (await api.call('GET', `/api/runs/${id}`, { token: api.tokens.viewer })).body;
const until = (id: string, status: string) =>
  waitFor(`run ${id} ${status}`, async () => ((await show(id)).status === status ? show(id) : null));
/** Everything the database holds about the run, to compare before and after a refused action. */
const snapshot = async (id: string) =>
  (
    await api.rt.pool.query(
      `SELECT (SELECT row_to_json(r) FROM runs r WHERE id = $1) AS run,
  (SELECT json_agg(e ORDER BY seq) FROM run_events e WHERE run_id = $1) AS events, (SELECT json_agg(s ORDER BY stage) FROM run_stages s WHERE run_id = $1) AS stages`,
      [id],
    )
  ).rows[0];

it('a created run goes to done; show has stages with durations, events, evidence and cost', async () => {
  const id = await create({});
  const run = await until(id, 'done');
  expect(run.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual([
    'evidence:done',
    'voice:done',
    'render:done',
    'qc:done',
  ]);
  expect(run.stages.every((s: { duration_s: number }) => s.duration_s >= 0)).toBe(true);
  expect(run.events[0]).toMatchObject({ type: 'run_created', actor: 'operator-ops-runs' });
  expect(run).toMatchObject({
    evidence: { gate: null, claims: [] },
    artifacts: [],
    cost: { credits: 0, usd: 0, brl: 0 },
  });
});

it('a gate shows its evidence diff; approve by an operator carries the run to done, recorded with who and why', async () => {
  const id = await create({ gateAt: 'evidence' }, 'Gated kettle');
  const gated = await until(id, 'waiting_approval');
  expect(gated.evidence.gate).toMatchObject({
    open: true,
    summary: 'price differs',
    diff: [
      {
        field: 'price',
        values: [
          { source: 'a', tier: 5, value: '10.00 USD' },
          { source: 'b', tier: 4, value: '12.00 USD' },
        ],
      },
    ],
  });
  expect((await api.call('POST', `/api/runs/${id}/approve`, { token: api.tokens.operator, body: {} })).status).toBe(
    422,
  );
  const approved = await api.call('POST', `/api/runs/${id}/approve`, {
    token: api.tokens.operator,
    body: { reason: 'checked the shop page', expected: 'waiting_approval' },
  });
  expect(approved).toMatchObject({ status: 200, body: { status: 'approved', stage: 'voice' } });
  const done = await until(id, 'done');
  expect(done.events.find((e: { type: string }) => e.type === 'approve')).toMatchObject({
    actor: 'operator-ops-runs',
    reason: 'checked the shop page',
  });
  expect(done.evidence.gate).toMatchObject({ open: false });
});

it('refetch and abort act on gated runs; abort by an operator is recorded', async () => {
  const refetched = await create({ gateAt: 'evidence' });
  await until(refetched, 'waiting_approval');
  expect(
    (
      await api.call('POST', `/api/runs/${refetched}/refetch`, {
        token: api.tokens.operator,
        body: { reason: 'shop fixed the price' },
      })
    ).body,
  ).toMatchObject({ status: 'running', force_refetch: true, attempt: 2 });
  await until(refetched, 'done');
  const aborted = await create({ gateAt: 'evidence' });
  await until(aborted, 'waiting_approval');
  expect(
    (
      await api.call('POST', `/api/runs/${aborted}/abort`, {
        token: api.tokens.operator,
        body: { reason: 'wrong product' },
      })
    ).body.status,
  ).toBe('aborted');
  expect((await show(aborted)).events.at(-1)).toMatchObject({
    type: 'abort',
    actor: 'operator-ops-runs',
    reason: 'wrong product',
  });
});

it('an illegal transition is 409 and an unknown run 404, and neither changes anything', async () => {
  const id = await create({});
  await until(id, 'done');
  const before = await snapshot(id);
  for (const action of ['approve', 'refetch', 'abort', 'resume']) {
    const res = await api.call('POST', `/api/runs/${id}/${action}`, {
      token: api.tokens.admin,
      body: { reason: 'try' },
    });
    expect([action, res.status, res.body.error.code]).toEqual([action, 409, 'illegal_transition']);
  }
  const stale = await api.call('POST', `/api/runs/${id}/abort`, {
    token: api.tokens.admin,
    body: { reason: 'stale page', expected: 'waiting_approval' },
  });
  expect(stale.status).toBe(409);
  expect(await snapshot(id)).toEqual(before);

  const unlock = await api.call('POST', `/api/runs/${id}/unlock`, {
    token: api.tokens.admin,
    body: { reason: 'stuck?' },
  });
  expect(unlock).toMatchObject({
    status: 409,
    body: { error: { code: 'illegal_transition', message: expect.stringMatching(/refused without force/) } },
  });
  const after = await snapshot(id);
  expect(after.run).toEqual(before.run);
  expect(after.events.at(-1)).toMatchObject({ type: 'force_unlock_refused', actor: 'admin-ops-runs' }); // the refusal itself is audited

  const counts = async () =>
    (await api.rt.pool.query(`SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM run_events) AS events`))
      .rows[0];
  const beforeCounts = await counts();
  const ghost = '11111111-1111-4111-8111-111111111111';
  for (const path of [`/api/runs/${ghost}`, '/api/runs/not-a-uuid'])
    expect((await api.call('GET', path, { token: api.tokens.viewer })).status).toBe(404);
  for (const action of ['approve', 'refetch', 'abort', 'resume', 'unlock']) {
    const res = await api.call('POST', `/api/runs/${ghost}/${action}`, {
      token: api.tokens.admin,
      body: { reason: 'ghost' },
    });
    expect([action, res.status, res.body.error.code]).toEqual([action, 404, 'not_found']);
  }
  expect(await counts()).toEqual(beforeCounts);
});

it('unlock is for admins, needs a reason, and with force clears a terminal run', async () => {
  const id = await create({});
  await until(id, 'done');
  expect(
    (
      await api.call('POST', `/api/runs/${id}/unlock`, {
        token: api.tokens.operator,
        body: { reason: 'x', force: true },
      })
    ).status,
  ).toBe(403);
  expect(
    (await api.call('POST', `/api/runs/${id}/unlock`, { token: api.tokens.admin, body: { force: true } })).status,
  ).toBe(422);
  const res = await api.call('POST', `/api/runs/${id}/unlock`, {
    token: api.tokens.admin,
    body: { reason: 'forensics', force: true },
  });
  expect(res.status).toBe(200);
  expect(res.body.run.worker_last_error).toBe('force unlock by admin-ops-runs: forensics');
});

it('a panic is resumed by an operator and the run finishes', async () => {
  const id = await create({ panicAt: 'voice', panicKind: 'panic_voice_contract_drift' });
  const panicked = await until(id, 'panic');
  expect(panicked.panic_kind).toBe('panic_voice_contract_drift');
  await api.rt.pool.query(`UPDATE runs SET input = input - 'panicAt' WHERE id = $1`, [id]);
  expect(
    (
      await api.call('POST', `/api/runs/${id}/resume`, {
        token: api.tokens.operator,
        body: { reason: 'text shortened' },
      })
    ).body.status,
  ).toBe('queued');
  await until(id, 'done');
});

it('lists runs filtered by status and stage, with paging', async () => {
  const all = await api.call('GET', '/api/runs?limit=2', { token: api.tokens.viewer });
  expect(all.body.runs).toHaveLength(2);
  const total = all.body.total as number;
  expect(total).toBeGreaterThan(4);
  const page2 = await api.call('GET', '/api/runs?limit=2&offset=2', { token: api.tokens.viewer });
  expect(page2.body.runs.map((r: { id: string }) => r.id)).not.toContain(all.body.runs[0].id);
  const done = await api.call('GET', '/api/runs?status=done&stage=qc&limit=500', { token: api.tokens.viewer });
  expect(done.body.runs.length).toBeGreaterThan(0);
  expect(done.body.runs.every((r: { status: string; stage: string }) => r.status === 'done' && r.stage === 'qc')).toBe(
    true,
  );
  expect(done.body.runs[0].stages).toHaveLength(4);
  expect((await api.call('GET', '/api/runs?status=aborted', { token: api.tokens.viewer })).body.total).toBe(1);
  expect((await api.call('GET', '/api/runs?status=sleeping', { token: api.tokens.viewer })).status).toBe(422);
});

it('searches by product name (any case, % and _ literal) or run id prefix', async () => {
  const milk = await create({}, 'Milk Frother 100% steel');
  const other = await create({}, 'Milk_Frother mini');
  const search = async (q: string) =>
    (await api.call('GET', `/api/runs?q=${encodeURIComponent(q)}&limit=500`, { token: api.tokens.viewer })).body as {
      total: number;
      runs: { id: string }[];
    };
  const ids = async (q: string) => (await search(q)).runs.map((r) => r.id).sort();
  expect(await ids('milk frother')).toEqual([milk].sort());
  expect(await ids('100%')).toEqual([milk]);
  expect(await ids('milk_')).toEqual([other]);
  expect(await ids(milk.slice(0, 8).toUpperCase())).toEqual([milk]);
  expect((await search('no such product anywhere')).total).toBe(0);
  expect((await api.call('GET', `/api/runs?q=${'x'.repeat(201)}`, { token: api.tokens.viewer })).status).toBe(422);
});

it('creates a bundled sample by name, and refuses file sources from remote callers', async () => {
  const created = await api.call('POST', '/api/runs', { token: api.tokens.operator, body: { sample: 'conflict' } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    status: 'queued',
    product: { name: expect.any(String) },
    input: { script: expect.any(Array) },
  });
  const unknown = await api.call('POST', '/api/runs', { token: api.tokens.operator, body: { sample: 'nope' } });
  expect(unknown).toMatchObject({ status: 422, body: { error: { code: 'invalid_input' } } });
  const sneaky = await api.call('POST', '/api/runs', {
    token: api.tokens.operator,
    body: { product: { name: 'x', sources: [{ file: '/etc/passwd', tier: 5 }] } },
  });
  expect(sneaky).toMatchObject({ status: 422, body: { error: { message: expect.stringMatching(/http\(s\) URLs/) } } });
});
