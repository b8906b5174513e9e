import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../logging/logger';
import { createPgRpc } from '../store/pg-rpc';
import { createStore } from '../store/store';
import { createSpool, replaySpool, spoolDepth } from './spool';
import { createDatabase } from '../../../test/support/harness';

const log = createLogger('spool-test', 'silent');
let pool: pg.Pool;
let store: ReturnType<typeof createStore>;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createDatabase(process.env.RV_TEST_PG_URL!, 'spool') });
  store = createStore(createPgRpc(pool));
});
afterAll(() => pool.end());

async function claimedRun() {
  const run = await store.createRun({ product: { name: 'P' }, actor: 't' });
  const claim = await store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'w' });
  return { id: run.id, fence: claim.run.fence };
}
const eventCount = async (id: string) =>
  Number((await pool.query('SELECT count(*) FROM run_events WHERE run_id = $1', [id])).rows[0].count);
const spoolDir = () => mkdtempSync(path.join(os.tmpdir(), 'spool-'));

it('replays in order, exactly once, and replaying again leaves the same database', async () => {
  const dir = spoolDir();
  const run = await claimedRun();
  const spool = createSpool(dir, 'w', log);
  for (let i = 0; i < 5; i++)
    spool.append('rv_checkpoint', {
      p_run: run.id,
      p_stage: 'evidence',
      p_fence: run.fence,
      p_step: `s${i}`,
      p_result: i,
      p_event_id: `${run.id}:e:${i}`,
    });
  spool.rotate();
  expect(spoolDepth(dir)).toBe(5);
  const before = await eventCount(run.id);
  const first = await replaySpool(dir, store.rpc, log);
  expect(first).toMatchObject({ applied: 5, rejected: 0, quarantined: 0, remaining: 0 });
  expect(await eventCount(run.id)).toBe(before + 5);
  const steps = (await store.getRun(run.id))!.stages[0].steps;
  expect(Object.keys(steps)).toEqual(['s0', 's1', 's2', 's3', 's4']);
  expect(spoolDepth(dir)).toBe(0);

  // A crash after applying but before deleting the file: the same records again change nothing.
  const again = createSpool(dir, 'w', log);
  for (let i = 0; i < 5; i++)
    again.append('rv_checkpoint', {
      p_run: run.id,
      p_stage: 'evidence',
      p_fence: run.fence,
      p_step: `s${i}`,
      p_result: i,
      p_event_id: `${run.id}:e:${i}`,
    });
  again.rotate();
  expect(await replaySpool(dir, store.rpc, log)).toMatchObject({ applied: 0, duplicates: 5 });
  expect(await eventCount(run.id)).toBe(before + 5);
});

it('a torn last record is detected by its checksum and quarantined; the rest is applied', async () => {
  const dir = spoolDir();
  const run = await claimedRun();
  const spool = createSpool(dir, 'w', log);
  spool.append('rv_append_event', {
    p_event_id: `${run.id}:a`,
    p_run: run.id,
    p_fence: run.fence,
    p_type: 'note',
    p_actor: 'w',
    p_reason: null,
    p_payload: {},
  });
  spool.rotate();
  const file = path.join(dir, readdirSync(dir)[0]);
  appendFileSync(file, '{"id":"x","fn":"rv_append_event","args":{"p_run":"'); // crash mid-append
  const report = await replaySpool(dir, store.rpc, log);
  expect(report).toMatchObject({ applied: 1, quarantined: 1, remaining: 0 });
  expect(readFileSync(path.join(dir, 'quarantine', readdirSync(path.join(dir, 'quarantine'))[0]), 'utf8')).toContain(
    '"p_run":"',
  );
});

it('a record whose content was altered fails its checksum', async () => {
  const dir = spoolDir();
  const run = await claimedRun();
  const spool = createSpool(dir, 'w', log);
  spool.append('rv_append_event', {
    p_event_id: `${run.id}:b`,
    p_run: run.id,
    p_fence: run.fence,
    p_type: 'note',
    p_actor: 'w',
    p_reason: null,
    p_payload: {},
  });
  spool.rotate();
  const file = path.join(dir, readdirSync(dir)[0]);
  writeFileSync(file, readFileSync(file, 'utf8').replace('"note"', '"evil"'));
  expect(await replaySpool(dir, store.rpc, log)).toMatchObject({ applied: 0, quarantined: 1 });
});

it('a write the database refuses by fencing is moved to rejected/, not applied', async () => {
  const dir = spoolDir();
  const run = await claimedRun();
  await store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'other' });
  const spool = createSpool(dir, 'w', log);
  spool.append('rv_checkpoint', {
    p_run: run.id,
    p_stage: 'evidence',
    p_fence: run.fence,
    p_step: 'late',
    p_result: 1,
    p_event_id: `${run.id}:late`,
  });
  spool.rotate();
  expect(await replaySpool(dir, store.rpc, log)).toMatchObject({ applied: 0, rejected: 1 });
  expect((await store.getRun(run.id))!.stages[0].steps).toEqual({});
  expect(readdirSync(path.join(dir, 'rejected'))).toHaveLength(1);
});

it('stops and keeps the rest when the database is unreachable', async () => {
  const dir = spoolDir();
  const spool = createSpool(dir, 'w', log);
  spool.append('rv_append_event', {
    p_event_id: 'z',
    p_run: '00000000-0000-0000-0000-000000000000',
    p_fence: 1,
    p_type: 'n',
    p_actor: 'w',
    p_reason: null,
    p_payload: {},
  });
  spool.rotate();
  const dead = createStore(
    createPgRpc(new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/x', connectionTimeoutMillis: 500 })),
  );
  expect(await replaySpool(dir, dead.rpc, log)).toMatchObject({ applied: 0, remaining: 1 });
  expect(spoolDepth(dir)).toBe(1);
});
