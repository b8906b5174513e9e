import type { Counter, Registry } from 'prom-client';
import {
  COUNTER_NAMES,
  readCounters,
  RUN_STATUSES,
  spoolDepth,
  workerStaleMs,
  type CounterName,
  type Runtime,
} from '@rayvault/shared';
import { opsQueues, QUEUE_STATES, queueCounts } from '../queues/queue-overview';
import { registerStageHistogram } from './stage-histogram';

/** Labels each cluster-wide counter is bumped with (shared/src/ops/counters.ts callers). */
const COUNTER_LABELS: Record<CounterName, string[]> = {
  lock_renewals: [],
  lock_losses: [],
  panics: ['kind'],
  telegram_deliveries: ['kind', 'result'],
  spool_appends: [],
  fenced_writes: [],
};

/** `name{a="x",b="y"}` → [name, {a: 'x', b: 'y'}]. */
function parseField(field: string): [string, Record<string, string>] {
  const m = /^(\w+)(?:\{(.*)\})?$/.exec(field);
  if (!m) return [field, {}];
  const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
  return [m[1], labels];
}

type PromClient = typeof import('prom-client');

/** Every gauge the registry shows, in the order a scrape lists them (the stage histogram after the queue jobs). */
function createGauges({ Gauge }: PromClient, registry: Registry, rt: Runtime) {
  const reg = [registry];
  const queueJobs = new Gauge({
    name: 'rayvault_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: reg,
  });
  registerStageHistogram(registry, rt);
  // From run_stages over a fixed 24 h window: a snapshot for the dashboard, not a quantile Prometheus can aggregate
  // (the histogram is).
  const recentDuration = new Gauge({
    name: 'rayvault_stage_duration_last_24h_seconds',
    help: 'Stage durations finished in the last 24 h, from the database: statistic p50, p95 or max',
    labelNames: ['stage', 'statistic'],
    registers: reg,
  });
  const stagesFinished = new Gauge({
    name: 'rayvault_stages_finished_last_24h',
    help: 'Stages finished in the last 24 h, from the database',
    labelNames: ['stage'],
    registers: reg,
  });
  const runs = new Gauge({ name: 'rayvault_runs', help: 'Runs by status', labelNames: ['status'], registers: reg });
  const gates = new Gauge({
    name: 'rayvault_gates_open',
    help: 'Runs waiting for an operator decision',
    registers: reg,
  });
  const gateAge = new Gauge({
    name: 'rayvault_gate_oldest_age_seconds',
    help: 'How long the oldest open gate has waited for a decision (0 when none is open)',
    registers: reg,
  });
  const spool = new Gauge({
    name: 'rayvault_spool_depth',
    help: 'Spooled writes not yet replayed into the database',
    registers: reg,
  });
  const workers = new Gauge({
    name: 'rayvault_workers',
    help: 'Workers not stopped, by state',
    labelNames: ['state'],
    registers: reg,
  });
  const staleWorkers = new Gauge({
    name: 'rayvault_workers_stale',
    help: "Workers not stopped whose last heartbeat is older than the stale threshold (the doctor's STALE_WORKER)",
    registers: reg,
  });
  return { queueJobs, recentDuration, stagesFinished, runs, gates, gateAge, spool, workers, staleWorkers };
}
type Gauges = ReturnType<typeof createGauges>;

/** One counter per cluster-wide counter name, filled from the Redis counter hash. */
function createCounters({ Counter }: PromClient, reg: Registry[]): Record<CounterName, Counter<string>> {
  return Object.fromEntries(
    COUNTER_NAMES.map((n) => [
      n,
      new Counter({
        name: `rayvault_${n}_total`,
        help: `Cluster-wide ${n.replace(/_/g, ' ')}`,
        labelNames: COUNTER_LABELS[n],
        registers: reg,
      }),
    ]),
  ) as Record<CounterName, Counter<string>>;
}

/** The counter hash's fields (`name{label="v"}`) added to their counters, with only the labels each counter knows. */
function fillCounters(counters: Record<CounterName, Counter<string>>, raw: Record<string, number>): void {
  for (const [field, value] of Object.entries(raw)) {
    const [name, labels] = parseField(field);
    const counter = counters[name as CounterName];
    if (!counter) continue;
    const known = Object.fromEntries(COUNTER_LABELS[name as CounterName].map((l) => [l, labels[l] ?? '']));
    counter.inc(known, Math.max(0, value));
  }
}

/** Resets and refills every value from where it lives. */
async function refresh(rt: Runtime, g: Gauges, counters: Record<CounterName, Counter<string>>): Promise<void> {
  const [counts, figures, raw, workerList] = await Promise.all([
    Promise.all([...opsQueues(rt)].map(async ([name, q]) => [name, await queueCounts(q)] as const)),
    rt.operations.metrics(),
    readCounters(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX),
    rt.store.listWorkers(),
  ]);
  const { queueJobs, recentDuration, stagesFinished, runs, workers } = g;
  for (const m of [queueJobs, recentDuration, stagesFinished, runs, workers, ...Object.values(counters)]) m.reset();
  for (const [queue, c] of counts) for (const state of QUEUE_STATES) queueJobs.set({ queue, state }, c[state]);
  for (const status of RUN_STATUSES) runs.set({ status }, figures.runs_by_status[status] ?? 0);
  g.gates.set(figures.gates_open);
  g.gateAge.set(Math.max(0, figures.oldest_gate_age_s ?? 0));
  for (const s of figures.stage_durations) {
    stagesFinished.set({ stage: s.stage }, s.count);
    for (const [statistic, v] of [
      ['p50', s.p50],
      ['p95', s.p95],
      ['max', s.max],
    ] as const)
      recentDuration.set({ stage: s.stage, statistic }, v);
  }
  fillCounters(counters, raw);
  const running = workerList.filter((x) => !x.stopped_at);
  for (const w of running) workers.inc({ state: w.state });
  g.staleWorkers.set(running.filter((w) => w.heartbeat_age_ms > workerStaleMs(rt.config)).length);
  g.spool.set(spoolDepth(rt.spoolDir));
}

/**
 * The ops API's own registry. Every figure is read at scrape time from where
 * it lives (BullMQ, the database, the Redis counter hash, the spool dir), so
 * any number of API instances report the same values.
 */
export function createMetrics(rt: Runtime) {
  // prom-client loads on the first scrape: an API nobody scrapes does not keep it in memory (about 1.4 MB).
  let built:
    Promise<{ registry: Registry; gauges: Gauges; counters: Record<CounterName, Counter<string>> }> | undefined;
  const build = () =>
    (built ??= import('prom-client').then((p) => {
      const registry = new p.Registry();
      return { registry, gauges: createGauges(p, registry, rt), counters: createCounters(p, [registry]) };
    }));
  let queue: Promise<unknown> = Promise.resolve();
  return {
    /** One scrape at a time: each resets and refills the values. */
    render(): Promise<{ contentType: string; body: string }> {
      const next = queue.then(async () => {
        const { registry, gauges, counters } = await build();
        await refresh(rt, gauges, counters);
        return { contentType: registry.contentType, body: await registry.metrics() };
      });
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
