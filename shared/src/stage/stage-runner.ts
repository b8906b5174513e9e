import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Stage, WorkerState } from '../domain/run-status';
import { nextStage } from '../domain/run-status';
import { isRayVaultError } from '../errors/rayvault-error';
import { isRedisUnavailable } from '../infra/redis';
import { DatabaseUnavailableError, FencedWriteError, isPanic, PanicError, ShutdownError } from '../errors/errors';
import { bumpCounter } from '../ops/counters';
import { enqueueStage, stageJobId, stageJobSchema, type StageJob } from '../queues/queues';
import type { Runtime } from '../runtime';
import { contextFromTraceparent, inSpan, spanAttributes, spanEvent } from '../telemetry/trace-context';
import { durableWrite, untilDatabaseAnswers } from './durable';
import { lazyChild } from './lazy-logger';
import { raceAbort, RunSession } from './run-session';
import { checkpointArgs, createStageContext } from './stage-context';
import type { StageOutcome, StageProcessor } from './types';

/** What the runner needs from its worker host. */
export type HostInternals = {
  rt: Runtime;
  sessions: Set<RunSession>;
  whenCertain: (signal: AbortSignal) => Promise<void>;
  /**
   * Replays this machine's spool; true when it is empty afterwards. With `ownSince`, nothing
   * is read when this process spooled nothing since the last replay that emptied it.
   */
  flushSpool: (ownSince?: boolean) => Promise<boolean>;
  state: () => WorkerState;
  setState: (state: WorkerState, session?: RunSession, error?: string) => void;
  onRunSettled: (runId: string) => void;
  /** Jobs inside this process now, and whether a suspect job runs alone. */
  occupancy: { jobs: number; solo: boolean; reservedUntil: number };
  /** True once the host is stopping: a job fetched in that moment goes back unclaimed. */
  stopping: () => boolean;
};

const RETRY_SOON_MS = 250;
const LOCK_EXPIRY_MARGIN_MS = 50;

/**
 * Wraps a stage processor with the run lifecycle: lease, fence, checkpoints,
 * heartbeat-driven abort, hand-off to the next stage, panics and retries.
 */
export function createJobProcessor(host: HostInternals, stage: Stage, processor: StageProcessor) {
  const { rt } = host;
  return async (job: Job<StageJob>, token?: string): Promise<unknown> => {
    const parsed = stageJobSchema.safeParse(job.data);
    if (!parsed.success || parsed.data.stage !== stage) throw new UnrecoverableError(`bad ${stage} job payload: ${parsed.error?.message ?? 'stage mismatch'}`);
    const data = parsed.data;
    // One span per stage try, child of the span that queued the job (the run's creation or the
    // previous stage): retries and takeovers of the job are siblings in the run's trace.
    return inSpan(`stage ${stage}`, { parent: contextFromTraceparent(data.traceparent), attributes: {
      'rayvault.run_id': data.runId, 'rayvault.stage': stage, 'rayvault.attempt': data.attempt, 'rayvault.try': job.attemptsMade + 1,
      'rayvault.worker_id': rt.workerId, 'rayvault.stalled_count': job.stalledCounter, 'messaging.message.id': job.id ?? '' } }, () => takeJob(job, token, data));
  };

  async function takeJob(job: Job<StageJob>, token: string | undefined, data: StageJob): Promise<unknown> {
    const log = lazyChild(rt.log, { queue: stage, jobId: job.id, runId: data.runId, attempt: data.attempt, try: job.attemptsMade + 1 });
    const retryLater = async (ms: number, why: string) => {
      spanEvent('job postponed', { 'rayvault.why': why, 'rayvault.in_ms': ms });
      log.info({ why, inMs: ms }, 'job postponed');
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError(why);
    };

    // A job that stalled twice is likely poison that kills its process (once is
    // as likely a bystander of some other crash): it runs alone, so the next
    // crash takes no bystander job down with it.
    const suspect = job.stalledCounter >= 2;
    const occ = host.occupancy;
    if (host.stopping()) return retryLater(0, 'worker stopping: job left for another worker');
    if (occ.solo || (suspect ? occ.jobs > 0 : occ.reservedUntil > Date.now())) {
      if (suspect) occ.reservedUntil = Date.now() + 2 * rt.config.RAYVAULT_LEASE_MS;
      return retryLater(RETRY_SOON_MS, suspect ? 'stalled before: waiting to run alone' : 'a suspect job runs alone here');
    }
    occ.jobs++;
    let shareAgain: NodeJS.Timeout | undefined;
    if (suspect) {
      occ.solo = true;
      occ.reservedUntil = 0;
      // Poison kills its process soon after it starts: a suspect that survived a lease alone shares the worker
      // again, so a long stage (a render) does not hold every other job of a single worker back to its end.
      shareAgain = setTimeout(() => (occ.solo = false), rt.config.RAYVAULT_LEASE_MS).unref();
    }
    try {
      return await runJob(job, token, data, log, retryLater);
    } finally {
      occ.jobs--;
      if (suspect) {
        clearTimeout(shareAgain);
        occ.solo = false;
      }
    }
  }

  async function runJob(job: Job<StageJob>, token: string | undefined, data: StageJob, log: typeof rt.log, retryLater: (ms: number, why: string) => Promise<never>): Promise<unknown> {
    // The lock connection may still be reconnecting after an outage while this job came through
    // the queue connection: not the job's fault, so no attempt is spent on it.
    const lease = await rt.locks.acquire(data.runId, rt.workerId, { attempt: data.attempt, stage }).catch((err) => {
      if (isRedisUnavailable(err)) return retryLater(rt.config.RAYVAULT_BACKOFF_MS, 'redis unreachable for the run lock');
      throw err;
    });
    if (!lease) {
      // A dead holder's lock is about to expire (a takeover): come back just after it does, not a heartbeat later.
      const leftMs = await rt.locks.expiresInMs(data.runId).catch(() => rt.config.heartbeatMs);
      return retryLater(Math.min(Math.max(RETRY_SOON_MS, rt.config.heartbeatMs), leftMs + LOCK_EXPIRY_MARGIN_MS), 'run lock held by another worker');
    }
    // The stop may have begun while the lock was being taken: claim nothing then.
    if (host.stopping()) {
      await rt.locks.release(lease).catch(() => undefined);
      return retryLater(0, 'worker stopping: job left for another worker');
    }
    let session: RunSession | undefined;
    let released = false;
    // Out of the heartbeat first, or its next renewal would set the lock again.
    const releaseLock = async () => {
      if (released) return;
      released = true;
      if (session) host.sessions.delete(session);
      await rt.locks.release(lease).catch((err) => log.warn({ err }, 'lock release failed (it will expire)'));
    };
    try {
      let claim;
      try {
        // Its own short span: exported at once, so a try whose process dies later still shows who claimed it, at which fence.
        claim = await inSpan('stage claim', { attributes: { 'rayvault.worker_id': rt.workerId, 'rayvault.stage': stage } }, async (span) => {
          const c = await rt.store.claimStage({ runId: data.runId, stage, attempt: data.attempt, workerId: rt.workerId });
          span.setAttributes({ 'rayvault.fence': c.run.fence, 'rayvault.stale': c.stale });
          return c;
        });
      } catch (err) {
        if (err instanceof DatabaseUnavailableError) return await retryLater(rt.config.RAYVAULT_BACKOFF_MS, 'database unreachable');
        throw err;
      }
      if (claim.stale) {
        spanAttributes({ 'rayvault.outcome': 'stale' });
        log.info({ status: claim.run.status, runStage: claim.run.stage, runAttempt: claim.run.attempt }, 'job no longer matches the run: skipped');
        return { skipped: 'stale' };
      }
      session = new RunSession(data, job.id ?? stageJobId(data), lease, claim.run.fence);
      const startedAt = performance.now();
      host.sessions.add(session);
      host.setState('active', session);
      const recorded = claim.steps ?? {};
      const local = rt.checkpoints.steps(data.runId, stage, claim.run.refetch_count);
      const steps = { ...recorded, ...local };
      const ctx = createStageContext({ rpc: rt.store.rpc, spool: rt.spool, checkpoints: rt.checkpoints, workerId: rt.workerId, whenCertain: host.whenCertain }, session, claim.run, steps, log);
      spanAttributes({ 'rayvault.fence': session.fence });
      // A takeover: the job stalled under a dead worker, or this attempt's steps were already begun.
      if (job.stalledCounter > 0 || Object.keys(steps).length > 0) {
        spanEvent('stage resumed', { 'rayvault.worker_id': rt.workerId, 'rayvault.fence': session.fence, 'rayvault.resumed_steps': Object.keys(steps).length, 'rayvault.stalled_count': job.stalledCounter });
      }
      log.info({ fence: session.fence, resumedSteps: Object.keys(steps).length }, 'stage started');
      try {
        // Steps the previous holder saved on disk but never got into the database (it died or froze in between): record them under our fence.
        for (const [name, result] of Object.entries(local)) {
          if (!(name in recorded)) await durableWrite(rt.store.rpc, rt.spool, 'rv_checkpoint', checkpointArgs(session, name, result));
        }
        const outcome = (await raceAbort(processor(ctx), session.signal)) ?? {};
        await finish(session, outcome, log, releaseLock);
        rt.stageDurations.observe(stage, 'gate' in outcome ? 'gate' : 'completed', (performance.now() - startedAt) / 1000);
        return { done: true };
      } catch (err) {
        return await onFailure(job, session, err instanceof Error ? err : new Error(String(err)), retryLater, log);
      }
    } finally {
      await releaseLock();
      // A gate or panic stays visible on the worker until it takes its next job.
      if (host.sessions.size === 0 && session && !session.signal.aborted && host.state() === 'active') host.setState('idle');
    }
  }

  async function finish(session: RunSession, outcome: StageOutcome, log: typeof rt.log, releaseLock: () => Promise<void>) {
    const { runId, attempt } = session.job;
    const signal = session.signal;
    if ('gate' in outcome) {
      session.handingOff = true;
      await untilDatabaseAnswers(() => rt.store.transition({ runId, to: 'waiting_approval', fence: session.fence, actor: rt.workerId,
        payload: { diff: outcome.gate.diff, summary: outcome.gate.summary }, eventId: `${runId}:${stage}:${attempt}:gate` }), signal, log, 'gate');
      // Nobody holds a gated run: an approval may come at once.
      await releaseLock();
      host.setState('waiting', session);
      await rt.alerter.raise({ kind: 'gate', runId, status: 'waiting_approval', attempt, title: `GATE: run ${runId} needs a decision`,
        text: outcome.gate.summary ?? 'Trusted sources disagree on a critical claim.', details: { diff: outcome.gate.diff }, dedupeKey: `gate:${runId}:${attempt}` });
      spanEvent('gate opened', { 'rayvault.worker_id': rt.workerId, 'rayvault.fence': session.fence });
      log.warn('gate opened: waiting for approval');
      host.onRunSettled(runId);
      return;
    }
    // Spooled writes of this run must land before the hand-off, in order. Only ours can: a
    // previous holder's spooled writes carry its old fence and are refused whenever replayed.
    await untilDatabaseAnswers(async () => {
      if (!(await host.flushSpool(true))) throw new DatabaseUnavailableError('spool not drained yet');
    }, signal, log, 'spool');
    const next = nextStage(stage);
    session.handingOff = true;
    await untilDatabaseAnswers(() => rt.store.completeStage({ runId, stage, fence: session.fence, output: outcome.output ?? null, next,
      eventId: `${runId}:${stage}:${attempt}:complete` }), signal, log, 'complete');
    // The database now says nobody holds the run. The release and the hand-off go together:
    // the next stage's acquire takes over a lock left at this earlier stage, so it waits neither
    // for the release nor for a late renewal that set the lock again (once a 5 s stall).
    const letGo = releaseLock();
    if (next) {
      // If this fails the reconciler enqueues it from the database; the id makes that idempotent.
      await enqueueStage(rt.queues, { runId, stage: next, attempt }).catch((err) => log.warn({ err }, 'hand-off enqueue failed: reconciler will retry'));
    }
    await letGo;
    if (!next) {
      rt.checkpoints.remove(runId);
      host.onRunSettled(runId);
    }
    log.info({ next }, next ? 'stage completed' : 'run done');
  }

  async function onFailure(job: Job<StageJob>, session: RunSession, err: Error, retryLater: (ms: number, why: string) => Promise<never>, log: typeof rt.log): Promise<unknown> {
    const { runId, attempt } = session.job;
    const reason = session.signal.aborted ? (session.signal.reason as Error)
      : err instanceof FencedWriteError ? new PanicError('panic_lost_lock', err.message, { cause: err }) : err;
    if (reason instanceof ShutdownError) {
      // Best effort: if the database is away the reconciler and the next claim sort it out.
      await rt.store.releaseStage({ runId, fence: session.fence, actor: rt.workerId, reason: reason.message, eventId: `${runId}:${stage}:${attempt}:release:${session.fence}` })
        .catch((e) => log.warn({ err: e }, 'could not hand the run back on shutdown'));
      return retryLater(0, 'worker shutting down: stopped at the last checkpoint');
    }
    if (isPanic(reason) && reason.kind === 'panic_lost_lock') {
      host.setState('panic', session, reason.message);
      void bumpCounter(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, 'panics', { kind: 'panic_lost_lock' });
      spanEvent('lost the run lock', { 'rayvault.worker_id': rt.workerId, 'rayvault.fence': session.fence });
      log.error({ err: reason }, 'lost the run lock: stage aborted, no further writes');
      await rt.store.appendEvent({ eventId: randomUUID(), runId, fence: null, type: 'panic_lost_lock', actor: rt.workerId, reason: reason.message, payload: { stage, staleFence: session.fence } }).catch(() => undefined);
      await rt.alerter.raise({ kind: 'lost_lock', runId, workerId: rt.workerId, title: `LOST LOCK: ${rt.workerId}`, text: reason.message, dedupeKey: `lost_lock:${runId}:${session.fence}` });
      // The job is abandoned, not failed: the run belongs to whoever holds the fence now, and
      // the reconciler re-queues it if nobody does. (If another worker took this very job over,
      // BullMQ refuses this completion for lack of the job lock, which is right too.)
      return { abandoned: 'lost lock' } as never;
    }
    // Redis or Postgres unreachable is the platform's fault, not the job's: wait for it without spending an attempt.
    if (reason instanceof DatabaseUnavailableError || isRedisUnavailable(reason)) {
      log.warn({ err: reason }, 'dependency unreachable mid-stage: postponed from the last checkpoint, no attempt spent');
      return retryLater(rt.config.RAYVAULT_BACKOFF_MS, 'dependency unreachable');
    }
    // Bad input or config stays bad: retrying it only delays the operator's verdict.
    const noRetry = isPanic(reason) || (isRayVaultError(reason) && !reason.retryable) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (noRetry) {
      const to = isPanic(reason) ? 'panic' : 'failed';
      const payload = isPanic(reason) ? { kind: reason.kind, stage, details: reason.details } : { stage, error: reason.message };
      await untilDatabaseAnswers(() => rt.store.transition({ runId, to, fence: session.fence, actor: rt.workerId, reason: reason.message, payload,
        eventId: `${runId}:${stage}:${attempt}:${to}:${job.attemptsMade}` }), AbortSignal.timeout(30000), log, to).catch((e) => log.error({ err: e }, `could not record ${to}`));
      if (isPanic(reason)) {
        host.setState('panic', session, reason.message);
        void bumpCounter(rt.fastRedis, rt.config.RAYVAULT_QUEUE_PREFIX, 'panics', { kind: reason.kind });
      }
      // A stage that already raised its own, more specific alert (CONTRACT FAIL) is not announced twice.
      if (!(isPanic(reason) && reason.details?.alerted)) {
        await rt.alerter.raise({ kind: isPanic(reason) ? reason.kind : 'dead_letter', runId, status: to, attempt, title: `${to.toUpperCase()}: run ${runId} at ${stage}`,
          text: reason.message, dedupeKey: `${to}:${runId}:${stage}:${attempt}:${job.attemptsMade}` });
      }
      host.onRunSettled(runId);
      log.error({ err: reason }, isPanic(reason) ? 'stage panicked: run needs an operator' : 'stage failed: attempts exhausted, kept as dead letter');
      throw isPanic(reason) ? new UnrecoverableError(reason.message) : reason;
    }
    spanEvent('retry scheduled', { 'rayvault.worker_id': rt.workerId, 'rayvault.fence': session.fence, 'rayvault.try': job.attemptsMade + 1 });
    log.warn({ err: reason }, 'stage failed: will retry with backoff');
    throw reason;
  }
}
