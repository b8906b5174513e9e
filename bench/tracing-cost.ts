// Item 1t: the throughput item (RayVault's full machinery, a process per
// stage, no-op processors) with tracing off and on. On, every stage worker
// exports every span (stage tries, claims, steps, each pg and Redis command
// under them) over OTLP/HTTP protobuf to a receiver on loopback that decodes
// them all after the rounds (counted, so none was dropped: the batch queue is
// sized for it).
// Off and on take turns, each with its own set of stage processes.
import path from 'node:path';
import pg from 'pg';
import { STAGES, submitRun, type Runtime } from '@rayvault/shared';
import { startOtlpReceiverDouble } from '../test/fixtures/otlp/otlp-receiver-double';
import { bundleForBench, serviceNodeFlags, spawnBuilt, stopAll } from './infra';
import { round, waitUntil } from './chain';

export async function measureTracingCost(
  env: Record<string, string>,
  rt: Runtime,
  db: pg.Pool,
  o: { runs: number; rounds: number },
) {
  // Bodies are decoded after the rounds: the cost measured is the exporters', not this receiver's.
  const sink = await startOtlpReceiverDouble({ deferDecode: true });
  const worker = await bundleForBench('bench/stage-worker.ts', path.dirname(env.RAYVAULT_STATE_DIR));
  const flags = await serviceNodeFlags();
  const traced = {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_BSP_MAX_QUEUE_SIZE: '100000',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
  };
  const runRound = async (n: number) => {
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
  };
  const rates = { off: [] as number[], on: [] as number[] };
  for (let r = 0; r < o.rounds; r++) {
    for (const mode of ['off', 'on'] as const) {
      const procs = STAGES.map((s) =>
        spawnBuilt(worker, { ...env, BENCH_STAGE: s, BENCH_MODE: 'rayvault', ...(mode === 'on' ? traced : {}) }, flags),
      );
      await Promise.all(procs.map((p) => p.ready));
      await runRound(Math.ceil(o.runs / 4)); // warm-up: JIT, connections
      rates[mode].push(await runRound(o.runs));
      await stopAll(procs); // SIGTERM: the SDK flushes what is batched
    }
  }
  sink.decodeAll();
  const spans = sink.spans.length;
  await sink.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const off = median(rates.off);
  const on = median(rates.on);
  return {
    tracing: {
      off_runs_per_s: round(off),
      on_runs_per_s: round(on),
      cost_pct: round(((off - on) / off) * 100, 1),
      rounds: { off: rates.off.map((x) => round(x)), on: rates.on.map((x) => round(x)) },
      spans_exported: spans,
      spans_per_run: round(spans / (o.rounds * (o.runs + Math.ceil(o.runs / 4))), 1),
    },
  };
}
