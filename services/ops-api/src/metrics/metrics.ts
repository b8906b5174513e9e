import { Counter, Gauge, Registry } from 'prom-client';
import { COUNTER_NAMES, readCounters, RUN_STATUSES, spoolDepth, type CounterName, type Runtime } from '@rayvault/shared';
import { opsQueues, QUEUE_STATES, queueCounts } from '../queues/queue-overview';

/** Labels each cluster-wide counter is bumped with (shared/src/ops/counters.ts callers). */
const COUNTER_LABELS: Record<CounterName, string[]> = {
  lock_renewals: [], lock_losses: [], panics: ['kind'], telegram_deliveries: ['kind', 'result'], spool_appends: [], fenced_writes: [],
};

type DbFigures = { runs_by_status: Record<string, number>; gates_open: number; stage_durations: { stage: string; count: number; p50: number; p95: number; max: number }[] };

/** `name{a="x",b="y"}` → [name, {a: 'x', b: 'y'}]. */
function parseField(field: string): [string, Record<string, string>] {
  const m = /^(\w+)(?:\{(.*)\})?$/.exec(field);
  if (!m) return [field, {}];
  const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
  return [m[1], labels];
}

/**
 * The ops API's own registry. Every figure is read at scrape time from where
 * it lives (BullMQ, the database, the Redis counter hash, the spool dir), so
 * any number of API instances report the same values.
 */
export function createMetrics(rt: Runtime) {
  const registry = new Registry();
  const reg = [registry];
  const queueJobs = new Gauge({ name: 'rayvault_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers: reg });
  const stageDuration = new Gauge({ name: 'rayvault_stage_duration_seconds', help: 'Stage durations of the last 24 h (quantile 1 = max), from run_stages', labelNames: ['stage', 'quantile'], registers: reg });
  const stagesFinished = new Gauge({ name: 'rayvault_stages_finished_24h', help: 'Stages finished in the last 24 h', labelNames: ['stage'], registers: reg });
  const runs = new Gauge({ name: 'rayvault_runs', help: 'Runs by status', labelNames: ['status'], registers: reg });
  const gates = new Gauge({ name: 'rayvault_gates_open', help: 'Runs waiting for an operator decision', registers: reg });
  const spool = new Gauge({ name: 'rayvault_spool_depth', help: 'Spooled writes not yet replayed into the database', registers: reg });
  const workers = new Gauge({ name: 'rayvault_workers', help: 'Workers not stopped, by state', labelNames: ['state'], registers: reg });
  const counters = Object.fromEntries(COUNTER_NAMES.map((n) => [n, new Counter({ name: `rayvault_${n}_total`, help: `Cluster-wide ${n.replace(/_/g, ' ')}`, labelNames: COUNTER_LABELS[n], registers: reg })])) as Record<CounterName, Counter<string>>;
  const prefix = rt.config.RAYVAULT_QUEUE_PREFIX;

  async function refresh() {
    const [counts, figures, raw, workerList] = await Promise.all([
      Promise.all([...opsQueues(rt)].map(async ([name, q]) => [name, await queueCounts(q)] as const)),
      rt.store.rpc('rv_ops_metrics', {}) as Promise<DbFigures>,
      readCounters(rt.fastRedis, prefix),
      rt.store.listWorkers(),
    ]);
    for (const m of [queueJobs, stageDuration, stagesFinished, runs, workers, ...Object.values(counters)]) m.reset();
    for (const [queue, c] of counts) for (const state of QUEUE_STATES) queueJobs.set({ queue, state }, c[state]);
    for (const status of RUN_STATUSES) runs.set({ status }, Number(figures.runs_by_status[status] ?? 0));
    gates.set(Number(figures.gates_open));
    for (const s of figures.stage_durations) {
      stagesFinished.set({ stage: s.stage }, Number(s.count));
      for (const [quantile, v] of [['0.5', s.p50], ['0.95', s.p95], ['1', s.max]] as const) stageDuration.set({ stage: s.stage, quantile }, Number(v));
    }
    for (const [field, value] of Object.entries(raw)) {
      const [name, labels] = parseField(field);
      const counter = counters[name as CounterName];
      if (!counter) continue;
      const known = Object.fromEntries(COUNTER_LABELS[name as CounterName].map((l) => [l, labels[l] ?? '']));
      counter.inc(known, Math.max(0, value));
    }
    for (const w of workerList.filter((x) => !x.stopped_at)) workers.inc({ state: w.state });
    spool.set(spoolDepth(rt.spoolDir));
  }

  let queue: Promise<unknown> = Promise.resolve();
  return {
    contentType: registry.contentType,
    /** One scrape at a time: each resets and refills the values. */
    render(): Promise<string> {
      const next = queue.then(refresh).then(() => registry.metrics());
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
