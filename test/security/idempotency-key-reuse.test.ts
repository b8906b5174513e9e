// Reusing an Idempotency-Key: a key seen once used to swallow every later
// action sent with it, on any run, as any action, by anyone (a 200 that did
// nothing). A key now names one request: the same run, action and caller.
// No worker runs here, so created runs stay queued until an action moves them.
import { startApi, type Api } from '../ops-api/api-support';

let api: Api;
beforeAll(async () => {
  api = await startApi('idem-reuse');
});
afterAll(() => api.close());

const create = async (): Promise<string> => {
  const res = await api.call('POST', '/api/runs', {
    token: api.tokens.operator,
    body: { product: { name: 'Kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }] } },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const act = (id: string, action: string, key: string, token = api.tokens.operator) =>
  api.call('POST', `/api/runs/${id}/${action}`, {
    token,
    body: { reason: 'idempotency drill' },
    headers: { 'idempotency-key': key },
  });
const events = async (id: string, type: string) =>
  (await api.rt.pool.query('SELECT actor FROM run_events WHERE run_id = $1 AND type = $2', [id, type])).rows.map(
    (r) => r.actor as string,
  );

describe('reusing an Idempotency-Key', () => {
  it('on another run: the action is taken on that run too', async () => {
    const [a, b] = [await create(), await create()];
    expect(await act(a, 'abort', 'key-1')).toMatchObject({ status: 200, body: { id: a, status: 'aborted' } });
    expect(await act(b, 'abort', 'key-1')).toMatchObject({ status: 200, body: { id: b, status: 'aborted' } });
    expect(await events(b, 'abort')).toEqual(['operator-idem-reuse']);
  });

  it('for another action on the same run: that action is decided on its own (here refused, 409), not answered as a duplicate', async () => {
    const a = await create();
    expect((await act(a, 'abort', 'key-2')).body.status).toBe('aborted');
    expect(await act(a, 'resume', 'key-2')).toMatchObject({
      status: 409,
      body: { error: { code: 'illegal_transition' } },
    });
  });

  it("by another caller on the same run and action: decided on its own, not answered with the first caller's result", async () => {
    const a = await create();
    expect((await act(a, 'abort', 'key-3')).body.status).toBe('aborted');
    expect((await act(a, 'abort', 'key-3', api.tokens.admin)).status).toBe(409);
    expect(await events(a, 'abort')).toEqual(['operator-idem-reuse']);
  });

  it('a retry of the same request (same key, run, action, caller) is still recorded once', async () => {
    const a = await create();
    expect((await act(a, 'abort', 'key-4')).body.status).toBe('aborted');
    expect(await act(a, 'abort', 'key-4')).toMatchObject({ status: 200, body: { id: a, status: 'aborted' } });
    expect(await events(a, 'abort')).toEqual(['operator-idem-reuse']);
  });

  it('an empty or oversized key is refused, and nothing is done', async () => {
    const a = await create();
    for (const key of ['', 'k'.repeat(256)]) {
      expect([key.length, (await act(a, 'abort', key)).body.error?.code]).toEqual([key.length, 'invalid_input']);
    }
    expect((await api.call('GET', `/api/runs/${a}`, { token: api.tokens.viewer })).body.status).toBe('queued');
  });
});
