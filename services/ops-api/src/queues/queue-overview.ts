import type { Queue } from 'bullmq';
import { ALL_QUEUES, intakeState, redisLayout, STAGES, type Runtime, type WorkerRecord } from '@rayvault/shared';
import { withTimeout } from '../http/timeout';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'] as const;
export type QueueCounts = Record<(typeof QUEUE_STATES)[number], number> & { is_paused: boolean };

/**
 * The queues an operator may look at and act on: the four stages and the
 * alerts queue. A Map, so a name from a URL finds only these (on a plain
 * object "constructor" or "__proto__" would find Object's own properties).
 */
export function opsQueues(rt: Runtime): ReadonlyMap<string, Queue> {
  return new Map<string, Queue>([
    ...STAGES.map((s) => [s, rt.queues[s] as Queue] as const),
    ['alerts', rt.alerter.queue as Queue],
  ]);
}

/** BullMQ 6 has no paused list: a paused queue's waiting jobs are its paused ones. */
export async function queueCounts(q: Queue): Promise<QueueCounts> {
  const [c, isPaused] = await Promise.all([
    q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
    q.isPaused(),
  ]);
  const n = (k: string) => c[k] ?? 0;
  return {
    waiting: n('waiting'),
    active: n('active'),
    delayed: n('delayed'),
    prioritized: n('prioritized'),
    completed: n('completed'),
    failed: n('failed'),
    paused: isPaused ? n('waiting') + n('prioritized') : 0,
    is_paused: isPaused,
  };
}

/** A worker as /health and the queues' triage show it. */
export function workerStatus(w: WorkerRecord) {
  return {
    id: w.id,
    state: w.state,
    queues: w.queues,
    current_run: w.current_run,
    current_job: w.current_job,
    heartbeat_age_ms: w.heartbeat_age_ms,
    last_heartbeat_latency_ms: w.last_heartbeat_latency_ms,
    last_error: w.last_error,
    stopped_at: w.stopped_at,
  };
}

/** The triage's view adds whether it is alive and where it runs. */
function workerView(w: WorkerRecord, staleMs: number) {
  const live = !w.stopped_at && w.heartbeat_age_ms <= staleMs;
  return { ...workerStatus(w), live, host: w.host, pid: w.pid };
}

/**
 * GET /api/ops/queues. offline: Redis does not answer or no worker is alive;
 * degraded: a worker is stale or in panic, a queue is paused, or intake is paused.
 */
export async function queueOverview(rt: Runtime) {
  const staleMs = Math.max(rt.config.heartbeatMs * 3, rt.config.RAYVAULT_LEASE_MS);
  const workers = (await rt.store.listWorkers()).map((w) => workerView(w, staleMs));
  const seen = workers.filter((w) => !w.stopped_at);
  const queues = opsQueues(rt);
  try {
    const [counts, intake, scheduled, redis] = await withTimeout(
      Promise.all([
        Promise.all([...queues].map(async ([name, q]) => [name, await queueCounts(q)] as const)),
        intakeState(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX),
        Promise.all([...queues.values()].map((q) => q.getJobSchedulersCount())),
        redisLayout(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, ALL_QUEUES),
      ]),
      3000,
      'redis did not answer within 3000 ms',
    );
    const byName = Object.fromEntries(counts);
    const live = seen.filter((w) => w.live);
    const degraded =
      seen.some((w) => !w.live || w.state === 'panic') || counts.some(([, c]) => c.is_paused) || intake.paused;
    const status = live.length === 0 ? 'offline' : degraded ? 'degraded' : 'online';
    return {
      status,
      queues: byName,
      workers,
      scheduler: { scheduled_jobs: scheduled.reduce((a, b) => a + b, 0) },
      intake,
      redis,
    };
  } catch (err) {
    return {
      status: 'offline' as const,
      error: `queues unavailable: ${(err as Error).message}`,
      queues: {},
      workers,
      scheduler: null,
      intake: null,
      redis: null,
    };
  }
}

/** What is still queued or running, per stage queue: what a drain waits for. */
export async function remainingWork(rt: Runtime) {
  const counts = await Promise.all(
    STAGES.map(async (s) => {
      const c = await rt.queues[s].getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return [
        s,
        { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, prioritized: c.prioritized ?? 0 },
      ] as const;
    }),
  );
  const total = counts.reduce((n, [, c]) => n + c.waiting + c.active + c.delayed + c.prioritized, 0);
  const inFlight = await rt.store.runsInFlight();
  return {
    jobs: Object.fromEntries(counts),
    jobs_total: total,
    runs_in_flight: inFlight.length,
    drained: total === 0 && inFlight.length === 0,
  };
}
