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

/**
 * Renews every held run lock and upserts the worker record each interval.
 * A lock held by someone else aborts its stage (panic_lost_lock). Three failed
 * beats in a row make the worker uncertain: steps pause, events spool, and
 * work resumes only once both dependencies answer and each fence is still ours.
 */
export function createHeartbeat(deps: {
  rt: Runtime;
  sessions: Set<RunSession>;
  intervalMs: number;
  record: () => Omit<WorkerRecordInput, 'latencyMs'>;
  flushSpool: () => Promise<boolean>;
  onPanic: (message: string) => void;
}) {
  const { rt, sessions } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let failures = 0;
  let latencyMs: number | null = null;
  let uncertain = false;
  let waiters: Array<() => void> = [];

  const prefix = rt.config.RAYVAULT_QUEUE_PREFIX;
  const lost = (s: RunSession, why: string) => {
    void bumpCounter(rt.fastRedis, prefix, 'lock_losses');
    s.abort(new PanicError('panic_lost_lock', `run ${s.job.runId}: ${why}`));
  };

  async function beat(): Promise<void> {
    const t0 = performance.now();
    let ok = true;
    let renewed = 0;
    // All renewals at once: sent together, one round trip of waiting.
    await Promise.all(
      [...sessions].map(async (s) => {
        try {
          const r = await s.lease.renew();
          if (r === 'renewed' || r === 'reacquired') renewed++;
          // A session that ended meanwhile is not lost: the next stage's worker took over its lock.
          if (r === 'lost' && sessions.has(s)) lost(s, 'lock taken by another holder');
        } catch {
          ok = false;
        }
      }),
    );
    try {
      await rt.store.heartbeat({ ...deps.record(), latencyMs });
    } catch {
      ok = false;
    }
    if (renewed) void bumpCounter(rt.fastRedis, prefix, 'lock_renewals', {}, renewed);
    if (ok) {
      latencyMs = Math.round(performance.now() - t0);
      failures = 0;
      touchHealthFile(rt.config.RAYVAULT_HEALTH_FILE);
      if (uncertain) await recover();
      await checkFences();
      return;
    }
    failures++;
    rt.log.warn({ failures }, 'heartbeat failed');
    if (failures >= HEARTBEAT_FAILURES_FOR_PANIC && !uncertain) await becomeUncertain();
  }

  async function becomeUncertain() {
    uncertain = true;
    const message = `panic_heartbeat_uncertain: ${failures} heartbeats failed; side effects paused`;
    deps.onPanic(message);
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

  async function recover() {
    if (!(await deps.flushSpool().catch(() => false))) return;
    uncertain = false;
    rt.log.info('dependencies answer again: resuming');
    await checkFences();
    for (const w of waiters) w();
    waiters = [];
  }

  // After Redis lost the lock key (or we were uncertain), only the database says whether the run is still ours.
  async function checkFences() {
    for (const s of sessions) {
      if (!s.lease.needsFenceCheck) continue;
      const run = await rt.store.getRun(s.job.runId).catch(() => undefined);
      if (!run) continue;
      s.lease.needsFenceCheck = false;
      if (run.fence !== s.fence) lost(s, `fence moved from ${s.fence} to ${run.fence}`);
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
    whenCertain(signal: AbortSignal): Promise<void> {
      if (!uncertain) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push(resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
}
