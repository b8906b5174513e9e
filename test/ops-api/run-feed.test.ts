// The dashboard's live feed sends a run's change even when its event commits
// after a later one: a seq is taken at insert and seen at commit, so concurrent
// transitions (or a group commit) can make seq 100 visible after seq 101.
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import pg from 'pg';
import { submitRun, type Runtime } from '@rayvault/shared';
import { createRunFeed, type RunFeed } from '../../services/ops-api/src/dashboard-api/run-feed';
import { createTestEnv, testRuntime, waitFor, type TestEnv } from '../support/harness';

let t: TestEnv;
let rt: Runtime;
let db: pg.Pool;
let feed: RunFeed;
const sentRuns: string[][] = [];

/** The stream a page holds: every `runs` event's run ids, in order. */
function page(): Response {
  const res = {
    writeHead: () => res,
    write: (chunk: string) => {
      const m = /^event: runs\ndata: (.*)\n\n$/s.exec(chunk);
      if (m) sentRuns.push((JSON.parse(m[1]!) as { runs: { id: string }[] }).runs.map((r) => r.id));
      return true;
    },
    on: () => res,
    end: () => undefined,
  };
  return res as unknown as Response;
}

const event = (client: pg.Pool | pg.Client, runId: string) =>
  client.query(`INSERT INTO run_events (id, run_id, type, actor) VALUES ($1, $2, 'note', 'test')`, [
    randomUUID(),
    runId,
  ]);
const sentCount = (runId: string) => sentRuns.filter((ids) => ids.includes(runId)).length;

beforeAll(async () => {
  t = await createTestEnv('run-feed');
  rt = testRuntime(t, 'run-feed');
  db = new pg.Pool({ connectionString: t.dbUrl });
});
afterAll(async () => {
  feed?.close();
  await db.end();
  await rt.releasers.close();
});

it('sends a change whose event commits after a later one, and each change once', async () => {
  const late = await submitRun(rt, { product: { name: 'commits late' }, actor: 'test' });
  const early = await submitRun(rt, { product: { name: 'commits early' }, actor: 'test' });
  feed = createRunFeed(rt, { tickMs: 50 });
  feed.subscribe(page());
  // The feed is running once it reports an ordinary change.
  await event(db, early.id);
  await waitFor('the first change sent', () => sentCount(early.id) === 1);

  const tx = new pg.Client({ connectionString: t.dbUrl });
  await tx.connect();
  try {
    await tx.query('BEGIN');
    await event(tx, late.id); // takes the lower seq, not yet visible
    await event(db, early.id); // the higher seq, visible first
    await waitFor('the later seq sent', () => sentCount(early.id) === 2);
    await tx.query('COMMIT');
  } finally {
    await tx.end();
  }
  await waitFor('the late commit sent', () => sentCount(late.id) === 1);
  // Later ticks look at the same window again and send nothing twice.
  await new Promise((r) => setTimeout(r, 300));
  expect([sentCount(early.id), sentCount(late.id)]).toEqual([2, 1]);
});
