// Changing queues and jobs through Bull Board, past our audit and our purge
// confirmation. Read-only unless OPS_BULL_BOARD_WRITE=1, refused by the
// server whatever the UI shows; when writable, every change is audited
// before it is made, and a change that cannot be audited is not made.
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { createTestEnv, type TestEnv } from '../support/harness';
import { startApi, type Api } from '../ops-api/api-support';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv('bull-board-writes');
});

const BOARD = '/admin/queues/api/queues';
const reason = 'bull board drill';

/** A waiting evidence job (nothing consumes it: no worker runs here). */
async function waitingJob(api: Api): Promise<Job> {
  const runId = randomUUID();
  return api.rt.queues.evidence.add(
    'evidence',
    { runId, stage: 'evidence', attempt: 1 },
    { jobId: `${runId}:evidence:1` },
  );
}

describe('an admin changing jobs in Bull Board when it is read-only (the default)', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi('board-ro', { t });
  });
  afterAll(() => api.close());

  it('the board says every queue is read-only', async () => {
    const res = await api.call('GET', BOARD, { token: api.tokens.admin });
    expect(res.status).toBe(200);
    expect(
      res.body.queues.map((q: { name: string; readOnlyMode: boolean }) => [q.name, q.readOnlyMode]).sort(),
    ).toEqual([
      ['alerts', true],
      ['evidence', true],
      ['qc', true],
      ['render', true],
      ['voice', true],
    ]);
  });

  it('pause, pause all, add, edit, clean, empty and obliterate are refused with 403 by the server, and nothing changes', async () => {
    const job = await waitingJob(api);
    const q = api.rt.queues.evidence;
    const tries: Array<[string, string, unknown?]> = [
      ['PUT', `${BOARD}/evidence/pause`],
      ['PUT', `${BOARD}/pause`],
      ['POST', `${BOARD}/evidence/add`, { name: 'evil', data: { runId: randomUUID() } }],
      ['PATCH', `${BOARD}/evidence/${job.id}/update-data`, { jobData: { runId: 'tampered' } }],
      ['PUT', `${BOARD}/evidence/${job.id}/clean`],
      ['PUT', `${BOARD}/evidence/clean/waiting`],
      ['PUT', `${BOARD}/evidence/empty`],
      ['PUT', `${BOARD}/evidence/obliterate`],
    ];
    for (const [method, path, body] of tries) {
      const res = await api.call(method, path, { token: api.tokens.admin, body: body ?? {} });
      expect([method, path, res.status, res.body.error?.message]).toEqual([
        method,
        path,
        403,
        expect.stringMatching(/read-only.*OPS_BULL_BOARD_WRITE/),
      ]);
    }
    expect(await q.isPaused()).toBe(false);
    expect(await q.getWaitingCount()).toBe(1);
    expect((await q.getJob(job.id!))?.data).toEqual(job.data);
    await job.remove();
  });

  it("a browser session on the board's own page (same origin) is refused the same way", async () => {
    const login = await fetch(`${api.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: api.tokens.admin }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const res = await api.call('PUT', `${BOARD}/evidence/pause`, {
      headers: { cookie, origin: api.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(403);
    expect(await api.rt.queues.evidence.isPaused()).toBe(false);
  });
});

describe('an admin changing jobs in Bull Board with OPS_BULL_BOARD_WRITE=1', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi('board-rw', { t, options: { bullBoardWrite: true } });
  });
  afterAll(() => api.close());

  it('the change is made and the audit names who, how and what', async () => {
    const res = await api.call('PUT', `${BOARD}/voice/pause`, { token: api.adminToken, body: {} });
    expect(res.status).toBe(200);
    expect(await api.rt.queues.voice.isPaused()).toBe(true);
    const events = (await api.call('GET', '/api/ops/events?limit=5', { token: api.tokens.viewer })).body
      .events as Array<Record<string, any>>;
    expect(events.find((e) => e.type === 'bull_board')).toMatchObject({
      actor: 'bootstrap-admin',
      target: `${BOARD}/voice/pause`,
      payload: { method: 'PUT', role: 'admin', via: 'bearer' },
    });
    await api.call('POST', '/api/ops/queues/voice/resume', { token: api.adminToken, body: { reason } });
  });

  it('when the audit cannot be written, the change is refused (503) and not made', async () => {
    const signature = 'rv_ops_event(text, text, text, text, text, jsonb)';
    await api.rt.pool.query(`ALTER FUNCTION ${signature} RENAME TO rv_ops_event_gone`);
    try {
      const res = await api.call('PUT', `${BOARD}/render/pause`, { token: api.adminToken, body: {} });
      expect(res).toMatchObject({
        status: 503,
        body: { error: { code: 'dependency_unavailable', message: expect.stringMatching(/audit.*not made/) } },
      });
      expect(await api.rt.queues.render.isPaused()).toBe(false);
    } finally {
      await api.rt.pool.query(
        'ALTER FUNCTION rv_ops_event_gone(text, text, text, text, text, jsonb) RENAME TO rv_ops_event',
      );
    }
  });
});
