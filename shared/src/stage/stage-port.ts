import type { Logger } from 'pino';
import type { CheckpointFiles } from '../checkpoint/checkpoint-files';
import type { Stage } from '../domain/run-status';
import type { RunLocks } from '../locks/run-locks';
import type { StageOutcomeLabel } from '../metrics/stage-durations';
import { bumpCounter } from '../ops/counters';
import type { Alert } from '../ops/alerts';
import { enqueueStage, type StageJob } from '../queues/queues';
import type { Runtime } from '../runtime';
import type { Spool } from '../spool/spool';
import type { Store } from '../store/store';

/**
 * What the stage runner needs from the world, and nothing more: the run locks,
 * the lifecycle store, checkpoints, the spool, the next stage's queue, alerts,
 * counters and the clock. A test can hand it doubles; a service builds it from
 * its Runtime with `stagePort`.
 */
export type StagePort = {
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  backoffMs: number;
  log: Logger;
  locks: Pick<RunLocks, 'acquire' | 'renew' | 'release' | 'expiresInMs'>;
  store: Pick<
    Store,
    'claimStage' | 'completeStage' | 'handOff' | 'transition' | 'releaseStage' | 'appendEvent' | 'rpc'
  >;
  checkpoints: CheckpointFiles;
  spool: Spool;
  enqueue: (job: StageJob) => Promise<void>;
  alert: (alert: Alert) => Promise<void>;
  countPanic: (kind: string) => void;
  observeDuration: (stage: Stage, outcome: StageOutcomeLabel, seconds: number) => void;
  now: () => number;
};

export function stagePort(rt: Runtime): StagePort {
  const prefix = rt.config.RAYVAULT_QUEUE_PREFIX;
  return {
    workerId: rt.workerId,
    leaseMs: rt.config.RAYVAULT_LEASE_MS,
    heartbeatMs: rt.config.heartbeatMs,
    backoffMs: rt.config.RAYVAULT_BACKOFF_MS,
    log: rt.log,
    locks: rt.locks,
    store: rt.store,
    checkpoints: rt.checkpoints,
    spool: rt.spool,
    enqueue: (job) => enqueueStage(rt.queues, job),
    alert: (alert) => rt.alerter.raise(alert),
    countPanic: (kind) => void bumpCounter(rt.fastRedis, prefix, 'panics', { kind }),
    observeDuration: (stage, outcome, seconds) => rt.stageDurations.observe(stage, outcome, seconds),
    now: Date.now,
  };
}
