// `npm run bench`: RayVault's orchestration against a raw BullMQ four-queue
// chain on the same Redis, real work against its tools run directly, recovery
// after kill -9, memory and start-up time. Prints a table of every item with
// its target and writes bench/results.json.
// Sizes: BENCH_RUNS (throughput, per round) and BENCH_ROUNDS (raw and RayVault take turns), BENCH_PACED_S and
// BENCH_RATE (latency), BENCH_COST_RUNS,
// BENCH_REAL_RUNS, BENCH_KILLS, BENCH_FLOOR_CALLS, BENCH_GROUP_TRANSITIONS, BENCH_GROUP_ROUNDS,
// BENCH_TRACE_RUNS, BENCH_TRACE_ROUNDS and BENCH_TRACE_WARMUP.
// BENCH_ONLY=chain,group,tracing,real,recovery,startup runs a
// subset; BENCH_PROFILE=DIR writes a CPU profile per RayVault stage process.
// The chain item also runs the durable peers (bench/peers/; BENCH_PEERS=0 leaves them out), under each
// durability mode of BENCH_DURABILITY (production, fast or both; default both): production (Postgres
// and Redis as `npm start` runs them) gives the headline figures, fast (the tests' settings) a second
// line. The other items run once, under the first mode.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createLogger, createRuntime, loadConfig, type Runtime } from '@rayvault/shared';
import { benchNumber, benchSettings } from './bench-config';
import { measureChain } from './chain';
import { chainRows, type Row } from './chain-report';
import { measurePostgresFloor } from './postgres-floor';
import { groupCommitRows, measureGroupCommit } from './group-commit';
import { DURABILITY_SETTINGS, startBenchInfra, type Durability } from './infra';
import { PEERS } from './peers/peer-driver';
import { measureRealWork } from './real-work';
import { measureRecovery } from './recovery';
import { measureStartup } from './startup';
import { measureTracingCost } from './tracing-cost';

const num = benchNumber;
const settings = benchSettings();
const only = settings.only;

function durabilityModes(): Durability[] {
  const v = settings.durability;
  if (v === 'both') return ['production', 'fast'];
  if (v === 'production' || v === 'fast') return [v];
  throw new Error(`BENCH_DURABILITY=${v}: use production, fast or both`);
}

type Infra = Awaited<ReturnType<typeof startBenchInfra>>;
type Results = Record<string, unknown>;

/** The environment every bench process of this infrastructure runs with. */
function benchEnv(infra: Infra): Record<string, string> {
  return {
    REDIS_URL: infra.redisUrl,
    DATABASE_URL: infra.dbUrl,
    RAYVAULT_STATE_DIR: path.join(infra.dir, 'state'),
    RAYVAULT_LOG_LEVEL: 'error',
    RAYVAULT_QUEUE_PREFIX: '{bench}',
    RAYVAULT_LEASE_MS: '5000',
    RAYVAULT_PG_POOL: '20',
    RAYVAULT_SAMPLES: '0',
  };
}

async function main() {
  const load = () => os.loadavg().map((n) => Math.round(n * 100) / 100);
  const results: Results = {
    node: process.version,
    cpus: os.cpus().length,
    at: new Date().toISOString(),
    load_before: load(),
  };
  const rows: Row[] = [];
  // Only the chain item runs under every mode: without it, one infrastructure is enough.
  const modes = only.has('chain') || only.has('group') ? durabilityModes() : durabilityModes().slice(0, 1);
  const byDurability: Results = {};
  const groupByDurability: Results = {};
  for (const [modeIndex, mode] of modes.entries()) {
    const infra = await startBenchInfra(mode);
    const env = benchEnv(infra);
    const redis = new Redis(infra.redisUrl);
    const db = new pg.Pool({ connectionString: infra.dbUrl, max: 2 });
    // Its connections are still closing when the bench stops Postgres: that is no error.
    db.on('error', () => undefined);
    const rt = createRuntime(loadConfig(env, { useDotenv: false }), createLogger('bench', 'error'), {
      workerId: 'bench-submitter',
    });
    const tag = modes.length > 1 ? ` [${mode}]` : '';
    try {
      if (only.has('chain')) {
        const chain = await benchChain(env, rt, redis, db, infra, mode);
        byDurability[mode] = chain;
        // The first mode is the headline: its figures keep the top-level names scripts read.
        if (modeIndex === 0) Object.assign(results, chain);
        rows.push(...chainRows(tag, chain, chain.postgres_floor));
      }
      if (only.has('group')) {
        const g = await measureGroupCommit(
          infra.dbUrl,
          num('BENCH_GROUP_TRANSITIONS', 1000),
          num('BENCH_GROUP_ROUNDS', 3),
        );
        groupByDurability[mode] = g;
        rows.push(...groupCommitRows(tag, g));
      }
      if (modeIndex === 0) await benchOnceItems(env, rt, db, results, rows);
    } finally {
      await rt.releasers.close();
      redis.disconnect();
      await db.end();
      await infra.stop();
    }
  }
  if (Object.keys(byDurability).length) results.by_durability = byDurability;
  if (Object.keys(groupByDurability).length) results.group_commit = groupByDurability;
  results.load_after = load();
  results.table = rows.map(([item, measured, target, met]) => ({
    item,
    measured,
    target,
    verdict: met === null ? 'reported' : met ? 'met' : 'not met',
  }));
  printTable(rows, results);
  writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write('written to bench/results.json\n');
}

/** Item 1 (and the peers) under one durability mode, with the Postgres floor it is read against. */
async function benchChain(
  env: Record<string, string>,
  rt: Runtime,
  redis: Redis,
  db: pg.Pool,
  infra: Infra,
  mode: Durability,
) {
  const runs = num('BENCH_RUNS', 1000);
  const c = await measureChain(env, rt, redis, db, {
    runs,
    rounds: num('BENCH_ROUNDS', 3),
    pacedS: num('BENCH_PACED_S', 5),
    rate: num('BENCH_RATE', 100),
    costRuns: num('BENCH_COST_RUNS', 500),
    pids: infra.pids,
    profileDir: settings.profileDir,
    peers: settings.peers ? PEERS : [],
    infra: { pgUrl: infra.pgUrl, redisUrl: infra.redisUrl, dir: infra.dir },
  });
  const f = await measurePostgresFloor(infra.dbUrl, num('BENCH_FLOOR_CALLS', 2000));
  return { runs, durability: { mode, ...DURABILITY_SETTINGS[mode] }, ...c, postgres_floor: f };
}

/** The items that run once, under the first durability mode. */
async function benchOnceItems(env: Record<string, string>, rt: Runtime, db: pg.Pool, results: Results, rows: Row[]) {
  if (only.has('tracing')) {
    const { tracing: tc } = await measureTracingCost(env, rt, db, {
      runs: num('BENCH_TRACE_RUNS', 500),
      rounds: num('BENCH_TRACE_ROUNDS', 3),
    });
    results.tracing = tc;
    rows.push([
      `1t throughput with tracing on, every span exported (runs/s, median of ${tc.rounds.on.length} alternating rounds)`,
      `off ${tc.off_runs_per_s}, on ${tc.on_runs_per_s}: ${tc.cost_pct}% fewer (rounds off ${tc.rounds.off.join('/')}, on ${tc.rounds.on.join('/')}; ${tc.spans_per_run} spans per run)`,
      '<= 10% fewer',
      tc.cost_pct <= 10,
    ]);
  }
  if (only.has('real')) {
    const r = await measureRealWork(env, num('BENCH_REAL_RUNS', 3));
    results.real_work = r;
    rows.push([
      '4 real work overhead (consistent sample)',
      `${r.overhead_pct}% (rayvault ${r.rayvault_ms} ms, tools direct ${r.direct_tools_ms} ms)`,
      '<= 20%',
      r.overhead_pct <= 20,
    ]);
  }
  if (only.has('recovery')) {
    const r = await measureRecovery(env, num('BENCH_KILLS', 10));
    results.recovery = r;
    rows.push([
      `5 kill -9 recovery x${r.kills} (ms)`,
      `median ${r.median_ms}, max ${r.max_ms}`,
      `max <= lease + 2 s (${r.target_ms})`,
      r.max_ms <= r.target_ms,
    ]);
  }
  if (only.has('startup')) {
    const s = await measureStartup();
    results.startup = s;
    rows.push(...startupRows(s));
  }
}

function startupRows(s: Awaited<ReturnType<typeof measureStartup>>): Row[] {
  const rss = Object.values(s.rss_idle_mb);
  const c = s.cli_ms;
  return [
    [
      '6b npm start -> /readyz, state initialised (ms)',
      `${s.ready_ms} (first start ${s.first_start_ms}, SIGINT stop ${s.stop_ms})`,
      '<= 3000',
      s.ready_ms <= 3000,
    ],
    [
      '6c idle RSS per service (MB)',
      Object.entries(s.rss_idle_mb)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      '<= 80 each',
      rss.length === 5 && Math.max(...rss) <= 80,
    ],
    [
      '6d CLI start-up (ms, median of 5)',
      `node -e 0 ${c.node_e_0}; rayvault --version ${c.version} (${(c.version / c.node_e_0).toFixed(1)}x); runs --json ${c.runs_json} (${(c.runs_json / c.node_e_0).toFixed(1)}x)`,
      '--version <= 4x, runs --json <= 8x',
      c.version <= 4 * c.node_e_0 && c.runs_json <= 8 * c.node_e_0,
    ],
  ];
}

function printTable(rows: Row[], results: Record<string, unknown>) {
  const cells = rows.map(([item, measured, target, met]) => [
    item,
    measured,
    target,
    met === null ? '' : met ? 'met' : 'NOT MET',
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...cells.map((c) => c[i].length), 6));
  const line = (c: string[]) =>
    `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2].padEnd(widths[2])}  ${c[3]}`;
  process.stdout.write(
    `\nRayVault benchmark (${results.cpus} cpus, load ${(results.load_before as number[])[0]} -> ${(results.load_after as number[])[0]})\n`,
  );
  process.stdout.write(`${line(['item', 'measured', 'target', 'verdict'])}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
