// Who may do what: bearer tokens by role, browser sessions with CSRF, tokens
// stored hashed, and the error contract (JSON bodies, 400, 413, 429).
import { createHash } from 'node:crypto';
import { startApi, type Api } from './api-support';

let api: Api;
beforeAll(async () => {
  api = await startApi('ops-auth');
});
afterAll(() => api.close());

const RUN = '00000000-0000-4000-8000-000000000000';
/**
 * Every mutating route with the least role it needs. Bodies are empty: an allowed caller gets 4xx validation, so
 * nothing changes.
 */
const MUTATING: [string, string, 'operator' | 'admin'][] = [
  ['POST', '/api/runs', 'operator'],
  ['POST', `/api/runs/${RUN}/approve`, 'operator'],
  ['POST', `/api/runs/${RUN}/refetch`, 'operator'],
  ['POST', `/api/runs/${RUN}/abort`, 'operator'],
  ['POST', `/api/runs/${RUN}/resume`, 'operator'],
  ['POST', `/api/runs/${RUN}/unlock`, 'admin'],
  ['POST', '/api/dead-letters/evidence/nope/redrive', 'operator'],
  ['POST', '/api/ops/queues/evidence/pause', 'admin'],
  ['POST', '/api/ops/queues/evidence/resume', 'admin'],
  ['POST', '/api/ops/queues/evidence/purge', 'admin'],
  ['POST', '/api/ops/drain', 'admin'],
  ['POST', '/api/ops/resume', 'admin'],
  ['POST', '/api/tokens', 'admin'],
  ['POST', '/api/tokens/nobody/revoke', 'admin'],
];
const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

it('every mutating route: 401 without a token, 403 below its role, past auth at or above it', async () => {
  for (const [method, path, need] of MUTATING) {
    const anon = await api.call(method, path, { body: {} });
    expect([path, anon.status, anon.body.error.code]).toEqual([path, 401, 'unauthorized']);
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const res = await api.call(method, path, { token: api.tokens[role], body: {} });
      if (RANK[role] < RANK[need])
        expect([path, role, res.status, res.body.error.code]).toEqual([path, role, 403, 'forbidden']);
      else expect([path, role, res.status, [404, 422].includes(res.status)]).toEqual([path, role, res.status, true]);
    }
  }
  // Nothing above changed anything: no run, intake open, queue not paused.
  expect((await api.call('GET', '/api/runs', { token: api.tokens.viewer })).body.total).toBe(0);
  const q = await api.call('GET', '/api/ops/queues', { token: api.tokens.viewer });
  expect(q.body.intake.paused).toBe(false);
  expect(q.body.queues.evidence.is_paused).toBe(false);
  // Reads need a token but no more than viewer; Bull Board is for admins only.
  for (const path of ['/api/runs', '/api/ops/queues', '/api/dead-letters', '/api/ops/events', '/api/me']) {
    expect([path, (await api.call('GET', path)).status]).toEqual([path, 401]);
    expect([path, (await api.call('GET', path, { token: api.tokens.viewer })).status]).toEqual([path, 200]);
  }
  expect((await api.call('GET', '/api/tokens', { token: api.tokens.operator })).status).toBe(403);
  expect((await api.call('GET', '/admin/queues', { token: api.tokens.operator })).status).toBe(403);
  const board = await api.call('GET', '/admin/queues', { token: api.tokens.admin });
  expect(board.status).toBe(200);
  expect(board.headers.get('content-type')).toMatch(/html/);
  expect(
    (await api.call('GET', '/admin/queues/api/queues', { token: api.adminToken })).body.queues
      .map((x: { name: string }) => x.name)
      .sort(),
  ).toEqual(['alerts', 'evidence', 'qc', 'render', 'voice']);
});

it('tokens are stored as sha256 hashes only; a revoked token stops working at once', async () => {
  const created = await api.call('POST', '/api/tokens', {
    token: api.adminToken,
    body: { name: 'ci-bot', role: 'operator' },
  });
  expect(created.status).toBe(201);
  const token = created.body.token as string;
  expect(created.body).toMatchObject({ name: 'ci-bot', role: 'operator', created_by: 'bootstrap-admin' });
  expect(created.body).not.toHaveProperty('hash');
  const { rows } = await api.rt.pool.query(
    `SELECT row_to_json(t)::text AS row, hash FROM api_tokens t WHERE name = 'ci-bot'`,
  );
  expect(rows).toHaveLength(1);
  expect(rows[0].row).not.toContain(token);
  expect(rows[0].hash).toBe(createHash('sha256').update(token).digest('hex'));
  const dump = await api.rt.pool.query(`SELECT string_agg(row_to_json(t)::text, '') AS all FROM api_tokens t`);
  for (const t of [token, ...Object.values(api.tokens), api.adminToken]) expect(dump.rows[0].all).not.toContain(t);

  expect((await api.call('GET', '/api/me', { token })).body).toMatchObject({ name: 'ci-bot', role: 'operator' });
  expect(
    (await api.call('POST', '/api/tokens', { token: api.adminToken, body: { name: 'ci-bot', role: 'viewer' } })).status,
  ).toBe(409);
  const list = await api.call('GET', '/api/tokens', { token: api.tokens.admin });
  expect(list.body.tokens.map((x: { name: string }) => x.name)).toContain('ci-bot');
  expect(JSON.stringify(list.body)).not.toContain(token);
  expect(
    (await api.call('POST', '/api/tokens/ci-bot/revoke', { token: api.tokens.admin, body: { reason: 'rotated' } }))
      .status,
  ).toBe(200);
  expect(await api.call('GET', '/api/me', { token })).toMatchObject({
    status: 401,
    body: { error: { code: 'unauthorized' } },
  });
  const events = await api.call('GET', '/api/ops/events', { token: api.tokens.viewer });
  expect(events.body.events.map((e: { type: string; actor: string }) => `${e.type}:${e.actor}`)).toEqual(
    expect.arrayContaining([`token_created:bootstrap-admin`, `token_revoked:admin-ops-auth`]),
  );
});

it('a browser logs in once: httpOnly SameSite=Strict cookie, and mutations need the CSRF header', async () => {
  expect((await api.call('POST', '/login', { body: { token: 'wrong' } })).status).toBe(401);
  const login = await api.call('POST', '/login', { body: { token: api.tokens.operator } });
  expect(login.status).toBe(200);
  const setCookie = login.headers.get('set-cookie')!;
  expect(setCookie).toMatch(/^rv_session=[^;]+;/);
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  const cookie = setCookie.split(';')[0];
  const csrf = login.body.csrf as string;
  expect((await api.call('GET', '/api/me', { headers: { cookie } })).body).toMatchObject({
    name: 'operator-ops-auth',
    role: 'operator',
    via: 'session',
    csrf,
  });
  const product = {
    product: { name: 'Kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }] },
    input: { steps: 1 },
  };
  const noCsrf = await api.call('POST', '/api/runs', { headers: { cookie }, body: product });
  expect(noCsrf).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  const badCsrf = await api.call('POST', '/api/runs', {
    headers: { cookie, 'x-csrf-token': 'x'.repeat(csrf.length) },
    body: product,
  });
  expect(badCsrf.status).toBe(403);
  const ok = await api.call('POST', '/api/runs', { headers: { cookie, 'x-csrf-token': csrf }, body: product });
  expect(ok.status).toBe(201);
  expect((await api.call('GET', `/api/runs/${ok.body.id}`, { token: api.tokens.viewer })).body.events).toEqual([
    expect.objectContaining({ type: 'run_created', actor: 'operator-ops-auth' }),
  ]);
  expect((await api.call('POST', '/logout', { headers: { cookie } })).status).toBe(204);
  expect((await api.call('GET', '/api/me', { headers: { cookie } })).status).toBe(401);
});

it('errors are JSON with a code and no stack: 400 bad JSON, 413 too large, 404 unknown route', async () => {
  const bad = await api.call('POST', '/api/runs', { token: api.tokens.operator, body: '{"product": ' });
  expect(bad).toMatchObject({
    status: 400,
    body: { error: { code: 'bad_request', message: expect.stringMatching(/JSON/) } },
  });
  const big = await api.call('POST', '/api/runs', {
    token: api.tokens.operator,
    body: { product: { name: 'x', blob: 'a'.repeat(70 * 1024) } },
  });
  expect(big).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  const missing = await api.call('GET', '/api/nothing-here', { token: api.tokens.viewer });
  expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  const invalid = await api.call('POST', '/api/runs', { token: api.tokens.operator, body: { product: {} } });
  expect(invalid).toMatchObject({
    status: 422,
    body: { error: { code: 'invalid_input', message: expect.stringMatching(/product\.name/) } },
  });
  for (const r of [bad, big, missing, invalid]) expect(JSON.stringify(r.body)).not.toMatch(/at .*\.(ts|js):\d+/);
});

it('too many requests from one address get 429', async () => {
  const limited = await startApi('ops-limit', { t: api.t, options: { rateLimitPerMin: 5 } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await limited.call('GET', '/api/runs', { token: limited.tokens.viewer })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const res = await limited.call('GET', '/api/runs', { token: limited.tokens.viewer });
    expect(res.body).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await limited.call('GET', '/healthz')).status).toBe(429); // every route counts, health included
  } finally {
    await limited.close();
  }
});
