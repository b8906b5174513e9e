// pg-boss 10.4.2 in the best configuration PEERS.md found for a durable
// pipeline ("pg-boss, batched + ledger"): two processes, each with 5 `work()`
// loops per queue fetching up to 50 jobs at a time (polling every 0.5 s, the
// least pg-boss allows); a batch's run rows, events and the next stage's jobs
// (one `insert()`) are written in one transaction. The submitting process
// starts first and creates the schema and queues.
import pg from 'pg';
import PgBoss from 'pg-boss';
import { peerEnv } from './peer-config';
import { doneMarker, LEDGER_SQL, PEER_STAGES, ready, serveRuns } from './peer-protocol';

const LOOPS = 5;
const BATCH = 50;

type TxBody = (
  db: { executeSql: (t: string, v: unknown[]) => Promise<{ rows: unknown[] }> },
  c: pg.PoolClient,
) => Promise<void>;

/** The ledger and the next jobs in one transaction, through pg-boss's `db` hook. */
function transactionOn(pool: pg.Pool) {
  return async (fn: TxBody) => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await fn({ executeSql: (t, v) => c.query(t, v) }, c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  };
}

async function main() {
  const env = peerEnv();
  const done = doneMarker(env.redisUrl, env.doneKey);
  const pool = new pg.Pool({ connectionString: env.dbUrl, max: 12 });
  pool.on('error', (err) => process.stderr.write(`pg-boss peer: ${err}\n`));
  const boss = new PgBoss({
    connectionString: env.dbUrl,
    max: 12,
    schedule: false,
    supervise: env.submitter,
    migrate: env.submitter,
  });
  boss.on('error', (err) => process.stderr.write(`pg-boss peer: ${err}\n`));
  await boss.start();
  if (env.submitter) {
    await pool.query(LEDGER_SQL);
    for (const s of PEER_STAGES) await boss.createQueue(s);
  }
  const inTransaction = transactionOn(pool);
  for (const [i, stage] of PEER_STAGES.entries()) {
    const next = PEER_STAGES[i + 1];
    for (let l = 0; l < LOOPS; l++) {
      await boss.work<{ id: string }>(stage, { batchSize: BATCH, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        const ids = jobs.map((j) => j.data.id);
        await inTransaction(async (db, c) => {
          await c.query(
            `WITH u AS (UPDATE bench_runs SET stage = $2, status = $3, fence = fence + 1, updated_at = now() WHERE id = ANY($1))
            INSERT INTO bench_events (run_id, type) SELECT unnest($1::text[]), $4`,
            [ids, next ?? 'done', next ? 'running' : 'done', `${stage}_done`],
          );
          if (next)
            await boss.insert(
              ids.map((id) => ({ name: next, data: { id } })),
              { db },
            );
        });
        if (!next) await Promise.all(ids.map((id) => done.mark(id)));
      });
    }
  }
  if (env.submitter) {
    serveRuns((id) =>
      inTransaction(async (db, c) => {
        await c.query(`INSERT INTO bench_runs (id, stage) VALUES ($1, 'evidence')`, [id]);
        await boss.insert([{ name: 'evidence', data: { id } }], { db });
      }),
    );
  }
  ready(async () => {
    await boss.stop({ graceful: false, wait: true });
    await pool.end();
    done.close();
  });
}

main().catch((err) => {
  process.stderr.write(`pg-boss peer: ${err?.stack ?? err}\n`);
  process.exit(1);
});
