// The lifecycle store parses each answer (no database: an rpc double answers):
// a wrong shape is refused naming the SQL function; columns the types do not
// name pass through; a run's jsonb is checked in place, never copied.
import { createStore } from './store';
import type { Rpc } from './types';

const RUN = '00000000-0000-4000-8000-000000000001';
const run = {
  id: RUN,
  status: 'running',
  stage: 'voice',
  attempt: 1,
  fence: 7,
  worker_id: 'w1',
  worker_last_error: null,
  panic_kind: null,
  force_refetch: false,
  refetch_count: 0,
  trace_id: null,
  traceparent: null,
  product: { name: 'Lamp' },
  input: {},
  output: { evidence: { claims: [1, 2, 3] } },
  created_at: '2026-12-02T02:00:00+00:00',
  updated_at: '2026-12-02T02:01:00+00:00',
};

const answering =
  (answer: unknown): Rpc =>
  async () =>
    answer;
const claim = { runId: RUN, stage: 'voice', attempt: 1, workerId: 'w1' } as const;
const complete = { runId: RUN, stage: 'voice', fence: 7, output: {}, next: 'render', eventId: 'e1' } as const;

describe('lifecycle store answers', () => {
  it('refuses a claim answered without its run, naming the function and the field', async () => {
    const store = createStore(answering({ stale: false, steps: {} }));
    await expect(store.claimStage(claim)).rejects.toThrow(/rv_claim_stage answered in an unexpected shape[\s\S]*run/);
  });

  it('refuses a completed run whose status is not a run status', async () => {
    const store = createStore(answering({ ...run, status: 'finished' }));
    await expect(store.completeStage(complete)).rejects.toThrow(/rv_complete_stage answered in an unexpected shape/);
  });

  it('refuses a jsonb column that is not an object', async () => {
    const store = createStore(answering({ ...run, output: 'evidence done' }));
    await expect(store.completeStage(complete)).rejects.toThrow(/expected a JSON object/);
  });

  it('hands back a run with its jsonb as answered (not copied) and unnamed columns kept', async () => {
    const answer = { ...run, added_later: 1 };
    const claimed = await createStore(answering({ stale: false, run: answer, steps: { tts: 'ok' } })).claimStage(claim);
    expect(claimed.run.output).toBe(answer.output);
    expect(claimed.run).toMatchObject({ id: RUN, fence: 7, added_later: 1 });
    expect(claimed.steps).toEqual({ tts: 'ok' });
  });

  it('lists runs with their product name and without product, input and output', async () => {
    const { product: _p, input: _i, output: _o, ...listed } = run;
    const store = createStore(answering([{ ...listed, product_name: 'Lamp' }]));
    expect(await store.listRuns()).toEqual([expect.objectContaining({ id: RUN, product_name: 'Lamp' })]);
  });

  it('reads a missing run as null and a stopped unknown worker as null', async () => {
    const store = createStore(answering(null));
    expect(await store.getRun(RUN)).toBeNull();
    expect(await store.workerStopped('w9')).toBeNull();
  });
});
