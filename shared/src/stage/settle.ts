import { UnrecoverableError } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { dedupeKeys, eventIds } from '../domain/keys';
import { nextStage } from '../domain/run-status';
import { DatabaseUnavailableError, isPanic } from '../errors/errors';
import { spanEvent } from '../telemetry/trace-context';
import { untilDatabaseAnswers } from './durable';
import type { FailureAction } from './failure-policy';
import type { RunSession } from './run-session';
import type { StagePort } from './stage-port';
import type { StageOutcome } from './types';
import type { WorkerState } from '../domain/run-status';

/** What settling needs from the worker host besides the port. */
export type SettleHost = {
  /** Replays this machine's spool; true when it is empty afterwards (`ownSince`: skip when we spooled nothing). */
  flushSpool: (ownSince?: boolean) => Promise<boolean>;
  setState: (state: WorkerState, session?: RunSession, error?: string) => void;
  onRunSettled: (runId: string) => void;
};

/** Out of the heartbeat's set, then the lock released: the release that `settle` and the runner share. */
export type LetGo = () => Promise<void>;

/** What settling a try works on: the world, the host, the session and its log. */
type Settling = { port: StagePort; host: SettleHost; session: RunSession; log: Logger };

/** A processor's outcome: open the gate, or complete the stage and hand the run to the next one. */
export async function settleOutcome(
  port: StagePort,
  host: SettleHost,
  session: RunSession,
  outcome: StageOutcome,
  log: Logger,
  letGo: LetGo,
) {
  const s: Settling = { port, host, session, log };
  if ('gate' in outcome) await openGate(s, outcome.gate, letGo);
  else await completeAndHandOff(s, outcome.output ?? null, letGo);
}

async function openGate(
  { port, host, session, log }: Settling,
  gate: { diff: unknown; summary?: string },
  letGo: LetGo,
) {
  const { runId, attempt } = session.job;
  session.lease.handOff();
  const payload = { diff: gate.diff, summary: gate.summary };
  const eventId = eventIds.gateOpened(session.job);
  const write = () =>
    port.store.transition({
      runId,
      to: 'waiting_approval',
      fence: session.fence,
      actor: port.workerId,
      payload,
      eventId,
    });
  await untilDatabaseAnswers(write, session.signal, log, 'gate');
  // Nobody holds a gated run: an approval may come at once.
  await letGo();
  host.setState('waiting', session);
  await port.alert({
    kind: 'gate',
    runId,
    status: 'waiting_approval',
    attempt,
    title: `GATE: run ${runId} needs a decision`,
    text: gate.summary ?? 'Trusted sources disagree on a critical claim.',
    details: { diff: gate.diff },
    dedupeKey: dedupeKeys.gate(runId, attempt),
  });
  spanEvent('gate opened', { 'rayvault.worker_id': port.workerId, 'rayvault.fence': session.fence });
  log.warn('gate opened: waiting for approval');
  host.onRunSettled(runId);
}

async function completeAndHandOff({ port, host, session, log }: Settling, output: unknown, letGo: LetGo) {
  const { runId, stage, attempt } = session.job;
  // Spooled writes of this run must land before the hand-off, in order. Only ours can: a
  // previous holder's spooled writes carry its old fence and are refused whenever replayed.
  const drained = async () => {
    if (!(await host.flushSpool(true))) throw new DatabaseUnavailableError('spool not drained yet');
  };
  await untilDatabaseAnswers(drained, session.signal, log, 'spool');
  const next = nextStage(stage);
  session.lease.handOff();
  const written = { runId, stage, fence: session.fence, output, workerId: port.workerId };
  const eventId = eventIds.stageCompleted(session.job);
  // With a next stage, one call completes this one and claims the next for whoever takes its job.
  const complete = () =>
    next
      ? port.store.handOff({ ...written, next, eventId })
      : port.store.completeStage({ ...written, next, eventId }).then(() => null);
  const handOff = await untilDatabaseAnswers(complete, session.signal, log, 'complete');
  // The database now says nobody holds the run. The release and the hand-off go together:
  // the next stage's acquire takes over a lock left at this earlier stage, so it waits neither
  // for the release nor for a late renewal that set the lock again (once a 5 s stall).
  const released = letGo();
  if (next) {
    // If this fails the reconciler enqueues it from the database (without the claim; the id makes that
    // idempotent). A replayed completion returns no claim: the job then claims for itself.
    await port
      .enqueue({ runId, stage: next, attempt, handOff: handOff ?? undefined })
      .catch((err) => log.warn({ err }, 'hand-off enqueue failed: reconciler will retry'));
  }
  await released;
  if (!next) {
    port.checkpoints.remove(runId);
    host.onRunSettled(runId);
  }
  log.info({ next }, next ? 'stage completed' : 'run done');
}

export type FailureEffect = { postponeMs: number; why: string } | { abandoned: string } | { rethrow: Error };

/** Carries out what `decideFailure` chose; returns what becomes of the job. */
export async function settleFailure(
  port: StagePort,
  host: SettleHost,
  session: RunSession,
  action: FailureAction,
  tryIndex: number,
  log: Logger,
): Promise<FailureEffect> {
  const reason = action.reason;
  switch (action.kind) {
    case 'hand_back':
      await handBack({ port, host, session, log }, reason);
      return { postponeMs: 0, why: 'worker shutting down: stopped at the last checkpoint' };
    case 'abandon':
      await abandonLostRun({ port, host, session, log }, reason);
      // Abandoned, not failed: the run belongs to whoever holds the fence now, and the reconciler
      // re-queues it if nobody does. (If another worker took this very job over, BullMQ refuses
      // this completion for lack of the job lock, which is right too.)
      return { abandoned: 'lost lock' };
    case 'postpone':
      log.warn(
        { err: reason },
        'dependency unreachable mid-stage: postponed from the last checkpoint, no attempt spent',
      );
      return { postponeMs: port.backoffMs, why: 'dependency unreachable' };
    case 'settle':
      await recordTerminal(port, host, session, action.to, reason, tryIndex, log);
      // A panic waits for an operator: BullMQ must not retry it.
      return { rethrow: action.to === 'panic' ? new UnrecoverableError(reason.message) : reason };
    case 'retry':
      spanEvent('retry scheduled', {
        'rayvault.worker_id': port.workerId,
        'rayvault.fence': session.fence,
        'rayvault.try': tryIndex + 1,
      });
      log.warn({ err: reason }, 'stage failed: will retry with backoff');
      return { rethrow: reason };
  }
}

/** Shutdown past the grace period: the run goes back at its last checkpoint for another worker. */
async function handBack({ port, session, log }: Settling, reason: Error) {
  const { runId } = session.job;
  const eventId = eventIds.stageReleased(session.job, session.fence);
  // Best effort: if the database is away the reconciler and the next claim sort it out.
  await port.store
    .releaseStage({ runId, fence: session.fence, actor: port.workerId, reason: reason.message, eventId })
    .catch((e) => log.warn({ err: e }, 'could not hand the run back on shutdown'));
}

/** Another holder has the run: no further writes of ours, only the record and the alert of the loss. */
async function abandonLostRun({ port, host, session, log }: Settling, reason: Error) {
  const { runId, stage } = session.job;
  host.setState('panic', session, reason.message);
  port.countPanic('panic_lost_lock');
  spanEvent('lost the run lock', { 'rayvault.worker_id': port.workerId, 'rayvault.fence': session.fence });
  log.error({ err: reason }, 'lost the run lock: stage aborted, no further writes');
  await port.store
    .appendEvent({
      eventId: randomUUID(),
      runId,
      fence: null,
      type: 'panic_lost_lock',
      actor: port.workerId,
      reason: reason.message,
      payload: { stage, staleFence: session.fence },
    })
    .catch(() => undefined);
  await port.alert({
    kind: 'lost_lock',
    runId,
    workerId: port.workerId,
    title: `LOST LOCK: ${port.workerId}`,
    text: reason.message,
    dedupeKey: dedupeKeys.lostLock(runId, session.fence),
  });
}

async function recordTerminal(
  port: StagePort,
  host: SettleHost,
  session: RunSession,
  to: 'panic' | 'failed',
  reason: Error,
  tryIndex: number,
  log: Logger,
) {
  const { runId, stage, attempt } = session.job;
  const panic = isPanic(reason) ? reason : undefined;
  const payload = panic ? { kind: panic.kind, stage, details: panic.details } : { stage, error: reason.message };
  await untilDatabaseAnswers(
    () =>
      port.store.transition({
        runId,
        to,
        fence: session.fence,
        actor: port.workerId,
        reason: reason.message,
        payload,
        eventId: eventIds.stageSettled(session.job, to, tryIndex),
      }),
    AbortSignal.timeout(30000),
    log,
    to,
  ).catch((e) => log.error({ err: e }, `could not record ${to}`));
  if (panic) {
    host.setState('panic', session, reason.message);
    port.countPanic(panic.kind);
  }
  // A stage that already raised its own, more specific alert (CONTRACT FAIL) is not announced twice.
  if (!panic?.details?.alerted) {
    await port.alert({
      kind: panic ? panic.kind : 'dead_letter',
      runId,
      status: to,
      attempt,
      title: `${to.toUpperCase()}: run ${runId} at ${stage}`,
      text: reason.message,
      dedupeKey: dedupeKeys.stageSettled(session.job, to, tryIndex),
    });
  }
  host.onRunSettled(runId);
  log.error(
    { err: reason },
    panic ? 'stage panicked: run needs an operator' : 'stage failed: attempts exhausted, kept as dead letter',
  );
}
