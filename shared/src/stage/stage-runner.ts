import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Stage, WorkerState } from '../domain/run-status';
import { stageJobId } from '../domain/keys';
import { stageJobSchema, type StageJob } from '../queues/queues';
import { contextFromTraceparent, inSpan, spanAttributes, spanEvent } from '../telemetry/trace-context';
import type { Admission } from './admission';
import { claimRun, resumedSteps } from './claim';
import { durableWrite } from './durable';
import { decideFailure, failureReason } from './failure-policy';
import { lazyChild } from './lazy-logger';
import { raceAbort, RunSession } from './run-session';
import { settleFailure, settleOutcome, type SettleHost } from './settle';
import { checkpointArgs, createStageContext } from './stage-context';
import type { StagePort } from './stage-port';
import type { StageProcessor } from './types';
import type { ClaimResult } from '../store/types';

/** What the runner needs from its worker host: admission, the heartbeat's sessions, and the host's state. */
export type RunnerHost = SettleHost & {
  admission: Admission;
  /** The sessions the heartbeat renews. */
  sessions: Set<RunSession>;
  /** Resolves once the worker is certain of its dependencies again (steps pause while it is not). */
  whenCertain: (signal: AbortSignal) => Promise<void>;
  state: () => WorkerState;
};

/** One stage's runner: what every step of a try needs. */
type Runner = { port: StagePort; host: RunnerHost; stage: Stage; processor: StageProcessor };
type Postpone = (ms: number, why: string) => Promise<never>;

/**
 * Wraps a stage processor with the run lifecycle, in three steps: admission
 * (may this process run the job now), claim (lease, fence, resume point) and
 * settle (hand-off, gate, or what a failure becomes).
 */
export function createJobProcessor(port: StagePort, host: RunnerHost, stage: Stage, processor: StageProcessor) {
  const runner: Runner = { port, host, stage, processor };
  return async (job: Job<StageJob>, token?: string): Promise<unknown> => {
    const parsed = stageJobSchema.safeParse(job.data);
    if (!parsed.success || parsed.data.stage !== stage)
      throw new UnrecoverableError(`bad ${stage} job payload: ${parsed.error?.message ?? 'stage mismatch'}`);
    const data = parsed.data;
    // One span per stage try, child of the span that queued the job (the run's creation or the
    // previous stage): retries and takeovers of the job are siblings in the run's trace.
    const attributes = {
      'rayvault.run_id': data.runId,
      'rayvault.stage': stage,
      'rayvault.attempt': data.attempt,
      'rayvault.try': job.attemptsMade + 1,
      'rayvault.worker_id': port.workerId,
      'rayvault.stalled_count': job.stalledCounter,
      'messaging.message.id': job.id ?? '',
    };
    const parent = contextFromTraceparent(data.traceparent);
    return inSpan(`stage ${stage}`, { parent, attributes }, () => admitted(runner, job, token, data));
  };
}

async function admitted(r: Runner, job: Job<StageJob>, token: string | undefined, data: StageJob): Promise<unknown> {
  const log = lazyChild(r.port.log, {
    queue: r.stage,
    jobId: job.id,
    runId: data.runId,
    attempt: data.attempt,
    try: job.attemptsMade + 1,
  });
  const postpone: Postpone = async (ms, why) => {
    spanEvent('job postponed', { 'rayvault.why': why, 'rayvault.in_ms': ms });
    log.info({ why, inMs: ms }, 'job postponed');
    await job.moveToDelayed(r.port.now() + ms, token);
    throw new DelayedError(why);
  };
  const admit = r.host.admission.enter(job.stalledCounter);
  if (!admit.run) return postpone(admit.retryInMs, admit.why);
  try {
    // attemptsStarted counts every move to active (stalls, retries, postponements, re-drives included).
    const firstDelivery = job.attemptsStarted === 1 && job.attemptsMade === 0 && job.stalledCounter === 0;
    const claimed = await claimRun(r.port, r.host.admission, data, firstDelivery);
    if (claimed.kind === 'postpone') return await postpone(claimed.ms, claimed.why);
    if (claimed.kind === 'stale') {
      spanAttributes({ 'rayvault.outcome': 'stale' });
      const run = claimed.claim.run;
      log.info(
        { status: run.status, runStage: run.stage, runAttempt: run.attempt },
        'job no longer matches the run: skipped',
      );
      return { skipped: 'stale' };
    }
    const session = new RunSession(data, job.id ?? stageJobId(data), claimed.lease, claimed.claim.run.fence);
    return await runClaimed(r, job, session, claimed.claim, log, postpone);
  } finally {
    admit.leave();
  }
}

async function runClaimed(
  r: Runner,
  job: Job<StageJob>,
  session: RunSession,
  claim: ClaimResult,
  log: Logger,
  postpone: Postpone,
) {
  const { port, host } = r;
  // Out of the heartbeat first, or its next renewal would set the lock again.
  const letGo = async () => {
    host.sessions.delete(session);
    await session.lease.release().catch((err: unknown) => log.warn({ err }, 'lock release failed (it will expire)'));
  };
  const startedAt = performance.now();
  host.sessions.add(session);
  host.setState('active', session);
  try {
    const outcome = await runProcessor(r, job, session, claim, log);
    await settleOutcome(port, host, session, outcome, log, letGo);
    port.observeDuration(r.stage, 'gate' in outcome ? 'gate' : 'completed', (performance.now() - startedAt) / 1000);
    return { done: true };
  } catch (err) {
    const reason = failureReason(err, session.signal.aborted ? session.signal.reason : undefined);
    const tries = { made: job.attemptsMade, allowed: job.opts.attempts ?? 1 };
    const effect = await settleFailure(port, host, session, decideFailure(reason, tries), job.attemptsMade, log);
    if ('postponeMs' in effect) return await postpone(effect.postponeMs, effect.why);
    if ('abandoned' in effect) return effect;
    throw effect.rethrow;
  } finally {
    await letGo();
    // A gate or panic stays visible on the worker until it takes its next job.
    if (host.sessions.size === 0 && !session.signal.aborted && host.state() === 'active') host.setState('idle');
  }
}

/** The processor's run, from the resume point; aborted with the session (lost lock, shutdown). */
async function runProcessor(r: Runner, job: Job<StageJob>, session: RunSession, claim: ClaimResult, log: Logger) {
  const { port, host } = r;
  const steps = resumedSteps(port, session.job, claim);
  const deps = {
    rpc: port.store.rpc,
    spool: port.spool,
    checkpoints: port.checkpoints,
    workerId: port.workerId,
    whenCertain: host.whenCertain,
  };
  const ctx = createStageContext(deps, session, claim.run, steps.all, log);
  announceStart(port, job, session, Object.keys(steps.all).length, log);
  // Steps the previous holder saved on disk but never got into the database (it died or froze in between):
  // record them under our fence.
  for (const [name, result] of Object.entries(steps.local)) {
    if (!(name in steps.recorded))
      await durableWrite(
        port.store.rpc,
        port.spool,
        'rv_checkpoint',
        checkpointArgs(session, name, result, port.workerId),
      );
  }
  return (await raceAbort(r.processor(ctx), session.signal)) ?? {};
}

function announceStart(port: StagePort, job: Job<StageJob>, session: RunSession, resumed: number, log: Logger) {
  spanAttributes({ 'rayvault.fence': session.fence });
  // A takeover: the job stalled under a dead worker, or this attempt's steps were already begun.
  if (job.stalledCounter > 0 || resumed > 0) {
    spanEvent('stage resumed', {
      'rayvault.worker_id': port.workerId,
      'rayvault.fence': session.fence,
      'rayvault.resumed_steps': resumed,
      'rayvault.stalled_count': job.stalledCounter,
    });
  }
  log.info({ fence: session.fence, resumedSteps: resumed }, 'stage started');
}
