// `npm run bench`: RayVault's orchestration against a raw BullMQ four-queue
// chain on the same Redis, real work against its tools run directly, recovery
// after kill -9, memory and start-up time. Prints a table of every item with
// its target and writes bench/results.json.
// Sizes: BENCH_RUNS (throughput, per round) and BENCH_ROUNDS (raw and RayVault take turns), BENCH_PACED_S and BENCH_RATE (latency), BENCH_COST_RUNS,
// BENCH_REAL_RUNS, BENCH_KILLS, BENCH_FLOOR_CALLS, BENCH_TRACE_RUNS and BENCH_TRACE_ROUNDS. BENCH_ONLY=chain,tracing,real,recovery,startup runs a
// subset; BENCH_PROFILE=DIR writes a CPU profile per RayVault stage process.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createLogger, createRuntime, loadConfig, STAGES } from '@rayvault/shared';
import { measureChain } from './chain';
import { measurePostgresFloor } from './postgres-floor';
import { startBenchInfra } from './infra';
import { measureRealWork } from './real-work';
import { measureRecovery } from './recovery';
import { measureStartup } from './startup';
import { measureTracingCost } from './tracing-cost';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const only = new Set((process.env.BENCH_ONLY ?? 'chain,tracing,real,recovery,startup').split(','));

type Row = [item: string, measured: string, target: string, met: boolean | null];

async function main() {
  const load = () => os.loadavg().map((n) => Math.round(n * 100) / 100);
  const results: Record<string, unknown> = { node: process.version, cpus: os.cpus().length, at: new Date().toISOString(), load_before: load() };
  const rows: Row[] = [];
  const infra = await startBenchInfra();
  const env = { REDIS_URL: infra.redisUrl, DATABASE_URL: infra.dbUrl, RAYVAULT_STATE_DIR: path.join(infra.dir, 'state'), RAYVAULT_LOG_LEVEL: 'error',
    RAYVAULT_QUEUE_PREFIX: '{bench}', RAYVAULT_LEASE_MS: '5000', RAYVAULT_PG_POOL: '20', RAYVAULT_SAMPLES: '0' };
  const redis = new Redis(infra.redisUrl);
  const db = new pg.Pool({ connectionString: infra.dbUrl, max: 2 });
  // Its connections are still closing when the bench stops Postgres: that is no error.
  db.on('error', () => undefined);
  const rt = createRuntime(loadConfig(env, { useDotenv: false }), createLogger('bench', 'error'), { workerId: 'bench-submitter' });
  try {
    if (only.has('chain')) {
      const runs = num('BENCH_RUNS', 1000);
      const c = await measureChain(env, rt, redis, db, { runs, rounds: num('BENCH_ROUNDS', 3), pacedS: num('BENCH_PACED_S', 5), rate: num('BENCH_RATE', 100), costRuns: num('BENCH_COST_RUNS', 500), pids: infra.pids, profileDir: process.env.BENCH_PROFILE });
      Object.assign(results, { runs }, c);
      const t = c.throughput;
      rows.push([`1 throughput (runs/s, 4 stages, median of ${t.rounds.raw.length} alternating rounds)`, `raw ${t.raw_runs_per_s}, rayvault ${t.rayvault_runs_per_s}: ratio ${t.ratio} (rounds raw ${t.rounds.raw.join('/')}, rayvault ${t.rounds.rayvault.join('/')})`, 'ratio >= 0.5', t.ratio >= 0.5]);
      rows.push(['  cpu ms per transition', `raw ${t.cpu_ms_per_transition.raw.total}, rayvault ${t.cpu_ms_per_transition.rayvault.total} (stages ${t.cpu_ms_per_transition.rayvault.stages}, postgres ${t.cpu_ms_per_transition.rayvault.postgres}, redis ${t.cpu_ms_per_transition.rayvault.redis})`, '', null]);
      const cs = t.context_switches_per_transition;
      rows.push(['  context switches per transition (whole machine, throughput rounds)', `raw ${cs.raw}, rayvault ${cs.rayvault}`, 'report', null]);
      const l = c.latency_ms;
      rows.push([`2 latency p50/p99 at ${l.rate_per_s} runs/s (ms)`, `raw ${l.raw.p50}/${l.raw.p99}, rayvault ${l.rayvault.p50}/${l.rayvault.p99}`, `p99 <= 2 x raw (${2 * l.raw.p99})`, l.rayvault.p99 <= 2 * l.raw.p99]);
      const hop = (h: string) => `${l.rayvault_hops[h].p50}/${l.rayvault_hops[h].p99}`;
      rows.push(['  rayvault per stage p50/p99 (ms)', STAGES.map((s) => `${s} wait ${hop(`wait:${s}`)} run ${hop(`in_stage:${s}`)}`).join(', '), 'report', null]);
      const k = c.cost_per_transition;
      // A stage transition is a claim and a completion; intake (creating the run) is one more call per run, not per transition.
      rows.push(['3 postgres round trips / stage transition', `${k.postgres_round_trips_stage_workers} in the stage workers (claim + complete, and their heartbeats: one per worker per lease/3 whatever the load); with intake spread over the 4 transitions ${k.postgres_round_trips}`, '<= 2', k.postgres_round_trips_stage_workers <= 2]);
      const f = await measurePostgresFloor(infra.dbUrl, num('BENCH_FLOOR_CALLS', 2000));
      results.postgres_floor = f;
      const u = f.postgres_cpu_us;
      rows.push(['3b postgres CPU per call, each alone (us)', `claim ${u.claim}, complete ${u.complete} (a transition: ${(u.claim + u.complete) / 1000} ms); create ${u.create}; SELECT 1 ${u.select_1}`, 'report', null]);
      rows.push(['3 redis commands / transition', `${k.redis_commands_sent} sent, ${k.redis_commands_in_scripts} inside BullMQ scripts`, 'report', null]);
      const loadRss = Math.max(...Object.values(c.rss_mb.under_load) as number[]);
      rows.push(['6a RSS per RayVault stage process, built, service flags (MB)', `idle ${Object.values(c.rss_mb.idle).join('/')}, load ${Object.values(c.rss_mb.under_load).join('/')}`, '<= 120 under load', loadRss <= 120]);
    }
    if (only.has('tracing')) {
      const { tracing: tc } = await measureTracingCost(env, rt, db, { runs: num('BENCH_TRACE_RUNS', 500), rounds: num('BENCH_TRACE_ROUNDS', 3) });
      results.tracing = tc;
      rows.push([`1t throughput with tracing on, every span exported (runs/s, median of ${tc.rounds.on.length} alternating rounds)`, `off ${tc.off_runs_per_s}, on ${tc.on_runs_per_s}: ${tc.cost_pct}% fewer (rounds off ${tc.rounds.off.join('/')}, on ${tc.rounds.on.join('/')}; ${tc.spans_per_run} spans per run)`, '<= 10% fewer', tc.cost_pct <= 10]);
    }
    if (only.has('real')) {
      const r = await measureRealWork(env, num('BENCH_REAL_RUNS', 3));
      results.real_work = r;
      rows.push(['4 real work overhead (consistent sample)', `${r.overhead_pct}% (rayvault ${r.rayvault_ms} ms, tools direct ${r.direct_tools_ms} ms)`, '<= 20%', r.overhead_pct <= 20]);
    }
    if (only.has('recovery')) {
      const r = await measureRecovery(env, num('BENCH_KILLS', 10));
      results.recovery = r;
      rows.push([`5 kill -9 recovery x${r.kills} (ms)`, `median ${r.median_ms}, max ${r.max_ms}`, `max <= lease + 2 s (${r.target_ms})`, r.max_ms <= r.target_ms]);
    }
    if (only.has('startup')) {
      const s = await measureStartup();
      results.startup = s;
      rows.push(['6b npm start -> /readyz, state initialised (ms)', `${s.ready_ms} (first start ${s.first_start_ms}, SIGINT stop ${s.stop_ms})`, '<= 3000', s.ready_ms <= 3000]);
      const rss = Object.values(s.rss_idle_mb);
      rows.push(['6c idle RSS per service (MB)', Object.entries(s.rss_idle_mb).map(([k, v]) => `${k} ${v}`).join(', '), '<= 80 each', rss.length === 5 && Math.max(...rss) <= 80]);
      const c = s.cli_ms;
      rows.push(['6d CLI start-up (ms, median of 5)', `node -e 0 ${c.node_e_0}; rayvault --version ${c.version} (${(c.version / c.node_e_0).toFixed(1)}x); runs --json ${c.runs_json} (${(c.runs_json / c.node_e_0).toFixed(1)}x)`, '--version <= 4x, runs --json <= 8x', c.version <= 4 * c.node_e_0 && c.runs_json <= 8 * c.node_e_0]);
    }
  } finally {
    await rt.releasers.close();
    redis.disconnect();
    await db.end();
    await infra.stop();
  }
  results.load_after = load();
  results.table = rows.map(([item, measured, target, met]) => ({ item, measured, target, verdict: met === null ? 'reported' : met ? 'met' : 'not met' }));
  printTable(rows, results);
  writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write('written to bench/results.json\n');
}

function printTable(rows: Row[], results: Record<string, unknown>) {
  const cells = rows.map(([item, measured, target, met]) => [item, measured, target, met === null ? '' : met ? 'met' : 'NOT MET']);
  const widths = [0, 1, 2].map((i) => Math.max(...cells.map((c) => c[i].length), 6));
  const line = (c: string[]) => `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2].padEnd(widths[2])}  ${c[3]}`;
  process.stdout.write(`\nRayVault benchmark (${results.cpus} cpus, load ${(results.load_before as number[])[0]} -> ${(results.load_after as number[])[0]})\n`);
  process.stdout.write(`${line(['item', 'measured', 'target', 'verdict'])}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
