import { randomUUID } from 'node:crypto';
import type pg from 'pg';
// The operations store's half of the store contract (store-contract.ts runs it
// for every adapter). The database is shared with the lifecycle cases, so each
// case looks at what it made, or at how a figure moved, never at totals.
import {
  createOperationsStore,
  IllegalTransitionError,
  InvalidInputError,
  RunNotFoundError,
  type OperationsStore,
  type RunSearch,
  type RunStatus,
  type StageThroughput,
  type Store,
} from '@rayvault/shared';

export type ContractContext = { ops: OperationsStore; store: Store; pool: pg.Pool };

const hash = () => randomUUID().replace(/-/g, '').repeat(2);
const tag = () => randomUUID().slice(0, 8);

export function describeOperationsContract(ctx: () => ContractContext): void {
  describe('operations store', () => {
    /** Puts a run in `status`, last changed `agoS` seconds ago. */
    const at = async (id: string, status: RunStatus, agoS = 0) =>
      ctx().pool.query('UPDATE runs SET status = $2, updated_at = now() - make_interval(secs => $3) WHERE id = $1', [
        id,
        status,
        agoS,
      ]);
    const newRun = async (name = `Kettle ${tag()}`) => ctx().store.createRun({ product: { name }, actor: 'test' });
    /** One evidence try claimed and completed now. */
    const finishEvidence = async (runId: string) => {
      const { store } = ctx();
      const { run } = await store.claimStage({ runId, stage: 'evidence', attempt: 1, workerId: 'w1' });
      const eventId = randomUUID();
      await store.completeStage({ runId, stage: 'evidence', fence: run.fence, output: {}, next: 'voice', eventId });
    };

    it('API tokens: created, found by hash, listed, revoked once; a live name is taken', async () => {
      const { ops } = ctx();
      const name = `ops-${tag()}`;
      const h = hash();
      const created = await ops.tokens.create({ name, role: 'operator', hash: h, actor: 'test' });
      expect(created).toEqual({
        id: expect.any(String),
        name,
        role: 'operator',
        created_by: 'test',
        created_at: expect.any(String),
        revoked_at: null,
        revoked_by: null,
      });
      expect(await ops.tokens.find(h)).toEqual({ name, role: 'operator' });
      await expect(ops.tokens.create({ name, role: 'viewer', hash: hash(), actor: 'test' })).rejects.toThrow(
        IllegalTransitionError,
      );
      await expect(
        ops.tokens.create({ name: `x-${tag()}`, role: 'root' as never, hash: hash(), actor: 'test' }),
      ).rejects.toThrow(InvalidInputError);
      expect((await ops.tokens.list()).find((t) => t.name === name)).toEqual(created);

      const revoked = await ops.tokens.revoke({ name, actor: 'admin', reason: 'rotated' });
      expect(revoked).toMatchObject({ name, revoked_by: 'admin', revoked_at: expect.any(String) });
      expect(await ops.tokens.find(h)).toBeNull();
      await expect(ops.tokens.revoke({ name, actor: 'admin' })).rejects.toThrow(RunNotFoundError);
      const audit = (await ops.audit.recent(20)).filter((e) => e.target === name);
      expect(audit.map((e) => [e.type, e.actor])).toEqual([
        ['token_revoked', 'admin'],
        ['token_created', 'test'],
      ]);
    });

    it('ops audit: recorded once per event id, read back newest first within the limit', async () => {
      const { ops } = ctx();
      const eventId = randomUUID();
      const target = `queue-${tag()}`;
      const pause = { type: 'queue_pause', actor: 'ana', reason: 'maintenance', target, payload: { n: 1 } };
      expect(await ops.audit.record(pause, eventId)).toEqual({ duplicate: false });
      expect(await ops.audit.record({ type: 'queue_pause', actor: 'ana', target }, eventId)).toEqual({
        duplicate: true,
      });
      await ops.audit.record({ type: 'queue_resume', actor: 'ana', target });
      const recent = await ops.audit.recent(2);
      expect(recent).toHaveLength(2);
      expect(recent.map((e) => e.type)).toEqual(['queue_resume', 'queue_pause']);
      expect(recent[1]).toMatchObject({
        id: eventId,
        actor: 'ana',
        reason: 'maintenance',
        target,
        payload: { n: 1 },
        created_at: expect.any(String),
      });
      expect(recent[0].seq).toBeGreaterThan(recent[1].seq);
    });

    it("metrics: runs by status, open gates with the oldest one's age, stage durations of the day", async () => {
      const { ops } = ctx();
      const before = await ops.metrics();
      const gate = await newRun();
      await at(gate.id, 'waiting_approval', 600);
      await finishEvidence((await newRun()).id);
      const after = await ops.metrics();
      expect(after.runs_by_status.waiting_approval).toBe((before.runs_by_status.waiting_approval ?? 0) + 1);
      expect(after.gates_open).toBe(before.gates_open + 1);
      expect(after.oldest_gate_age_s).toBeGreaterThanOrEqual(600);
      const evidence = (m: typeof after) => m.stage_durations.find((s) => s.stage === 'evidence');
      expect(evidence(after)?.count).toBe((evidence(before)?.count ?? 0) + 1);
      const figure = expect.any(Number);
      expect(evidence(after)).toEqual({ stage: 'evidence', count: figure, p50: figure, p95: figure, max: figure });
    });

    it("runs by status: counts, the oldest gate, the newest creation and the last day's creations", async () => {
      const { ops } = ctx();
      const by = async () => Object.fromEntries((await ops.runsByStatus()).map((r) => [r.status, r]));
      const before = await by();
      const t0 = Date.now();
      await newRun();
      const gate = await newRun();
      await at(gate.id, 'waiting_approval', 7200);
      const after = await by();
      expect(after.queued.n).toBe((before.queued?.n ?? 0) + 1);
      expect(after.queued.recent).toBe((before.queued?.recent ?? 0) + 1);
      expect(after.queued.oldest_gate).toBeNull();
      expect(after.queued.last_created!.getTime()).toBeGreaterThanOrEqual(t0 - 5000);
      expect(after.waiting_approval.oldest_gate!.getTime()).toBeLessThanOrEqual(Date.now() - 7200_000);
    });

    it('runs list: search by product name (any case) or id prefix, filters, pages', async () => {
      const { ops } = ctx();
      const word = `Teapot${tag()}`;
      const a = await newRun(`Blue ${word}`);
      const b = await newRun(`Red ${word}`);
      await at(b.id, 'panic');
      const all = await ops.searchRuns({ limit: 50, offset: 0, search: word.toLowerCase() });
      expect(all.total).toBe(2);
      expect(all.runs.map((r) => [r.id, r.product_name])).toEqual([
        [b.id, `Red ${word}`],
        [a.id, `Blue ${word}`],
      ]);
      expect(all.runs[0]).toMatchObject({
        status: 'panic',
        stage: 'evidence',
        attempt: expect.any(Number),
        stages: [],
      });
      expect(all.runs[0]).not.toHaveProperty('product');
      const ids = async (search: RunSearch) => (await ops.searchRuns(search)).runs.map((r) => r.id);
      expect(await ids({ limit: 50, offset: 0, search: a.id.slice(0, 8) })).toContain(a.id);
      expect(await ids({ status: 'panic', stage: 'evidence', limit: 50, offset: 0, search: word })).toEqual([b.id]);
      const second = await ops.searchRuns({ limit: 1, offset: 1, search: word });
      expect([second.total, second.runs.map((r) => r.id)]).toEqual([2, [a.id]]);
    });

    it('stage throughput: completed tries and failed runs per stage and minute over the last hour', async () => {
      const { ops } = ctx();
      const sum = (t: StageThroughput, stage: string, k: 'completed' | 'failed') =>
        t.points.filter((p) => p.stage === stage).reduce((n, p) => n + p[k], 0);
      const before = await ops.stageThroughput();
      await finishEvidence((await newRun()).id);
      const failed = await newRun();
      await at(failed.id, 'failed');
      const after = await ops.stageThroughput();
      expect(sum(after, 'evidence', 'completed')).toBe(sum(before, 'evidence', 'completed') + 1);
      expect(sum(after, 'evidence', 'failed')).toBe(sum(before, 'evidence', 'failed') + 1);
      expect(Math.abs(after.since.getTime() - (Date.now() - 3600_000))).toBeLessThan(60_000);
      const minutes = after.points.map((p) => p.minute.getTime());
      expect(minutes).toEqual([...minutes].sort((x, y) => x - y));
      expect(minutes.every((m) => m % 60_000 === 0)).toBe(true);
    });

    it('run feed: the event head, then the runs changed after it with their newest seq and status', async () => {
      const { ops, store } = ctx();
      const head = await ops.eventHead();
      expect(head).toBeGreaterThan(0);
      const run = await newRun();
      await store.transition({ runId: run.id, to: 'aborted', fence: null, actor: 'test', eventId: randomUUID() });
      const changes = await ops.runChangesSince(head);
      const mine = changes.find((c) => c.id === run.id)!;
      expect(mine).toMatchObject({ status: 'aborted', stage: 'evidence', updated_at: expect.any(Date) });
      expect(mine.seq).toBeGreaterThan(head);
      expect(await ops.eventHead()).toBeGreaterThanOrEqual(mine.seq);
      expect(await ops.runChangesSince(await ops.eventHead())).toEqual([]);
    });

    it('an answer of another shape is an error naming the function, not a value passed on', async () => {
      const odd = createOperationsStore(async () => ({ runs_by_status: 'many' }));
      await expect(odd.metrics()).rejects.toThrow(/rv_ops_metrics answered in an unexpected shape/);
    });
  });
}
