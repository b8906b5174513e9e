// Every id and key RayVault writes, in one place. Idempotency rests on these:
// an event id or a job id repeated on a retry, a replay or a reconciler pass
// must come out the same, so none is spelled anywhere else.
import type { Stage } from './run-status';

type StageTry = { runId: string; stage: Stage; attempt: number };

/**
 * The hash tag of one part of RayVault's keys. Each stage queue, the alerts and cron queues and the run locks have
 * their own (`{rayvault:evidence}`…), so a Redis Cluster can place them on different masters; every multi-key
 * command (BullMQ's scripts, our MULTI) stays inside one part, so inside one slot.
 */
export const slotTag = (prefix: string, part: string) => `{${prefix.replace(/[{}]/g, '')}:${part}}`;

/** The BullMQ prefix of a queue: its own hash tag. */
export const queuePrefix = (prefix: string, queue: string) => slotTag(prefix, queue);

/** Redis keys; all but the run locks share the prefix's own hash tag (`{rayvault}`). */
export const redisKeys = {
  runLock: (prefix: string, runId: string) => `${slotTag(prefix, 'locks')}:run:${runId}`,
  intakePaused: (prefix: string) => `${prefix}:intake:paused`,
  breakers: (prefix: string) => `${prefix}:breakers`,
  counters: (prefix: string) => `${prefix}:metrics:counters`,
  stageSeconds: (prefix: string) => `${prefix}:metrics:stage_seconds`,
  opsSession: (prefix: string, sessionHash: string) => `${prefix}:ops:session:${sessionHash}`,
  notifierDelivered: (prefix: string) => `${prefix}:notifier:delivered`,
  notifierMessages: (prefix: string) => `${prefix}:notifier:messages`,
};

/** BullMQ job id of a stage try: a retry, replay or reconciler pass never enqueues twice. */
export const stageJobId = (j: StageTry) => `${j.runId}:${j.stage}:${j.attempt}`;

/** Event ids: the database ignores a repeated one, so each names exactly one fact. */
export const eventIds = {
  runCreated: (runId: string) => `${runId}:created`,
  gateOpened: (j: StageTry) => `${stageJobId(j)}:gate`,
  stageCompleted: (j: StageTry) => `${stageJobId(j)}:complete`,
  /** A try ends in `panic` or `failed`; each try of the job is its own fact. */
  stageSettled: (j: StageTry, to: string, tryIndex: number) => `${stageJobId(j)}:${to}:${tryIndex}`,
  /** Handed back on shutdown, once per holder (fence). */
  stageReleased: (j: StageTry, fence: number) => `${stageJobId(j)}:release:${fence}`,
  checkpoint: (j: StageTry, step: string, fence: number) => `${stageJobId(j)}:${step}:${fence}`,
  /** A stage's own fenced record: the holder's fence makes a stale holder's copy a different fact. */
  fencedRecord: (id: string, fence: number) => `${id}:f${fence}`,
  /** The reconciler marks a dead-lettered job's run failed. */
  deadLetter: (jobId: string) => `${jobId}:dead`,
  telegramPress: (updateId: number) => `tg:${updateId}`,
  /** The evidence stage's claims, keyed by their digest: the same claims recorded twice are one fact. */
  claimsRecorded: (runId: string, attempt: number, digest: string) => `${runId}:evidence:${attempt}:claims:${digest}`,
  /** A rendered segment file (and its credits), keyed by its content: a re-render of the same bytes is one fact. */
  segmentRendered: (runId: string, segment: string, sha8: string) => `${runId}:render:seg-${segment}:${sha8}`,
  segmentCredits: (runId: string, segment: string, sha8: string) => `${runId}:render:seg-${segment}:${sha8}:credits`,
};

/** Alert dedupe keys: one message per fact, however often it is raised. */
export const dedupeKeys = {
  gate: (runId: string, attempt: number) => `gate:${runId}:${attempt}`,
  lostLock: (runId: string, fence: number) => `lost_lock:${runId}:${fence}`,
  stageSettled: (j: StageTry, to: string, tryIndex: number) => `${to}:${j.runId}:${j.stage}:${j.attempt}:${tryIndex}`,
  /** Every uncertain spell is news: keyed by when it began. */
  heartbeatUncertain: (workerId: string, at: number) => `hb:${workerId}:${at}`,
  contractFail: (runId: string, attempt: number, fence: number) => `contract_fail:${runId}:${attempt}:${fence}`,
  staleGate: (runId: string, period: number) => `stale_gate:${runId}:${period}`,
  staleWorker: (workerId: string, lastHeartbeatAt: string) => `stale:${workerId}:${lastHeartbeatAt}`,
  deadLetter: (jobId: string) => `dead:${jobId}`,
  doctor: (line: string, codes: string[], hour: number) => `doctor:${line}:${codes.join(',')}:${hour}`,
};
