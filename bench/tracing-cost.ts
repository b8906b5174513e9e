// Item 1t: the throughput item (RayVault's full machinery, a process per
// stage, no-op processors) with tracing off and on. On, every stage worker
// exports every span (stage tries, claims, steps, each pg and Redis command
// under them) over OTLP/HTTP protobuf to a receiver on loopback that decodes
// them all after the rounds (counted, so none was dropped: the batch queue is
// sized for it).
// Off and on take turns, each with its own set of stage processes. Besides runs/s, each measured round
// reports the stage processes' CPU per run (steadier than runs/s on a shared machine) and, after the rounds,
// which spans a run made. BENCH_PROFILE=DIR writes a CPU profile per stage process under DIR/tracing-<off|on>/.
import path from 'node:path';
import pg from 'pg';
import { STAGES, submitRun, type Runtime } from '@rayvault/shared';
import { startOtlpReceiverDouble } from '../test/fixtures/otlp/otlp-receiver-double';
import { benchNumber, benchSettings, childEnv } from './bench-config';
import { cpuOfPid } from './cpu';
import { bundleForBench, serviceNodeFlags, spawnBuilt, stopAll, type Proc } from './infra';
import { round, waitUntil } from './chain';

type Mode = 'off' | 'on';

export async function measureTracingCost(
  env: Record<string, string>,
  rt: Runtime,
  db: pg.Pool,
  o: { runs: number; rounds: number },
) {
  // Bodies are decoded after the rounds: the cost measured is the exporters', not this receiver's.
  const sink = await startOtlpReceiverDouble({ deferDecode: true });
  const worker = await bundleForBench('bench/stage-worker.ts', path.dirname(env.RAYVAULT_STATE_DIR));
  const traced = {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_BSP_MAX_QUEUE_SIZE: '100000',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
  };
  // Each side with the V8 flags npm start gives a service so configured (with tracing: V8's 16 MB young generation).
  const flags = {
    off: await serviceNodeFlags(childEnv(env)),
    on: await serviceNodeFlags(childEnv({ ...env, ...traced })),
  };
  const profileDir = benchSettings().profileDir;
  const prof = (mode: Mode, s: string) =>
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/tracing-${mode}/${s}`] : [];
  const spawnStages = (mode: Mode) =>
    STAGES.map((s) =>
      spawnBuilt(worker, { ...env, BENCH_STAGE: s, BENCH_MODE: 'rayvault', ...(mode === 'on' ? traced : {}) }, [
        ...flags[mode],
        ...prof(mode, s),
      ]),
    );
  // A fresh stage process runs its export path for the first time only once a batch is due: cold, V8
  // serializes a span 4-10x slower than warm (40, 16, 10, then 4 us a span over the first batches of 2048).
  // A worker that has run for a while exports warm, so the warm-up lasts until each process has exported a
  // few batches (about 7 spans a run per process: 1000 runs, three batches); off gets the same warm-up.
  const warmup = benchNumber('BENCH_TRACE_WARMUP', 1000);
  const rates = { off: [] as number[], on: [] as number[] };
  const cpu = { off: [] as number[], on: [] as number[] };
  const benchCpu = { off: [] as number[], on: [] as number[] };
  for (let r = 0; r < o.rounds; r++) {
    for (const mode of ['off', 'on'] as const) {
      const procs = spawnStages(mode);
      await Promise.all(procs.map((p) => p.ready));
      await runRound(rt, db, warmup); // warm-up: JIT (the exporter's too), connections
      const [cpu0, bench0] = [cpuOf(procs), cpuOfPid(process.pid)];
      rates[mode].push(await runRound(rt, db, o.runs));
      cpu[mode].push((cpuOf(procs) - cpu0) / o.runs);
      benchCpu[mode].push((cpuOfPid(process.pid) - bench0) / o.runs);
      await stopAll(procs); // SIGTERM: the SDK flushes what is batched
    }
  }
  sink.decodeAll();
  const names = sink.spans.map((s) => s.name);
  await sink.close();
  const t = report(rates, cpu, names, o.rounds * (o.runs + warmup));
  // This process submits the runs and, on, receives the spans: its share shows the receiver's cost is small.
  const bench = { off: round(median(benchCpu.off), 1), on: round(median(benchCpu.on), 1) };
  return { tracing: { ...t, warmup_runs: warmup, bench_process_cpu_ms_per_run: bench } };
}

/** CPU ms the stage processes used so far. */
const cpuOf = (procs: Proc[]) => procs.reduce((n, p) => n + cpuOfPid(p.pid), 0);

/** Submits `n` runs and waits until all are done: runs per second. */
async function runRound(rt: Runtime, db: pg.Pool, n: number) {
  const t0 = Date.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    inflight.push(submitRun(rt, { product: { name: `trace-bench-${i}` }, actor: 'bench' }));
    if (inflight.length >= 50) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  await waitUntil(
    async () =>
      !(await db.query(`SELECT 1 FROM runs WHERE status IN ('queued', 'approved', 'running') LIMIT 1`)).rowCount,
  );
  return n / ((Date.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function report(rates: Record<Mode, number[]>, cpu: Record<Mode, number[]>, names: string[], runs: number) {
  const off = median(rates.off);
  const on = median(rates.on);
  // Which spans a run makes (a pg or Redis span is named after its operation), busiest first.
  const byName: Record<string, number> = {};
  for (const n of names) byName[n] = (byName[n] ?? 0) + 1;
  return {
    off_runs_per_s: round(off),
    on_runs_per_s: round(on),
    cost_pct: round(((off - on) / off) * 100, 1),
    rounds: { off: rates.off.map((x) => round(x)), on: rates.on.map((x) => round(x)) },
    stages_cpu_ms_per_run: {
      off: round(median(cpu.off), 1),
      on: round(median(cpu.on), 1),
      rounds: { off: cpu.off.map((x) => round(x, 1)), on: cpu.on.map((x) => round(x, 1)) },
    },
    spans_exported: names.length,
    spans_per_run: round(names.length / runs, 1),
    spans_per_run_by_name: Object.fromEntries(
      Object.entries(byName)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, round(v / runs, 2)]),
    ),
  };
}
