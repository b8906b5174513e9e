import { Worker, type Processor } from 'bullmq';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import { queuePrefix } from '../domain/keys';
import type { Stage, WorkerState } from '../domain/run-status';
import { PanicError, ShutdownError } from '../errors/errors';
import { stateLayout } from '../housekeeping/state-layout';
import type { StageJob } from '../queues/queues';
import type { Runtime } from '../runtime';
import { createAdmission, type Admission } from './admission';
import { createFetchWatchdog } from './fetch-watchdog';
import { createHeartbeat } from './heartbeat';
import { recoverOwnRuns } from './recover-own-runs';
import { createSpoolFlusher } from './spool-flusher';
import type { RunSession } from './run-session';
import { createJobProcessor, type RunnerHost } from './stage-runner';
import { stagePort } from './stage-port';
import type { StageProcessors } from './types';

export type WorkerHostOptions = {
  processors: StageProcessors;
  /** Jobs in flight per stage queue. Default: RAYVAULT_CONCURRENCY. */
  concurrency?: number;
  /** Stop after the first run this worker touches settles (done, gate, panic, failed). */
  once?: boolean;
};

/**
 * One worker process: a BullMQ Worker per stage it consumes, all sharing the
 * run-lock heartbeat, the spool and the worker record. `close()` stops intake,
 * lets active stages finish within the grace period, then stops them at their
 * last checkpoint and puts their jobs back.
 */
export function createWorkerHost(rt: Runtime, options: WorkerHostOptions) {
  const { config } = rt;
  const stages = Object.keys(options.processors) as Stage[];
  const sessions = new Set<RunSession>();
  const flushSpool = createSpoolFlusher(rt);
  let onceRun: string | undefined;
  let resolveOnce: () => void = () => {};
  const onceDone = new Promise<void>((r) => (resolveOnce = r));

  const admission = createAdmission({ leaseMs: config.RAYVAULT_LEASE_MS });
  // At the first signal, before the shutdown is announced: no claim of ours lands after that line.
  rt.releasers.quiesceFirst(() => admission.stop());
  const record = createWorkerRecord(rt, stages, () => heartbeat.beatSoon());
  const heartbeat = createHeartbeat({
    rt,
    sessions,
    intervalMs: config.heartbeatMs,
    record: record.snapshot,
    flushSpool: () => flushSpool(),
    onPanic: (message) => record.setState('panic', undefined, message),
  });
  const host: RunnerHost = {
    sessions,
    admission,
    whenCertain: heartbeat.whenCertain,
    flushSpool,
    state: record.state,
    setState: record.setState,
    onRunSettled(runId) {
      if (options.once && (onceRun ?? runId) === runId) resolveOnce();
    },
  };
  const port = stagePort(rt);
  const { workers, watchdog } = stageWorkers(rt, stages, options, (stage) => {
    const process = createJobProcessor(port, host, stage, options.processors[stage]!);
    return (job, token) => {
      onceRun ??= job.data.runId;
      return process(job, token);
    };
  });

  const parts: HostParts = { rt, stages, sessions, flushSpool, admission, heartbeat, workers, watchdog };
  let closing: Promise<void> | undefined;
  return {
    workerId: rt.workerId,
    sessions,
    /** Resolves when `once` is set and the first run settled. */
    onceDone,
    start: () => startHost(parts),
    /** Idempotent: stop intake, wait up to the grace period, then checkpoint-stop what is left. */
    close(graceMs = config.RAYVAULT_SHUTDOWN_GRACE_MS): Promise<void> {
      closing ??= closeHost(parts, graceMs);
      return closing;
    },
    /** For tests and the CLI: abort one run's stage as if its lock was lost. */
    abortRun(runId: string, reason: string) {
      for (const s of sessions) if (s.job.runId === runId) s.abort(new PanicError('panic_lost_lock', reason));
    },
  };
}

type HostParts = {
  rt: Runtime;
  stages: Stage[];
  sessions: Set<RunSession>;
  flushSpool: () => Promise<boolean>;
  admission: Admission;
  heartbeat: ReturnType<typeof createHeartbeat>;
  workers: Worker[];
  watchdog: ReturnType<typeof createFetchWatchdog>;
};

async function startHost({ rt, stages, flushSpool, heartbeat, workers, watchdog }: HostParts) {
  const { log } = rt;
  await flushSpool().catch((err) => log.warn({ err }, 'spool replay at start failed; will retry'));
  await recoverOwnRuns(rt, stages).catch((err) =>
    log.warn({ err }, 'own-run recovery failed; the reconciler will re-queue'),
  );
  heartbeat.start();
  // Baptism B looks for pid files of dead workers (a stop that was not clean).
  const layout = stateLayout(rt.stateDir);
  mkdirSync(layout.pids, { recursive: true });
  writeFileSync(layout.pidFile(rt.workerId), String(process.pid));
  for (const w of workers) runWorker(w, log);
  watchdog.start();
  log.info({ workerId: rt.workerId, stages, leaseMs: rt.config.RAYVAULT_LEASE_MS }, 'worker started');
}

async function closeHost({ rt, sessions, admission, heartbeat, workers, watchdog }: HostParts, graceMs: number) {
  watchdog.stop();
  await admission.stop();
  rt.log.info({ active: sessions.size, graceMs }, 'worker stopping: no new jobs');
  await drainWorkers(workers, sessions, graceMs);
  await heartbeat.stop();
  await rt.store.workerStopped(rt.workerId).catch(() => undefined);
  rmSync(stateLayout(rt.stateDir).pidFile(rt.workerId), { force: true });
  rt.log.info('worker stopped');
}

/** The worker's record as the heartbeat publishes it: state, current run and job, last error. */
function createWorkerRecord(rt: Runtime, stages: Stage[], publishNow: () => void) {
  let state: WorkerState = 'idle';
  let current: RunSession | undefined;
  let lastError: string | null = null;
  return {
    state: () => state,
    setState(next: WorkerState, session?: RunSession, error?: string) {
      const changed = next !== state;
      state = next;
      current = next === 'idle' ? undefined : (session ?? current);
      if (error) lastError = error;
      // A gate or a panic is published at once; active and idle, which flip with every job, wait for the regular beat.
      if (changed && (next === 'waiting' || next === 'panic')) publishNow();
    },
    snapshot: () => ({
      id: rt.workerId,
      state,
      queues: stages,
      currentRun: current?.job.runId ?? null,
      currentJob: current?.jobId ?? null,
      host: os.hostname(),
      pid: process.pid,
      lastError,
    }),
  };
}

/** Starts a Worker's fetch loop; the loop's end is logged, never thrown. */
function runWorker(w: Worker, log: Logger): void {
  void w.run().catch((err) => log.error({ err }, 'worker loop stopped'));
}

/** The stage Workers, and the watchdog that gives a stage a new Worker when its fetch loop parked. */
function stageWorkers(
  rt: Runtime,
  stages: Stage[],
  options: WorkerHostOptions,
  processorFor: (stage: Stage) => Processor<StageJob>,
) {
  const fetching = fetchProgress(stages);
  const newWorker = (stage: Stage) => {
    const process = processorFor(stage);
    return stageWorker(rt, stage, options, (job, token) => fetching.track(stage, () => process(job, token)));
  };
  const workers = stages.map(newWorker);
  const concurrency = jobsPerStage(rt, options);
  const watchdog = createFetchWatchdog({
    stages,
    queues: rt.queues,
    freeSlot: (stage) => fetching.active(stage) < concurrency,
    lastStarted: fetching.lastStarted,
    replace(stage) {
      const i = stages.indexOf(stage);
      const old = workers[i]!;
      workers[i] = newWorker(stage);
      fetching.restarted(stage);
      runWorker(workers[i], rt.log);
      // Its parked promise may never settle: closed without waiting for it.
      void old.close(true).catch(() => undefined);
    },
    log: rt.log,
  });
  return { workers, watchdog };
}

const jobsPerStage = (rt: Runtime, o: WorkerHostOptions) =>
  o.once ? 1 : (o.concurrency ?? rt.config.RAYVAULT_CONCURRENCY);

/** Per stage: jobs running here, and when the last one started (what the fetch watchdog judges by). */
function fetchProgress(stages: Stage[]) {
  const active = new Map<Stage, number>(stages.map((s) => [s, 0]));
  const started = new Map<Stage, number>(stages.map((s) => [s, Date.now()]));
  return {
    active: (stage: Stage) => active.get(stage) ?? 0,
    lastStarted: (stage: Stage) => started.get(stage) ?? 0,
    restarted: (stage: Stage) => void started.set(stage, Date.now()),
    async track<T>(stage: Stage, run: () => Promise<T>): Promise<T> {
      started.set(stage, Date.now());
      active.set(stage, (active.get(stage) ?? 0) + 1);
      try {
        return await run();
      } finally {
        active.set(stage, (active.get(stage) ?? 1) - 1);
      }
    },
  };
}

/** A BullMQ Worker for one stage queue, its job lock following our lease. */
function stageWorker(rt: Runtime, stage: Stage, options: WorkerHostOptions, handle: Processor<StageJob>) {
  const { config } = rt;
  const w = new Worker<StageJob>(stage, handle, {
    connection: rt.redis,
    prefix: queuePrefix(config.RAYVAULT_QUEUE_PREFIX, stage),
    autorun: false,
    concurrency: jobsPerStage(rt, options),
    // BullMQ's job lock follows our lease so a dead worker's job is back in the queue within lease + 1 s.
    lockDuration: config.RAYVAULT_LEASE_MS,
    // The stalled check takes two passes; short ones keep recovery near lease + 1 s.
    stalledInterval: Math.min(1000, Math.floor(config.RAYVAULT_LEASE_MS / 4)),
    maxStalledCount: config.RAYVAULT_MAX_STALLS,
  });
  w.on('error', (err) => rt.log.warn({ err, queue: stage }, 'worker error'));
  return w;
}

/** Lets active stages finish within the grace period; then stops them at their last checkpoint. */
async function drainWorkers(workers: Worker[], sessions: Set<RunSession>, graceMs: number) {
  const stopped = Promise.all(workers.map((w) => w.close()));
  const timer = setTimeout(() => {
    for (const s of sessions) s.abort(new ShutdownError('grace period over'));
  }, graceMs);
  await stopped;
  clearTimeout(timer);
}
export type WorkerHost = ReturnType<typeof createWorkerHost>;
