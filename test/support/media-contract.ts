import { randomUUID } from 'node:crypto';
import type pg from 'pg';
// The media store's half of the store contract (store-contract.ts runs it for
// every adapter). The database is shared with the other cases, so each case
// looks at what it made, or at how a figure moved, never at totals.
import {
  createMediaStore,
  MEDIA_WRITES,
  type MediaStore,
  type Rpc,
  type RunStatus,
  type Store,
} from '@rayvault/shared';

export type MediaContext = { media: MediaStore; store: Store; rpc: Rpc; pool: pg.Pool };

const sha = () => randomUUID().replace(/-/g, '').repeat(2);
const tag = () => randomUUID().slice(0, 8);

export function describeMediaContract(ctx: () => MediaContext): void {
  describe('media store', () => {
    const newRun = async () => ctx().store.createRun({ product: { name: `Kettle ${tag()}` }, actor: 'test' });
    const at = async (id: string, status: RunStatus, stage = 'evidence') =>
      ctx().pool.query('UPDATE runs SET status = $2, stage = $3 WHERE id = $1', [id, status, stage]);
    /** A run claimed at render, its fence ready for the fenced media writes. */
    const atRender = async () => {
      const run = await newRun();
      await at(run.id, 'queued', 'render');
      const { run: claimed } = await ctx().store.claimStage({
        runId: run.id,
        stage: 'render',
        attempt: 1,
        workerId: 'w1',
      });
      return { id: run.id, fence: claimed.fence };
    };
    const recordVideo = (run: { id: string; fence: number }, segment: number, file: string, digest = sha()) =>
      ctx().rpc(MEDIA_WRITES.recordArtifact, {
        p_run: run.id,
        p_fence: run.fence,
        p_stage: 'render',
        p_segment: segment,
        p_kind: 'video',
        p_path: file,
        p_sha: digest,
        p_bytes: 1000 + segment,
        p_duration_s: 6.5,
        p_meta: { target_s: 6 },
        p_event_id: randomUUID(),
      });
    const recordCredits = (run: { id: string; fence: number }, provider: string, credits: number) =>
      ctx().rpc(MEDIA_WRITES.recordCredits, {
        p_run: run.id,
        p_fence: run.fence,
        p_provider: provider,
        p_credits: credits,
        p_note: 'seg',
        p_event_id: randomUUID(),
      });

    it('artifacts and the video index: what the render stage recorded, parsed, by stage and segment', async () => {
      const { media } = ctx();
      const run = await atRender();
      const digest = sha();
      await recordVideo(run, 2, `/state/final/${run.id.slice(0, 8)}-seg02.mp4`);
      await recordVideo(run, 1, `/state/final/${run.id.slice(0, 8)}-seg01.mp4`, digest);
      const artifacts = await media.artifacts(run.id);
      expect(artifacts.map((a) => [a.segment, a.kind, a.bytes])).toEqual([
        [1, 'video', 1001],
        [2, 'video', 1002],
      ]);
      expect(artifacts[0]).toMatchObject({
        run_id: run.id,
        sha256: digest,
        duration_s: 6.5,
        meta: { target_s: 6 },
        created_at: expect.any(String),
      });
      expect(await media.artifacts(randomUUID())).toEqual([]);

      const entries = (await media.index.entries()).filter((e) => e.run_id === run.id);
      expect(entries.map((e) => e.segment)).toEqual([1, 2]);
      expect(entries[0]).toMatchObject({ id: expect.any(Number), probe_status: null, probed_at: null, width: null });
      expect(entries[0].created_at).toBeInstanceOf(Date);
      expect(await media.index.names({ path: entries[0].path, name: 'nothing.mp4' })).toBe(true);
      expect(await media.index.names({ path: '/elsewhere/x.mp4', name: `${run.id.slice(0, 8)}-seg02.mp4` })).toBe(true);
      expect(await media.index.names({ path: '/elsewhere/x.mp4', name: `${tag()}-seg02.mp4` })).toBe(false);
    });

    it('index add: once per segment, with its audit event; relink: only while the entry is where it was', async () => {
      const { media, pool } = ctx();
      const run = await newRun();
      const digest = sha();
      const add = { runId: run.id, segment: 3, path: `/final/${tag()}.mp4`, sha256: digest, bytes: 42, legacy: true };
      const id = await media.index.add({ ...add, eventId: `add-${tag()}` });
      expect(id).toEqual(expect.any(Number));
      expect(await media.index.add({ ...add, path: '/final/other.mp4', eventId: `add-${tag()}` })).toBeNull();
      const [entry] = (await media.index.entries()).filter((e) => e.run_id === run.id);
      expect(entry).toMatchObject({
        id,
        stage: 'render',
        kind: 'video',
        segment: 3,
        bytes: 42,
        meta: { indexed_by: 'index-refresh', legacy: true },
      });

      const relink = {
        id: id!,
        path: '/final/renamed.mp4',
        from: add.path,
        sha256: digest,
        legacy: false,
        eventId: `relink-${tag()}`,
      };
      expect(await media.index.relink({ ...relink, sha256: sha() })).toBe(false);
      expect(await media.index.relink(relink)).toBe(true);
      expect(await media.index.relink({ ...relink, eventId: `relink-${tag()}` })).toBe(false); // moved already
      const [moved] = (await media.index.entries()).filter((e) => e.run_id === run.id);
      expect(moved).toMatchObject({ path: '/final/renamed.mp4', meta: { relinked_from: add.path, legacy: true } });
      const { rows } = await pool.query('SELECT type, actor, payload FROM run_events WHERE run_id = $1 ORDER BY seq', [
        run.id,
      ]);
      expect(rows.slice(1).map((e) => [e.type, e.actor, e.payload.sha8])).toEqual([
        ['artifact_indexed', 'cli:index-refresh', digest.slice(0, 8)],
        ['artifact_relinked', 'cli:index-refresh', digest.slice(0, 8)],
      ]);
    });

    it('probes: a failure keeps the last good metadata; the doctor sees the failing streak end', async () => {
      const { media } = ctx();
      const run = await newRun();
      const id = (await media.index.add({
        runId: run.id,
        segment: 1,
        path: `/final/${tag()}.mp4`,
        sha256: sha(),
        bytes: 1,
        legacy: false,
        eventId: `add-${tag()}`,
      }))!;
      const good = {
        status: 'ok',
        duration_s: 7.25,
        container: 'mov,mp4',
        video_codec: 'h264',
        audio_codec: 'aac',
        width: 1080,
        height: 1920,
      } as const;
      expect(await media.index.saveProbe(id, good)).toBe(true);
      const before = await media.index.probeHealth();
      expect(before).toMatchObject({ streak: 0, latest_error: null });
      const error = `moov atom not found ${tag()}`;
      expect(await media.index.saveProbe(id, { status: 'probe_failed', error })).toBe(true);
      const failing = await media.index.probeHealth();
      expect(failing).toEqual({ probe_failed: before.probe_failed + 1, streak: 1, latest_error: error });
      const [entry] = (await media.index.entries()).filter((e) => e.id === id);
      expect(entry).toMatchObject({
        probe_status: 'probe_failed',
        probe_error: error,
        duration_s: 7.25,
        video_codec: 'h264',
        width: 1080,
      });
      expect(entry.probed_at).toBeInstanceOf(Date);
      expect(await media.index.saveProbe(id, { ...good, duration_s: null })).toBe(true);
      expect(await media.index.probeHealth()).toEqual({
        probe_failed: before.probe_failed,
        streak: 0,
        latest_error: null,
      });
      expect((await media.index.entries()).find((e) => e.id === id)).toMatchObject({
        probe_status: 'ok',
        probe_error: null,
        duration_s: 7.25,
      });
      expect(await media.index.saveProbe(-1, good)).toBe(false);
    });

    it('run ids by prefix: oldest first, at most the limit', async () => {
      const { media } = ctx();
      const run = await newRun();
      expect(await media.runsByIdPrefix(run.id.slice(0, 13), 3)).toEqual([run.id]);
      expect(await media.runsByIdPrefix(run.id, 3)).toEqual([run.id]);
      expect(await media.runsByIdPrefix('ffffffff-ffff', 3)).toEqual([]);
      expect(await media.runsByIdPrefix('', 2)).toHaveLength(2);
    });

    it('report rows and the run page extras: credits per provider, rendered segments, stages', async () => {
      const { media } = ctx();
      const run = await atRender();
      await recordVideo(run, 1, '/final/a.mp4');
      await recordCredits(run, 'dzine', 2.5);
      await recordCredits(run, 'dzine', 1);
      await recordCredits(run, 'alt', 3);
      const rows = await media.reportRows(run.id);
      expect(rows.run).toMatchObject({
        id: run.id,
        status: 'running',
        stage: 'render',
        product: { name: expect.any(String) },
        output: {},
      });
      expect(rows.ledger).toEqual([
        { provider: 'alt', credits: 3, n: 1 },
        { provider: 'dzine', credits: 3.5, n: 2 },
      ]);
      expect(rows.videos).toEqual([
        { segment: 1, path: '/final/a.mp4', sha256: expect.any(String), duration_s: 6.5, meta: { target_s: 6 } },
      ]);
      expect(rows.stages).toEqual([
        {
          stage: 'render',
          status: 'running',
          attempt: 1,
          worker_id: 'w1',
          started_at: expect.any(String),
          finished_at: null,
        },
      ]);
      expect((await media.reportRows(randomUUID())).run).toBeNull();

      const extras = await media.runExtras(run.id);
      expect(extras.credits.total).toBe(6.5);
      expect(extras.credits.entries.map((e) => [e.provider, e.credits, e.note])).toEqual([
        ['dzine', 2.5, 'seg'],
        ['dzine', 1, 'seg'],
        ['alt', 3, 'seg'],
      ]);
      expect(extras.artifacts).toEqual([
        expect.objectContaining({ id: expect.any(Number), segment: 1, path: '/final/a.mp4', probe_status: null }),
      ]);
      expect(extras.claims).toEqual([]);
    });

    it('housekeeping: runs by status, runs reading the cache, workers alive elsewhere', async () => {
      const { media, store } = ctx();
      const [done, voice, unknown] = [await newRun(), await newRun(), randomUUID()];
      await at(done.id, 'done', 'qc');
      await at(voice.id, 'running', 'voice');
      const status = await media.housekeeping.runsStatus([done.id, voice.id, unknown]);
      expect(status.sort((a, b) => a.status.localeCompare(b.status))).toEqual([
        { id: done.id, status: 'done', fence: expect.any(Number) },
        { id: voice.id, status: 'running', fence: expect.any(Number) },
      ]);
      expect(await media.housekeeping.runsStatus([])).toEqual([]);
      const reading = (await media.housekeeping.runsReadingCache()).map((r) => r.id);
      expect(reading).toContain(voice.id);
      expect(reading).not.toContain(done.id);

      const [here, there] = [`here-${tag()}`, `there-${tag()}`];
      const beat = (id: string, host: string) =>
        store.heartbeat({
          id,
          state: 'idle',
          queues: ['render'],
          currentRun: null,
          currentJob: null,
          latencyMs: 1,
          host,
          pid: 1,
        });
      await beat(here, 'host-a');
      await beat(there, 'host-b');
      const alive = await media.housekeeping.workersAliveElsewhere('host-a', 60_000);
      expect([alive.has(here), alive.has(there)]).toEqual([false, true]);
      expect((await media.housekeeping.workersAliveElsewhere('host-a', 0)).has(there)).toBe(false);
    });

    it("baptism: a finished stage claimed again and a done run with a stage not done; a run's steps", async () => {
      const { media, store, pool } = ctx();
      const before = await media.housekeeping.skipCheck();
      const run = await newRun();
      const { run: claimed } = await store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'w1' });
      await store.checkpoint({
        runId: run.id,
        stage: 'evidence',
        fence: claimed.fence,
        step: 'fetch',
        result: { n: 1 },
        eventId: randomUUID(),
      });
      await store.completeStage({
        runId: run.id,
        stage: 'evidence',
        fence: claimed.fence,
        output: {},
        next: 'voice',
        eventId: randomUUID(),
      });
      await pool.query(
        `INSERT INTO run_events (id, run_id, type, actor, payload) VALUES ($1, $2, 'stage_claimed', 'w2', '{"stage":"evidence"}')`,
        [randomUUID(), run.id],
      );
      await at(run.id, 'done', 'qc');
      const after = await media.housekeeping.skipCheck();
      expect(after.reruns).toContainEqual({ run_id: run.id, stage: 'evidence', claims: 1 });
      expect(after.unfinished).toContain(run.id);
      expect(after.done).toBe(before.done + 1);

      expect(await media.housekeeping.runSteps(run.id)).toEqual({
        status: 'done',
        refetch_count: 0,
        steps: { evidence: { fetch: { n: 1 } } },
      });
      expect(await media.housekeeping.runSteps(randomUUID())).toBeNull();
      expect(await media.housekeeping.runSteps('not-a-uuid')).toBeNull();
    });

    it('an answer of another shape is an error naming the function, not a value passed on', async () => {
      const odd = createMediaStore(async () => [{ run_id: 7 }]);
      await expect(odd.artifacts(randomUUID())).rejects.toThrow(/rv_list_artifacts answered in an unexpected shape/);
    });
  });
}
