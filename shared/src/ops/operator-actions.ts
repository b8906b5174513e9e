import type { RedisClient } from '../infra/redis';
import type { Logger } from 'pino';
import { IntakePausedError, intakeState } from './intake';
import { IllegalTransitionError } from '../errors/errors';
import type { OperatorAction } from '../domain/run-status';
import type { RunLocks } from '../locks/run-locks';
import { stageJobId } from '../domain/keys';
import { enqueueStage, type StageQueues } from '../queues/queues';
import type { OperatorActionInput, Store } from '../store/store';
import type { ActionResult, Run, RunDetail } from '../store/types';
import { contextFromTraceparent, inSpan } from '../telemetry/trace-context';

export type OpsDeps = {
  store: Store;
  queues: StageQueues;
  locks: RunLocks;
  log: Logger;
  redis: RedisClient;
  config: { RAYVAULT_QUEUE_PREFIX: string };
};

/**
 * approve | refetch | abort | resume, as the dashboard, Telegram and the CLI
 * all do it: one atomic store call (refused with IllegalTransitionError when
 * the run is not in the expected state), then the queue side effects.
 */
export async function runOperatorAction(deps: OpsDeps, a: OperatorActionInput): Promise<Run> {
  const before = a.action === 'abort' ? await deps.store.getRun(a.runId) : null;
  const result = await deps.store.operatorAction(a);
  // The action's side effects (the job it queues) continue the run's own trace, linked to the request that asked.
  return inSpan(
    `run.${a.action}`,
    {
      parent: contextFromTraceparent(result.run.traceparent ?? undefined),
      linkActive: true,
      attributes: {
        'rayvault.run_id': a.runId,
        'rayvault.actor': a.actor,
        'rayvault.action': a.action,
        'rayvault.fence': result.run.fence,
        'rayvault.duplicate': result.duplicate,
      },
    },
    () => afterAction(deps, a, result, before),
  );
}

async function afterAction(
  deps: OpsDeps,
  a: { runId: string; action: OperatorAction; actor: string },
  result: ActionResult,
  before: RunDetail | null,
): Promise<Run> {
  if (a.action === 'abort' && before) {
    // The fence moved, so a worker still on it is refused; its queued job is removed and the lease cleared.
    const jobId = stageJobId({ runId: a.runId, stage: before.stage, attempt: before.attempt });
    await deps.queues[before.stage].remove(jobId).catch(() => 0);
    await deps.locks.forceClear(a.runId).catch(() => undefined);
  }
  if (result.enqueue) await enqueueStage(deps.queues, { runId: a.runId, ...result.enqueue });
  deps.log.info(
    { runId: a.runId, action: a.action, actor: a.actor, status: result.run.status, duplicate: result.duplicate },
    'operator action',
  );
  return result.run;
}

/** rpc_force_unlock_run: refused on terminal runs without force; bumps the fence; clears the lease. */
export async function forceUnlockRun(
  deps: OpsDeps,
  a: { runId: string; operator: string; reason: string; force?: boolean },
): Promise<{ run: Run; previous: Run }> {
  const result = await deps.store.forceUnlock(a);
  if (result.refused) throw new IllegalTransitionError(`unlock of run ${a.runId} refused: ${result.refused}`);
  await deps.locks.forceClear(a.runId);
  deps.log.warn(
    { runId: a.runId, operator: a.operator, force: !!a.force, previousWorker: result.previous.worker_id },
    'run force-unlocked',
  );
  return result;
}

/**
 * New run: recorded in the database first (the truth), then queued; the reconciler covers a lost enqueue.
 * Its `run.create` span starts the run's own trace (linked to the request or command that asked),
 * whose id the run keeps and whose context the evidence job carries.
 */
export function submitRun(
  deps: OpsDeps,
  a: { product: object; input?: object; actor: string; id?: string },
): Promise<Run> {
  return inSpan('run.create', { root: true, attributes: { 'rayvault.actor': a.actor } }, async (span) => {
    const run = await createAndQueue(deps, a);
    span.setAttribute('rayvault.run_id', run.id);
    return run;
  });
}

async function createAndQueue(
  deps: OpsDeps,
  a: { product: object; input?: object; actor: string; id?: string },
): Promise<Run> {
  const intake = await intakeState(deps.redis, deps.config.RAYVAULT_QUEUE_PREFIX);
  if (intake.paused)
    throw new IntakePausedError(
      `intake is paused (drain by ${intake.by ?? '?'}${intake.reason ? `: ${intake.reason}` : ''}); resume intake first`,
    );
  const run = await deps.store.createRun(a);
  await enqueueStage(deps.queues, { runId: run.id, stage: 'evidence', attempt: run.attempt }).catch((err) =>
    deps.log.warn({ err, runId: run.id }, 'enqueue failed: the reconciler will queue it'),
  );
  return run;
}
