import { randomUUID } from 'node:crypto';
import { dedupeKeys } from '../domain/keys';
import { PanicError } from '../errors/errors';
import { bumpCounter } from '../ops/counters';
import { touchHealthFile } from '../lifecycle/releasers';
import type { Runtime } from '../runtime';
import { durableWrite } from './durable';
import type { RunSession } from './run-session';

type WorkerRecordInput = Parameters<Runtime['store']['heartbeat']>[0];

/** Failed heartbeats in a row before the worker declares panic_heartbeat_uncertain. */
export const HEARTBEAT_FAILURES_FOR_PANIC = 3;

export type HeartbeatDeps = {
  rt: Runtime;
  sessions: Set<RunSession>;
  intervalMs: number;
  record: () => Omit<WorkerRecordInput, 'latencyMs'>;
  flushSpool: () => Promise<boolean>;
  onPanic: (message: string) => void;
};

/**
 * Renews every held run lock and upserts the worker record each interval.
 * A lock held by someone else aborts its stage (panic_lost_lock). Three failed
 * beats in a row make the worker uncertain: steps pause, events spool, and
 * work resumes only once both dependencies answer and each fence is still ours.
 */
export function createHeartbeat(deps: HeartbeatDeps) {
  const { rt, sessions } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let failures = 0;
  let latencyMs: number | null = null;
  const certainty = createCertainty();

  async function beat(): Promise<void> {
    const t0 = performance.now();
    const renewal = await renewAll(rt, sessions);
    const recorded = await rt.store.heartbeat({ ...deps.record(), latencyMs }).then(
      () => true,
      () => false,
    );
    if (renewal.ok && recorded) {
      latencyMs = Math.round(performance.now() - t0);
      failures = 0;
      touchHealthFile(rt.config.RAYVAULT_HEALTH_FILE);
      if (certainty.uncertain) await tryResume(rt, sessions, deps.flushSpool, certainty);
      await checkFences(rt, sessions);
      return;
    }
    failures++;
    rt.log.warn({ failures }, 'heartbeat failed');
    if (failures >= HEARTBEAT_FAILURES_FOR_PANIC && !certainty.uncertain) {
      certainty.pause();
      const message = `panic_heartbeat_uncertain: ${failures} heartbeats failed; side effects paused`;
      deps.onPanic(message);
      await announceUncertain(rt, sessions, failures, message);
    }
  }

  function schedule(ms: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = beat()
        .catch((err) => rt.log.error({ err }, 'heartbeat crashed'))
        .finally(() => {
          running = undefined;
          schedule(deps.intervalMs);
        });
    }, ms);
  }

  return {
    start: () => schedule(0),
    /** Beat now (state changed) unless one is in flight. */
    beatSoon: () => {
      if (!running) schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    whenCertain: certainty.whenCertain,
  };
}

/** Steps wait while the worker is uncertain of its dependencies; `resume()` lets them all go. */
function createCertainty() {
  let uncertain = false;
  let waiters: Array<() => void> = [];
  return {
    get uncertain() {
      return uncertain;
    },
    pause() {
      uncertain = true;
    },
    resume() {
      uncertain = false;
      for (const w of waiters) w();
      waiters = [];
    },
    whenCertain(signal: AbortSignal): Promise<void> {
      if (!uncertain) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push(resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
}

/** Certain again once both answer and the spool is replayed; each fence is checked before work resumes. */
async function tryResume(
  rt: Runtime,
  sessions: Set<RunSession>,
  flushSpool: () => Promise<boolean>,
  certainty: ReturnType<typeof createCertainty>,
) {
  if (!(await flushSpool().catch(() => false))) return;
  rt.log.info('dependencies answer again: resuming');
  await checkFences(rt, sessions);
  certainty.resume();
}

function lost(rt: Runtime, s: RunSession, why: string) {
  void bumpCounter(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, 'lock_losses');
  s.abort(new PanicError('panic_lost_lock', `run ${s.job.runId}: ${why}`));
}

/** All renewals at once: sent together, one round trip of waiting. `ok` is false when Redis did not answer. */
async function renewAll(rt: Runtime, sessions: Set<RunSession>): Promise<{ ok: boolean }> {
  let ok = true;
  let renewed = 0;
  await Promise.all(
    [...sessions].map(async (s) => {
      try {
        const r = await s.lease.renew();
        if (r === 'renewed' || r === 'reacquired') renewed++;
        // A session that ended meanwhile is not lost: the next stage's worker took over its lock.
        if (r === 'lost' && sessions.has(s)) lost(rt, s, 'lock taken by another holder');
      } catch {
        ok = false;
      }
    }),
  );
  if (renewed) void bumpCounter(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, 'lock_renewals', {}, renewed);
  return { ok };
}

/** After Redis lost the lock key (or we were uncertain), only the database says whether the run is still ours. */
async function checkFences(rt: Runtime, sessions: Set<RunSession>) {
  for (const s of sessions) {
    if (!s.lease.needsFenceCheck) continue;
    const run = await rt.store.getRun(s.job.runId).catch(() => undefined);
    if (!run) continue;
    s.lease.needsFenceCheck = false;
    if (run.fence !== s.fence) lost(rt, s, `fence moved from ${s.fence} to ${run.fence}`);
  }
}

/** Every held run gets the event (spooled if need be) and must pass a fence check before its work resumes. */
async function announceUncertain(rt: Runtime, sessions: Set<RunSession>, failures: number, message: string) {
  rt.log.error({ failures }, message);
  for (const s of sessions) {
    s.lease.needsFenceCheck = true;
    await durableWrite(rt.store.rpc, rt.spool, 'rv_append_event', {
      p_event_id: randomUUID(),
      p_run: s.job.runId,
      p_fence: s.fence,
      p_type: 'panic_heartbeat_uncertain',
      p_actor: rt.workerId,
      p_reason: message,
      p_payload: { failures },
    }).catch(() => undefined);
  }
  await rt.alerter.raise({
    kind: 'panic_heartbeat_uncertain',
    workerId: rt.workerId,
    title: `HEARTBEAT UNCERTAIN: ${rt.workerId}`,
    text: message,
    dedupeKey: dedupeKeys.heartbeatUncertain(rt.workerId, Date.now()),
  });
}
