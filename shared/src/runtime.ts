import os from 'node:os';
import path from 'node:path';
import type { RedisClient } from './infra/redis';
import type pg from 'pg';
import type { Logger } from 'pino';
import { createCheckpointFiles, type CheckpointFiles } from './checkpoint/checkpoint-files';
import type { Config } from './config/load-config';
import { redisTarget } from './config/redis-target';
import { createPool } from './infra/postgres';
import { createFastFailRedis, createRedis } from './infra/redis';
import { Releasers } from './lifecycle/releasers';
import { createRunLocks, type RunLocks } from './locks/run-locks';
import { createAlerter, type Alerter } from './ops/alerts';
import { bumpCounter, countFencedWrites } from './ops/counters';
import { createStageDurations, type StageDurations } from './metrics/stage-durations';
import { closeQueues, createStageQueues, type StageQueues } from './queues/queues';
import { createSpool, type Spool } from './spool/spool';
import { createPgRpc } from './store/pg-rpc';
import { createSupabaseRpc } from './store/supabase-rpc';
import { shutdownTelemetry } from './telemetry/start-telemetry';
import { createStore, type Store } from './store/store';
import { stateLayout } from './housekeeping/state-layout';
import { createOperationsStore, type OperationsStore } from './store/operations-store';
import { createMediaStore, type MediaStore } from './store/media-store';

/** Everything a service needs, built once at start; `releasers.close()` frees it in reverse order. */
export type Runtime = {
  config: Config;
  log: Logger;
  workerId: string;
  redis: RedisClient;
  fastRedis: RedisClient;
  pool: pg.Pool;
  store: Store;
  /** Tokens, the ops audit and the ops reads, over the same adapter as `store`. */
  operations: OperationsStore;
  /** The video index, credits, report rows and housekeeping's reads, over the same adapter as `store`. */
  media: MediaStore;
  queues: StageQueues;
  alerter: Alerter;
  locks: RunLocks;
  spool: Spool;
  spoolDir: string;
  checkpoints: CheckpointFiles;
  /** This process's stage-duration histogram, summed cluster-wide in Redis. */
  stageDurations: StageDurations;
  stateDir: string;
  releasers: Releasers;
};

export function createRuntime(config: Config, log: Logger, options: { workerId?: string } = {}): Runtime {
  const releasers = new Releasers();
  const stateDir = path.resolve(config.RAYVAULT_STATE_DIR);
  const workerId = options.workerId ?? config.RAYVAULT_WORKER_ID ?? `${os.hostname()}-${process.pid}`;
  const prefix = config.RAYVAULT_QUEUE_PREFIX;

  // Pushed first, released last: spans of the shutdown itself are flushed too.
  releasers.push('telemetry', () => shutdownTelemetry());
  const pool = createPool(config.DATABASE_URL, log, config.RAYVAULT_PG_POOL);
  releasers.push('postgres', () => pool.end());
  const redis = createRedis(redisTarget(config), log);
  releasers.push('redis', () => void redis.disconnect());
  const fastRedis = createFastFailRedis(redisTarget(config), log);
  releasers.push('redis-fast', () => void fastRedis.disconnect());
  const stageDurations = createStageDurations(fastRedis, prefix, config.heartbeatMs, log);
  releasers.push('stage-durations', () => stageDurations.close());

  const queues = createStageQueues(
    redis,
    prefix,
    { attempts: config.RAYVAULT_JOB_ATTEMPTS, backoffMs: config.RAYVAULT_BACKOFF_MS },
    log,
  );
  releasers.push('queues', () => closeQueues(queues));
  const alerter = createAlerter(redis, prefix, log);
  releasers.push('alerts', () => alerter.close());

  const spoolDir = stateLayout(stateDir).spool;
  const spool = createSpool(spoolDir, workerId, log, () => void bumpCounter(fastRedis, prefix, 'spool_appends'));
  releasers.push('spool', () => spool.rotate());

  // SUPABASE_URL + SUPABASE_SERVICE_KEY select the supabase-js adapter; otherwise pg on DATABASE_URL.
  const rpc = countFencedWrites(
    config.SUPABASE_URL && config.SUPABASE_SERVICE_KEY
      ? createSupabaseRpc(config.SUPABASE_URL, config.SUPABASE_SERVICE_KEY)
      : createPgRpc(pool),
    fastRedis,
    prefix,
    log,
  );
  return {
    config,
    log,
    workerId,
    redis,
    fastRedis,
    pool,
    releasers,
    stateDir,
    spool,
    spoolDir,
    queues,
    alerter,
    stageDurations,
    store: createStore(rpc),
    operations: createOperationsStore(rpc),
    media: createMediaStore(rpc),
    locks: createRunLocks(fastRedis, prefix, config.RAYVAULT_LEASE_MS),
    checkpoints: createCheckpointFiles(stateLayout(stateDir).checkpoints),
  };
}
