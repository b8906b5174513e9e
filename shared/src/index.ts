// The public entry point of @rayvault/shared: what the services, the CLI, the bench and the tests use,
// by name. Everything else in shared/src is internal to the library.
export {
  OPERATOR_ACTIONS,
  type OperatorAction,
  RUN_STATUSES,
  type RunStatus,
  STAGES,
  type Stage,
  TERMINAL_STATUSES,
  TRANSITIONS,
  nextStage,
} from './domain/run-status';
export { PANIC_ADVICE, PANIC_KINDS, type PanicKind } from './domain/panic';
export { dedupeKeys, eventIds, queuePrefix, redisKeys, slotTag, stageJobId } from './domain/keys';
export { type ErrorCode, HTTP_STATUS_BY_CODE, RayVaultError, isRayVaultError } from './errors/rayvault-error';
export {
  ConfigError,
  DatabaseUnavailableError,
  FencedWriteError,
  IllegalTransitionError,
  InvalidInputError,
  PanicError,
  RunNotFoundError,
  ShutdownError,
  TransientError,
  isPanic,
} from './errors/errors';
export { type BaseConfig, baseConfigSchema, pricingFields } from './config/config.schema';
export { type Config, loadConfig, startTelemetryFromEnv } from './config/load-config';
export { type Logger, createLogger, maskSecrets } from './logging/logger';
export { touchHealthFile } from './lifecycle/releasers';
export { createFastFailRedis, whenRedisReady, type RedisClient } from './infra/redis';
export { redisTarget, parseClusterNodes, type RedisTarget, type ClusterNode } from './config/redis-target';
export { createPool } from './infra/postgres';
export { type Migration, listMigrations, migrate, pendingMigrations } from './db/migrate';
export { ALERTS_QUEUE, ALL_QUEUES, CRON_QUEUE, STAGE_QUEUES, type StageJob, enqueueStage } from './queues/queues';
export {
  type Artifact,
  type ClaimResult,
  type InFlightRun,
  type Rpc,
  type Run,
  type RunDetail,
  type RunEvent,
  type WorkerRecord,
} from './store/types';
export { type Store, createStore } from './store/store';
export {
  API_ROLES,
  type ApiRole,
  type StageThroughput,
  type TokenOwner,
  type TokenRecord,
} from './store/operations.schema';
export {
  type ApiTokenStore,
  type OperationsStore,
  type OpsAudit,
  type RunSearch,
  createOperationsStore,
} from './store/operations-store';
export { createPgRpc } from './store/pg-rpc';
export { createSupabaseRpc } from './store/supabase-rpc';
export { type SpoolRecord, createSpool, replaySpool, spoolDepth } from './spool/spool';
export { type CheckpointFile } from './checkpoint/checkpoint-files';
export { createRunLocks } from './locks/run-locks';
export { RunLease } from './locks/run-lease';
export { ALERT_KINDS, type Alert, type AlertKind, type Alerter, alertSchema } from './ops/alerts';
export { forceUnlockRun, runOperatorAction, submitRun } from './ops/operator-actions';
export { IntakePausedError, intakeState, setIntakePaused } from './ops/intake';
export { COUNTER_NAMES, type CounterName, bumpCounter, readCounters } from './ops/counters';
export { STAGE_DURATION_BUCKETS, createStageDurations, readStageDurations } from './metrics/stage-durations';
export { DOCTOR_DEFAULTS, type DoctorReport, runDoctor } from './ops/doctor';
export { redisLayout, type RedisLayout, type RedisNode } from './ops/redis-layout';
export { type BreakerRecord, breakersKey, readBreakers } from './ops/breakers';
export { type Product, type Source, parseProduct, sourceLabels } from './products/product.schema';
export { SAMPLES_DIR, SAMPLE_NAMES, loadProductFile, loadSample } from './products/samples';
export { isHttpUrl, mediaDirOf, readMediaFile } from './products/local-media';
export { type StageContext, type StageOutcome, type StageProcessor, type StageProcessors } from './stage/types';
export { RunSession } from './stage/run-session';
export { type WorkerHost, createWorkerHost } from './stage/worker-host';
export { type Runtime, createRuntime } from './runtime';
export { startTelemetry, telemetryEnvSchema } from './telemetry/start-telemetry';
export { type FetchAllow, decideAddress, parseFetchAllow } from './net/address-policy';
export {
  BadResponseError,
  BodyTooLargeError,
  DestinationRefusedError,
  FetchNetworkError,
  FetchTimeoutError,
  isDestinationRefused,
} from './net/fetch-errors';
export { guardedFetch } from './net/guarded-fetch';
export { type FileEntry, type StateLayout, stateLayout, workerStaleMs } from './housekeeping/state-layout';
export { type IndexEntry, indexMatcher, loadVideoIndex, resolveRunRef } from './housekeeping/video-index';
export { type SegmentStatus, readinessTotals, segmentReadiness } from './housekeeping/segment-readiness';
export {
  type ReportPrices,
  type RunReport,
  type SegmentQuality,
  type StageTiming,
  buildRunReport,
  runCost,
  stageDurationS,
} from './housekeeping/run-report';
export { MEDIA_WRITES, type MediaStore, createMediaStore } from './store/media-store';
export { type IndexAddition, type IndexRelink, addToIndex, relinkEntry } from './housekeeping/index-repair';
export { type ProbeSummary, probeEntries } from './housekeeping/index-probe';
export { type VideoProbe } from './housekeeping/video-probe';
export { bootService, runService } from './lifecycle/service-main';
