import pg from 'pg';
import { randomUUID } from 'node:crypto';
// One contract for every store adapter (pg, supabase): the lifecycle rules
// live in SQL, so both must behave identically.
import {
  createMediaStore,
  createOperationsStore,
  createStore,
  FencedWriteError,
  IllegalTransitionError,
  InvalidInputError,
  RunNotFoundError,
  RUN_STATUSES,
  TRANSITIONS,
  type MediaStore,
  type OperationsStore,
  type Rpc,
  type RunStatus,
  type Store,
} from '@rayvault/shared';
import { createDatabase } from './harness';
import { describeMediaContract } from './media-contract';
import { describeOperationsContract } from './operations-contract';

export type AdapterFactory = (databaseUrl: string) => Promise<{ rpc: Rpc; close: () => Promise<void> }>;

/** makeDatabase: a fresh migrated database (default: one on the shared harness Postgres). */
export function describeStoreContract(
  adapter: string,
  makeRpc: AdapterFactory,
  makeDatabase: () => Promise<string> = () => createDatabase(process.env.RV_TEST_PG_URL!, adapter),
): void {
  describe(`store contract: ${adapter}`, () => {
    let pool: pg.Pool;
    let store: Store;
    let ops: OperationsStore;
    let media: MediaStore;
    let rpc: Rpc;
    let close: () => Promise<void>;

    beforeAll(async () => {
      const url = await makeDatabase();
      pool = new pg.Pool({ connectionString: url });
      // An idle client the server drops is no failure of the store (a query that fails still fails its test).
      pool.on('error', () => undefined);
      const made = await makeRpc(url);
      store = createStore(made.rpc);
      ops = createOperationsStore(made.rpc);
      media = createMediaStore(made.rpc);
      rpc = made.rpc;
      close = made.close;
    });
    afterAll(async () => {
      await close();
      await pool.end();
    });

    async function runIn(status: RunStatus) {
      const run = await store.createRun({ product: { name: 'Test kettle' }, actor: 'test' });
      await pool.query('UPDATE runs SET status = $2 WHERE id = $1', [run.id, status]);
      return run.id;
    }
    const snapshot = async (id: string) => ({
      run: (await pool.query('SELECT * FROM runs WHERE id = $1', [id])).rows[0],
      events: Number((await pool.query('SELECT count(*) FROM run_events WHERE run_id = $1', [id])).rows[0].count),
    });

    describe('run status transitions', () => {
      const legal = RUN_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => [from, to] as const));
      const illegal = RUN_STATUSES.flatMap((from) =>
        RUN_STATUSES.filter((to) => !TRANSITIONS[from].includes(to)).map((to) => [from, to] as const),
      );

      it('the SQL table and the TypeScript table agree', async () => {
        const { rows } = await pool.query('SELECT from_status, to_status FROM run_transitions ORDER BY 1, 2');
        expect(rows.map((r) => `${r.from_status}->${r.to_status}`).sort()).toEqual(
          legal.map(([f, t]) => `${f}->${t}`).sort(),
        );
      });

      it.each(legal)('%s -> %s is accepted and writes one event', async (from, to) => {
        const id = await runIn(from);
        const before = await snapshot(id);
        const run = await store.transition({
          runId: id,
          to,
          fence: null,
          actor: 'test',
          reason: 'because',
          payload: { kind: 'panic_browser_frozen' },
          eventId: randomUUID(),
        });
        expect(run.status).toBe(to);
        expect((await snapshot(id)).events).toBe(before.events + 1);
        if (to === 'panic' || to === 'failed') expect(run.worker_last_error).toBe('because');
      });

      it.each(illegal)('%s -> %s is refused and changes nothing', async (from, to) => {
        const id = await runIn(from);
        const before = await snapshot(id);
        await expect(
          store.transition({ runId: id, to, fence: null, actor: 'test', eventId: randomUUID() }),
        ).rejects.toThrow(IllegalTransitionError);
        expect(await snapshot(id)).toEqual(before);
      });

      it('an unknown run is RunNotFoundError, a malformed id InvalidInputError', async () => {
        await expect(
          store.transition({ runId: randomUUID(), to: 'running', fence: null, actor: 't', eventId: randomUUID() }),
        ).rejects.toThrow(RunNotFoundError);
        await expect(store.getRun('not-a-uuid')).rejects.toThrow(InvalidInputError);
      });

      it('replaying a transition with the same event id changes nothing', async () => {
        const id = await runIn('running');
        const eventId = randomUUID();
        await store.transition({
          runId: id,
          to: 'panic',
          fence: null,
          actor: 't',
          reason: 'x',
          payload: { kind: 'panic_browser_frozen' },
          eventId,
        });
        const before = await snapshot(id);
        const again = await store.transition({ runId: id, to: 'panic', fence: null, actor: 't', reason: 'x', eventId });
        expect(again.status).toBe('panic');
        expect(await snapshot(id)).toEqual(before);
      });
    });

    describe('claim, checkpoint, complete', () => {
      it('walks a run through the four stages with growing fences', async () => {
        const run = await store.createRun({ product: { name: 'P' }, actor: 'test' });
        let fence = 0;
        for (const [stage, next] of [
          ['evidence', 'voice'],
          ['voice', 'render'],
          ['render', 'qc'],
          ['qc', null],
        ] as const) {
          const claim = await store.claimStage({ runId: run.id, stage, attempt: 1, workerId: 'w1' });
          expect(claim.stale).toBe(false);
          expect(claim.run.fence).toBeGreaterThan(fence);
          fence = claim.run.fence;
          await store.checkpoint({
            runId: run.id,
            stage,
            fence,
            step: 's1',
            result: { ok: 1 },
            eventId: `${run.id}:${stage}:1:s1`,
          });
          const after = await store.completeStage({
            runId: run.id,
            stage,
            fence,
            output: { stage },
            next,
            eventId: `${run.id}:${stage}:1:complete`,
          });
          expect(after.stage).toBe(next ?? 'qc');
        }
        const detail = (await store.getRun(run.id))!;
        expect(detail.status).toBe('done');
        expect(detail.stages.map((s) => [s.stage, s.status, s.steps])).toEqual([
          ['evidence', 'done', { s1: { ok: 1 } }],
          ['voice', 'done', { s1: { ok: 1 } }],
          ['render', 'done', { s1: { ok: 1 } }],
          ['qc', 'done', { s1: { ok: 1 } }],
        ]);
        expect(Object.keys(detail.output)).toEqual(expect.arrayContaining(['evidence', 'voice', 'render', 'qc']));
        expect(detail.events.map((e) => e.type)).toContain('run_done');
      });

      it('a job that no longer matches the run is reported stale and changes nothing', async () => {
        const run = await store.createRun({ product: { name: 'P' }, actor: 'test' });
        const before = await snapshot(run.id);
        const claim = await store.claimStage({ runId: run.id, stage: 'voice', attempt: 1, workerId: 'w1' });
        expect(claim.stale).toBe(true);
        expect(await snapshot(run.id)).toEqual(before);
      });

      it('a stale fence is refused for checkpoints, events and completion', async () => {
        const run = await store.createRun({ product: { name: 'P' }, actor: 'test' });
        const first = await store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'old' });
        await store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'new' });
        const before = await snapshot(run.id);
        const old = first.run.fence;
        await expect(
          store.checkpoint({
            runId: run.id,
            stage: 'evidence',
            fence: old,
            step: 'x',
            result: 1,
            eventId: randomUUID(),
          }),
        ).rejects.toThrow(FencedWriteError);
        await expect(
          store.appendEvent({ runId: run.id, fence: old, type: 'note', actor: 'old', eventId: randomUUID() }),
        ).rejects.toThrow(FencedWriteError);
        await expect(
          store.completeStage({
            runId: run.id,
            stage: 'evidence',
            fence: old,
            output: {},
            next: 'voice',
            eventId: randomUUID(),
          }),
        ).rejects.toThrow(FencedWriteError);
        await expect(
          store.transition({ runId: run.id, to: 'panic', fence: old, actor: 'old', eventId: randomUUID() }),
        ).rejects.toThrow(FencedWriteError);
        expect(await snapshot(run.id)).toEqual(before);
      });

      it('run_events is append-only', async () => {
        const run = await store.createRun({ product: { name: 'P' }, actor: 'test' });
        await expect(
          pool.query('UPDATE run_events SET actor = $2 WHERE run_id = $1', [run.id, 'mallory']),
        ).rejects.toThrow(/append-only/);
        await expect(pool.query('DELETE FROM run_events WHERE run_id = $1', [run.id])).rejects.toThrow(/append-only/);
        await expect(pool.query('TRUNCATE run_events CASCADE')).rejects.toThrow(/append-only/);
      });
    });

    describeOperationsContract(() => ({ ops, store, pool }));
    describeMediaContract(() => ({ media, store, rpc, pool }));
  });
}
