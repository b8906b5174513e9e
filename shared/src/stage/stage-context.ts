import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CheckpointFiles } from '../checkpoint/checkpoint-files';
import { eventIds } from '../domain/keys';
import { PanicError, FencedWriteError } from '../errors/errors';
import type { Spool } from '../spool/spool';
import { inSpan, spanEvent } from '../telemetry/trace-context';
import type { Rpc, Run } from '../store/types';
import { durableWrite } from './durable';
import type { RunSession } from './run-session';
import type { StageContext } from './types';

export type ContextDeps = {
  rpc: Rpc;
  spool: Spool;
  checkpoints: CheckpointFiles;
  workerId: string;
  /** Resolves while Redis and the database answer; waits during panic_heartbeat_uncertain. */
  whenCertain: (signal: AbortSignal) => Promise<void>;
};

/** Builds the processor's view of a run session: checkpointed steps and fenced events. */
export function createStageContext(
  deps: ContextDeps,
  session: RunSession,
  run: Run,
  steps: Record<string, unknown>,
  log: Logger,
): StageContext {
  const { runId, stage, attempt } = session.job;
  const { signal, fence } = session;
  const fenced = fencedWriter(deps, session);
  return {
    run,
    stage,
    attempt,
    fence,
    signal,
    log,
    steps,
    workerId: deps.workerId,
    step: (name, fn) => runStep(deps, session, run, steps, log, name, fn),
    async record(fn, args) {
      signal.throwIfAborted();
      // Idempotent per holder, as checkpoints are: a stale holder's repeat reaches the fence check.
      await fenced(fn, {
        ...args,
        p_run: runId,
        p_fence: fence,
        p_event_id: eventIds.fencedRecord(args.p_event_id, fence),
      });
    },
    async emit(type, payload = {}) {
      signal.throwIfAborted();
      await fenced('rv_append_event', {
        p_event_id: randomUUID(),
        p_run: runId,
        p_fence: fence,
        p_type: type,
        p_actor: deps.workerId,
        p_reason: null,
        p_payload: payload,
      });
    },
  };
}

/** A durable write under the session's fence; refused by fencing, another holder owns the run now: stop at once. */
function fencedWriter(deps: ContextDeps, session: RunSession) {
  return async (fn: string, args: Record<string, unknown>): Promise<void> => {
    try {
      await durableWrite(deps.rpc, deps.spool, fn, args);
    } catch (err) {
      if (!(err instanceof FencedWriteError)) throw err;
      const lost = new PanicError(
        'panic_lost_lock',
        `run ${session.job.runId} was taken over (fence ${session.fence} is stale)`,
        { cause: err },
      );
      session.abort(lost);
      throw lost;
    }
  };
}

/** One step: skipped when checkpointed, otherwise run (once certain of the dependencies) and checkpointed. */
async function runStep<T>(
  deps: ContextDeps,
  session: RunSession,
  run: Run,
  steps: Record<string, unknown>,
  log: Logger,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const { runId, stage } = session.job;
  const { signal, fence } = session;
  if (name in steps) {
    spanEvent('step skipped: checkpointed', { 'rayvault.step': name });
    log.debug({ step: name }, 'step already checkpointed: skipped');
    return steps[name] as T;
  }
  // One span per step run (its espeak-ng, ffmpeg or browser work and the checkpoint write).
  const attributes = { 'rayvault.step': name, 'rayvault.stage': stage, 'rayvault.fence': fence };
  return inSpan(`step ${name}`, { attributes }, async () => {
    await deps.whenCertain(signal);
    signal.throwIfAborted();
    const result = await fn();
    signal.throwIfAborted();
    deps.checkpoints.saveStep(runId, stage, run.refetch_count, name, result);
    steps[name] = result ?? null;
    await fencedWriter(deps, session)('rv_checkpoint', checkpointArgs(session, name, result, deps.workerId));
    return result;
  });
}

/**
 * A checkpoint write, idempotent per holder: the fence is part of the event id,
 * so a stale holder's write of a step the new holder already recorded reaches
 * the fence check and is refused, instead of passing as a duplicate.
 */
export function checkpointArgs(
  session: RunSession,
  step: string,
  result: unknown,
  workerId: string,
): Record<string, unknown> {
  const { runId, stage, attempt } = session.job;
  return {
    p_run: runId,
    p_stage: stage,
    p_fence: session.fence,
    p_step: step,
    p_result: result ?? null,
    p_event_id: eventIds.checkpoint({ runId, stage, attempt }, step, session.fence),
    // Names the holder on a handed-off run, which has none until its first write.
    p_worker: workerId,
  };
}
