import { DatabaseUnavailableError } from '../errors/errors';
import { isRedisUnavailable } from '../infra/redis';
import { RunLease } from '../locks/run-lease';
import type { StageJob } from '../queues/queues';
import type { ClaimResult } from '../store/types';
import { inSpan, spanAttributes } from '../telemetry/trace-context';
import type { Admission } from './admission';
import { RETRY_SOON_MS } from './admission';
import { lockWaitMs } from './failure-policy';
import type { StagePort } from './stage-port';

export type Claimed =
  | { kind: 'claimed'; lease: RunLease; claim: ClaimResult & { stale: false } }
  | { kind: 'stale'; claim: ClaimResult }
  | { kind: 'postpone'; ms: number; why: string };

/**
 * Takes the run for one stage try: the Redis lease first (who may work now),
 * then the database claim through the admission gate (the fence: whose writes
 * count). On a job's first delivery the claim its hand-off carries is used
 * instead of a claim call (`firstDelivery`: BullMQ never started the job
 * before). Whatever does not end in `claimed` leaves no lock behind.
 */
export async function claimRun(
  port: StagePort,
  admission: Admission,
  job: StageJob,
  firstDelivery: boolean,
): Promise<Claimed> {
  let lease: RunLease | null;
  try {
    lease = await RunLease.acquire(port.locks, job.runId, port.workerId, { attempt: job.attempt, stage: job.stage });
  } catch (err) {
    // The lock connection may still be reconnecting after an outage while this job came through
    // the queue connection: not the job's fault, so no attempt is spent on it.
    if (isRedisUnavailable(err))
      return { kind: 'postpone', ms: port.backoffMs, why: 'redis unreachable for the run lock' };
    throw err;
  }
  if (!lease) {
    // A dead holder's lock is about to expire (a takeover): come back just after it does, not a heartbeat later.
    const leftMs = await port.locks.expiresInMs(job.runId).catch(() => port.heartbeatMs);
    return {
      kind: 'postpone',
      ms: lockWaitMs(leftMs, port.heartbeatMs, RETRY_SOON_MS),
      why: 'run lock held by another worker',
    };
  }
  const held = lease;
  const giveBack = () => held.release().catch(() => undefined);
  let claim: ClaimResult | null;
  try {
    const handedOff = firstDelivery ? handOffClaim(job) : null;
    spanAttributes({ 'rayvault.hand_off': handedOff !== null });
    claim = await admission.claim(() => (handedOff ? Promise.resolve(handedOff) : claimInSpan(port, job)));
  } catch (err) {
    await giveBack();
    if (err instanceof DatabaseUnavailableError)
      return { kind: 'postpone', ms: port.backoffMs, why: 'database unreachable' };
    throw err;
  }
  if (!claim) {
    await giveBack();
    return { kind: 'postpone', ms: 0, why: admission.STOPPING };
  }
  if (claim.stale) {
    await giveBack();
    return { kind: 'stale', claim };
  }
  return { kind: 'claimed', lease: held, claim: claim as ClaimResult & { stale: false } };
}

/** The hand-off's claim, when it is one for this very job; null sends the worker to claim for itself. */
function handOffClaim(job: StageJob): ClaimResult | null {
  const c = job.handOff;
  if (!c || c.stale) return null;
  const { id, stage, attempt } = c.run;
  return id === job.runId && stage === job.stage && attempt === job.attempt ? c : null;
}

// Its own short span: exported at once, so a try whose process dies later still shows who claimed it, at which fence.
function claimInSpan(port: StagePort, job: StageJob): Promise<ClaimResult> {
  return inSpan(
    'stage claim',
    { attributes: { 'rayvault.worker_id': port.workerId, 'rayvault.stage': job.stage } },
    async (span) => {
      const c = await port.store.claimStage({
        runId: job.runId,
        stage: job.stage,
        attempt: job.attempt,
        workerId: port.workerId,
      });
      span.setAttributes({ 'rayvault.fence': c.run.fence, 'rayvault.stale': c.stale });
      return c;
    },
  );
}

/** Steps recorded in the database and saved on disk by an earlier holder of this attempt: the resume point. */
export function resumedSteps(port: StagePort, job: StageJob, claim: ClaimResult) {
  const recorded = claim.steps ?? {};
  const local = port.checkpoints.steps(job.runId, job.stage, claim.run.refetch_count);
  return { recorded, local, all: { ...recorded, ...local } };
}
