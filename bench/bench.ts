// `npm run bench`: RayVault's orchestration against a raw BullMQ four-queue
// chain on the same Redis, in one process tree. Prints a table and writes
// bench/results.json. Sizes: BENCH_RUNS (throughput), BENCH_PACED_S (latency).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createLogger, createRuntime, loadConfig, STAGES, submitRun } from '@rayvault/shared';
import { percentile, rssMb, spawnTs, startBenchInfra, stopAll, type Proc } from './infra';
import { measureRecovery } from './recovery';

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const PACED_S = Number(process.env.BENCH_PACED_S ?? 5);
const RATE = 100;

async function main() {
  const infra = await startBenchInfra();
  const env = { REDIS_URL: infra.redisUrl, DATABASE_URL: infra.dbUrl, RAYVAULT_STATE_DIR: path.join(infra.dir, 'state'), RAYVAULT_LOG_LEVEL: 'error',
    RAYVAULT_QUEUE_PREFIX: '{bench}', RAYVAULT_LEASE_MS: '5000', RAYVAULT_PG_POOL: '20', RAYVAULT_SAMPLES: '0' };
  const redis = new Redis(infra.redisUrl);
  const db = new pg.Pool({ connectionString: infra.dbUrl, max: 2 });
  const config = loadConfig(env, { useDotenv: false });
  const rt = createRuntime(config, createLogger('bench', 'error'), { workerId: 'bench-submitter' });
  const results: Record<string, unknown> = { runs: RUNS, node: process.version, at: new Date().toISOString() };
  const log = (s: string) => process.stdout.write(`${s}\n`);

  // --- raw BullMQ chain, a process per stage ---
  const rawProcs = STAGES.map((s) => spawnTs('bench/stage-worker.ts', { ...env, BENCH_STAGE: s, BENCH_MODE: 'raw' }));
  await Promise.all(rawProcs.map((p) => p.ready));
  const rawFirst = new Queue('raw-evidence', { connection: redis, prefix: '{bench}' });
  const rawRun = async (n: number, tag: string, paced: boolean) => {
    const sent = new Map<string, number>();
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const id = `${tag}-${i}`;
      sent.set(id, Date.now());
      await rawFirst.add('evidence', { runId: id }, { jobId: `${id}-evidence`, removeOnComplete: true });
      if (paced) await sleep(Math.max(0, t0 + ((i + 1) * 1000) / RATE - Date.now()));
    }
    await waitUntil(async () => (await redis.hlen('{bench}:raw-done')) >= n);
    const done = await redis.hgetall('{bench}:raw-done');
    await redis.del('{bench}:raw-done');
    const lat = [...sent].map(([id, at]) => Number(done[id]) - at);
    return { seconds: (Date.now() - t0) / 1000, lat };
  };
  const raw = await rawRun(RUNS, 'raw', false);
  const rawPaced = await rawRun(RATE * PACED_S, 'rawp', true);
  await stopAll(rawProcs);
  await rawFirst.close();

  // --- RayVault, a process per stage, full machinery ---
  const ours = STAGES.map((s) => spawnTs('bench/stage-worker.ts', { ...env, BENCH_STAGE: s, BENCH_MODE: 'rayvault' }));
  await Promise.all(ours.map((p) => p.ready));
  const idleRss = Object.fromEntries(ours.map((p, i) => [STAGES[i], rssMb(p.pid)]));
  const stats0 = await counters(redis, db);
  const ourRun = async (n: number, paced: boolean) => {
    const t0 = Date.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      inflight.push(submitRun(rt, { product: { name: `bench-${i}` }, actor: 'bench' }));
      if (paced) await sleep(Math.max(0, t0 + ((i + 1) * 1000) / RATE - Date.now()));
      else if (inflight.length >= 50) await Promise.all(inflight.splice(0));
    }
    await Promise.all(inflight);
    let peak: Record<string, number> = {};
    await waitUntil(async () => {
      peak = Object.fromEntries(ours.map((p, i) => [STAGES[i], Math.max(peak[STAGES[i]] ?? 0, rssMb(p.pid))]));
      return Number((await db.query(`SELECT count(*) FROM runs WHERE status <> 'done'`)).rows[0].count) === 0;
    });
    return { seconds: (Date.now() - t0) / 1000, peak };
  };
  const ourT = await ourRun(RUNS, false);
  const stats1 = await counters(redis, db);
  await db.query('DELETE FROM run_stages'); // keep the latency sample separate (runs stay; events are append-only)
  const pacedStart = new Date();
  await ourRun(RATE * PACED_S, true);
  const { rows } = await db.query(`SELECT extract(epoch FROM (updated_at - created_at)) * 1000 AS ms FROM runs WHERE created_at >= $1`, [pacedStart]);
  const ourLat = rows.map((r) => Number(r.ms));
  await stopAll(ours);

  const transitions = RUNS * STAGES.length;
  results.throughput = { raw_runs_per_s: round(RUNS / raw.seconds), rayvault_runs_per_s: round(RUNS / ourT.seconds), ratio: round((RUNS / ourT.seconds) / (RUNS / raw.seconds), 2), target_ratio: 0.5 };
  results.latency_ms = { rate_per_s: RATE, raw: { p50: percentile(rawPaced.lat, 50), p99: percentile(rawPaced.lat, 99) },
    rayvault: { p50: round(percentile(ourLat, 50)), p99: round(percentile(ourLat, 99)) }, target: 'rayvault p99 <= 2x raw p99' };
  results.cost_per_transition = {
    redis_client_commands: round((stats1.clientCmds - stats0.clientCmds) / transitions, 1),
    redis_total_commands: round((stats1.totalCmds - stats0.totalCmds) / transitions, 1),
    postgres_round_trips: round((stats1.xacts - stats0.xacts) / transitions, 2), target_postgres: 2,
  };
  results.rss_mb = { idle: idleRss, under_load: ourT.peak };
  results.recovery = await measureRecovery(env, Number(process.env.BENCH_KILLS ?? 10));

  log('\nRayVault benchmark');
  log(`  throughput   raw ${fmt(results.throughput)}`);
  log(`  latency      ${JSON.stringify(results.latency_ms)}`);
  log(`  cost         ${JSON.stringify(results.cost_per_transition)}`);
  log(`  footprint    ${JSON.stringify(results.rss_mb)}`);
  log(`  recovery     ${JSON.stringify(results.recovery)}`);
  writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify(results, null, 2));
  log('  written to bench/results.json');
  await rt.releasers.close();
  redis.disconnect();
  await db.end();
  await infra.stop();
  process.exit(0);
}

async function counters(redis: Redis, db: pg.Pool) {
  const stats = await redis.info('stats');
  const cmdstats = await redis.info('commandstats');
  const totalCmds = [...cmdstats.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const clientCmds = Number(/total_commands_processed:(\d+)/.exec(stats)![1]);
  const xacts = Number((await db.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n);
  return { totalCmds, clientCmds, xacts };
}

async function waitUntil(fn: () => Promise<boolean>, timeoutMs = 600000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await sleep(50);
  }
}
const round = (n: number, d = 0) => Math.round(n * 10 ** d) / 10 ** d;
const fmt = (o: unknown) => JSON.stringify(o);

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
