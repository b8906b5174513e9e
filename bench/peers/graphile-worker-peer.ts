// graphile-worker 0.17.3 in the best configuration PEERS.md found ("graphile-
// worker + ledger"): one process, concurrency 10, a local queue of 500 jobs
// (one locking query fetches many), completions batched without delay; each
// transition updates the run row (stage, fence + 1) and inserts an event in
// the same statement as `graphile_worker.add_job` of the next stage.
import pg from 'pg';
import { Logger, run, type Task } from 'graphile-worker';
import { peerEnv } from './peer-config';
import { doneMarker, LEDGER_SQL, PEER_STAGES, ready, serveRuns } from './peer-protocol';

async function main() {
  const env = peerEnv();
  const done = doneMarker(env.redisUrl, env.doneKey);
  const pool = new pg.Pool({ connectionString: env.dbUrl, max: 12 });
  pool.on('error', (err) => process.stderr.write(`graphile-worker peer: ${err}\n`));
  pool.on('connect', (client) => client.on('error', (err) => process.stderr.write(`graphile-worker peer: ${err}\n`)));
  await pool.query(LEDGER_SQL);
  const taskList = Object.fromEntries(
    PEER_STAGES.map((stage, i): [string, Task] => [
      stage,
      async (payload, helpers) => {
        const id = (payload as { id: string }).id;
        const next = PEER_STAGES[i + 1];
        if (next) {
          await helpers.query(
            `WITH u AS (UPDATE bench_runs SET stage = $2, fence = fence + 1, updated_at = now() WHERE id = $1),
          e AS (INSERT INTO bench_events (run_id, type) VALUES ($1, $3))
        SELECT graphile_worker.add_job($2, json_build_object('id', $1::text))`,
            [id, next, `${stage}_done`],
          );
        } else {
          await helpers.query(
            `WITH u AS (UPDATE bench_runs SET stage = 'done', status = 'done', fence = fence + 1, updated_at = now() WHERE id = $1)
        INSERT INTO bench_events (run_id, type) VALUES ($1, $2)`,
            [id, `${stage}_done`],
          );
          await done.mark(id);
        }
      },
    ]),
  );
  const runner = await run({
    pgPool: pool,
    concurrency: 10,
    noHandleSignals: true,
    taskList,
    logger: new Logger(() => () => undefined),
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0 } },
  });
  serveRuns(async (id) => {
    await pool.query(
      `WITH r AS (INSERT INTO bench_runs (id, stage) VALUES ($1, 'evidence'))
      SELECT graphile_worker.add_job('evidence', json_build_object('id', $1::text))`,
      [id],
    );
  });
  ready(async () => {
    await runner.stop();
    await pool.end();
    done.close();
  });
}

main().catch((err) => {
  process.stderr.write(`graphile-worker peer: ${err?.stack ?? err}\n`);
  process.exit(1);
});
