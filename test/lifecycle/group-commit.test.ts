// Group commit on a real Postgres with production durability (fsync and
// synchronous_commit on): a call alone goes alone; calls that queue behind busy
// lanes leave in one rv_group call, yet each is checked and applied, or
// refused, on its own; a group that fails as a whole is retried call by call.
// On a server whose commits do not flush (the tests' fast one) nothing groups.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createPgRpc, createStore, FencedWriteError } from '@rayvault/shared';
import { createDatabase, startPgServer, type Server } from '../support/harness';

jest.setTimeout(60_000);

let durable: Server;
let pool: pg.Pool;
let rpc: ReturnType<typeof createPgRpc>;
let store: ReturnType<typeof createStore>;

async function connect(serverUrl: string) {
  pool = new pg.Pool({ connectionString: await createDatabase(serverUrl, 'group') });
  rpc = createPgRpc(pool);
  store = createStore(rpc);
  // The adapter asks the server, at its first grouped call, whether its commits flush; let it answer.
  const warm = await store.createRun({ product: { name: 'warm-up' }, actor: 'test' });
  await store.claimStage({ runId: warm.id, stage: 'evidence', attempt: 1, workerId: 'w0' });
  await sleep(200);
}

beforeAll(async () => {
  durable = await startPgServer({ fast: false });
});
afterAll(() => durable?.stop());
beforeEach(() => connect(durable.url));
afterEach(() => pool.end());

const runs = (n: number) =>
  Promise.all(Array.from({ length: n }, (_, i) => store.createRun({ product: { name: `g${i}` }, actor: 'test' })));
const claimAll = (ids: string[]) =>
  Promise.all(ids.map((runId) => store.claimStage({ runId, stage: 'evidence', attempt: 1, workerId: 'w1' })));

it('sends a call alone when nothing is in flight', async () => {
  const [run] = await runs(1);
  const claim = await store.claimStage({ runId: run.id, stage: 'evidence', attempt: 1, workerId: 'w1' });
  expect(claim.stale).toBe(false);
  expect(rpc.stats).toEqual({ calls: 2, groups: 0, inGroups: 0 });
});

it('groups nothing on a server whose commits do not wait for the disk', async () => {
  await pool.end();
  await connect(process.env.RV_TEST_PG_URL!);
  const claims = await claimAll((await runs(24)).map((r) => r.id));
  expect(claims.every((c) => !c.stale)).toBe(true);
  expect(rpc.stats).toMatchObject({ calls: 25, groups: 0 });
});

it('groups calls that queue behind busy lanes, each applied or refused on its own', async () => {
  const ids = (await runs(24)).map((r) => r.id);
  const claims = await claimAll(ids);
  expect(claims.every((c) => !c.stale && c.run.worker_id === 'w1')).toBe(true);
  expect(rpc.stats.groups).toBeGreaterThan(0);
  expect(rpc.stats.inGroups).toBeGreaterThan(rpc.stats.groups);

  const groupsBefore = rpc.stats.groups;
  // Every third completion carries a stale fence: refused alone, its neighbours in the same group applied.
  const outcomes = await Promise.allSettled(
    claims.map((c, i) =>
      store.completeStage({
        runId: c.run.id,
        stage: 'evidence',
        fence: i % 3 === 0 ? c.run.fence - 1 : c.run.fence,
        output: { i },
        next: 'voice',
        eventId: `${c.run.id}:evidence:1:complete`,
      }),
    ),
  );
  expect(rpc.stats.groups).toBeGreaterThan(groupsBefore);
  const { rows } = await pool.query<{ id: string; stage: string }>('SELECT id, stage FROM runs WHERE id = ANY($1)', [
    ids,
  ]);
  const stageOf = new Map(rows.map((r) => [r.id, r.stage]));
  outcomes.forEach((o, i) => {
    if (i % 3 === 0) {
      expect(o.status === 'rejected' && o.reason).toBeInstanceOf(FencedWriteError);
      expect(stageOf.get(ids[i])).toBe('evidence');
    } else {
      expect(o.status).toBe('fulfilled');
      expect(stageOf.get(ids[i])).toBe('voice');
    }
  });
});

it('retries each call alone when a group fails as a whole (here: a database without rv_group)', async () => {
  await pool.query('DROP FUNCTION rv_group(jsonb)');
  const ids = (await runs(12)).map((r) => r.id);
  const claims = await claimAll(ids);
  expect(rpc.stats.groups).toBeGreaterThan(0);
  expect(claims.every((c) => !c.stale)).toBe(true);
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM run_events WHERE type = 'stage_claimed' AND run_id = ANY($1)",
    [ids],
  );
  expect(rows[0].n).toBe(12);
});
