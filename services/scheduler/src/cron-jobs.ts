import { createHash } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import {
  dedupeKeys,
  IntakePausedError,
  loadProductFile,
  loadSample,
  runDoctor,
  stateLayout,
  submitRun,
  TERMINAL_STATUSES,
  type Runtime,
  queuePrefix,
  CRON_QUEUE,
} from '@rayvault/shared';
import type { SchedulerConfig } from './config.schema';
import { readScheduleFile, type ScheduleEntry } from './schedule-file';

const QUEUE = CRON_QUEUE;

/** A run id fixed by the entry and its due time: two schedulers dispatching the same slot create one run. */
export function scheduledRunId(name: string, dueAt: number): string {
  const h = createHash('sha256').update(`${name}@${dueAt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

type CronData = { kind: 'stale_gates' | 'doctor' | 'retention' } | { kind: 'intake'; entry: ScheduleEntry };

/** Reminds of gates waiting longer than RAYVAULT_STALE_GATE_MS; returns how many. */
async function staleGates(rt: Runtime, config: SchedulerConfig): Promise<number> {
  const gates = await rt.store.listRuns({ status: 'waiting_approval', limit: 500 });
  const stale = gates.filter((g) => Date.now() - Date.parse(g.updated_at) > config.RAYVAULT_STALE_GATE_MS);
  for (const g of stale) {
    const ageMs = Date.now() - Date.parse(g.updated_at);
    const minutes = Math.round(ageMs / 60_000);
    // One reminder per gate per period of its own age (not of the clock, whose boundaries would remind
    // twice in a moment).
    const period = Math.floor(ageMs / config.RAYVAULT_STALE_GATE_MS);
    await rt.alerter.raise({
      kind: 'stale_gate',
      runId: g.id,
      traceId: g.trace_id ?? undefined,
      status: g.status,
      attempt: g.attempt,
      title: `STALE_GATE: run ${g.id} waits for a decision`,
      text: `The gate has been open for ${minutes} min. Approve, Refetch or Abort it.`,
      dedupeKey: dedupeKeys.staleGate(g.id, period),
    });
  }
  return stale.length;
}

/** Runs the doctor; its failures become one alert per hour. */
async function doctor(rt: Runtime): Promise<string> {
  const report = await runDoctor(rt);
  const failing = report.findings.filter((f) => f.level === 'FAIL');
  if (failing.length) {
    await rt.alerter.raise({
      kind: 'doctor',
      title: `DOCTOR ${report.line}`,
      text: failing.map((f) => `${f.code}: ${f.message}`).join('\n'),
      dedupeKey: dedupeKeys.doctor(
        report.line,
        failing.map((f) => f.code),
        Math.floor(Date.now() / 3600_000),
      ),
    });
  }
  return report.line;
}

/** Checkpoint files of finished runs, and staging leftovers, past the retention period. */
async function retention(rt: Runtime, config: SchedulerConfig): Promise<number> {
  const cutoff = Date.now() - config.RAYVAULT_RETENTION_MS;
  let removed = 0;
  const old = (dir: string) => {
    try {
      return readdirSync(dir)
        .map((f) => path.join(dir, f))
        .filter((f) => statSync(f).mtimeMs < cutoff);
    } catch {
      return [];
    }
  };
  for (const file of old(stateLayout(rt.stateDir).checkpoints)) {
    const run = await rt.store.getRun(path.basename(file, '.json')).catch(() => null);
    if (!run || TERMINAL_STATUSES.includes(run.status)) {
      rmSync(file, { force: true });
      removed++;
    }
  }
  for (const file of old(stateLayout(rt.stateDir).staging)) {
    rmSync(file, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** Submits the entry's run for this due time (one run per slot, whichever scheduler runs it). */
async function intake(rt: Runtime, job: Job<CronData>, entry: ScheduleEntry): Promise<string> {
  const dueAt = Number(job.opts.prevMillis ?? job.timestamp);
  const product = entry.sample ? await loadSample(entry.sample) : await loadProductFile(entry.product!);
  const script = product.script;
  try {
    const run = await submitRun(rt, {
      id: scheduledRunId(entry.name, dueAt),
      product,
      input: script ? { script } : {},
      actor: `schedule:${entry.name}`,
    });
    return run.id;
  } catch (err) {
    if (err instanceof IntakePausedError) {
      rt.log.info({ schedule: entry.name }, 'intake paused: scheduled run skipped');
      return 'skipped: intake paused';
    }
    throw err;
  }
}

function runCronJob(rt: Runtime, config: SchedulerConfig, job: Job<CronData>): Promise<number | string> {
  const d = job.data;
  switch (d.kind) {
    case 'intake':
      return intake(rt, job, d.entry);
    case 'stale_gates':
      return staleGates(rt, config);
    case 'doctor':
      return doctor(rt);
    case 'retention':
      return retention(rt, config);
  }
}

/** One scheduler per periodic job and per schedule entry; schedulers of removed entries are dropped. */
async function upsertSchedulers(
  queue: Queue<CronData>,
  config: SchedulerConfig,
  entries: ScheduleEntry[],
): Promise<void> {
  await queue.upsertJobScheduler(
    'stale-gates',
    { every: config.RAYVAULT_STALE_GATE_CHECK_MS },
    { name: 'stale-gates', data: { kind: 'stale_gates' } },
  );
  await queue.upsertJobScheduler(
    'doctor',
    { every: config.RAYVAULT_DOCTOR_EVERY_MS },
    { name: 'doctor', data: { kind: 'doctor' } },
  );
  await queue.upsertJobScheduler(
    'retention',
    { every: config.RAYVAULT_RETENTION_EVERY_MS },
    { name: 'retention', data: { kind: 'retention' } },
  );
  const wanted = new Set(entries.map((e) => `intake:${e.name}`));
  for (const s of await queue.getJobSchedulers())
    if (s.key.startsWith('intake:') && !wanted.has(s.key)) await queue.removeJobScheduler(s.key);
  for (const e of entries) {
    await queue.upsertJobScheduler(`intake:${e.name}`, e.pattern ? { pattern: e.pattern } : { every: e.every! }, {
      name: `intake:${e.name}`,
      data: { kind: 'intake', entry: e },
    });
  }
}

/**
 * Cron-style jobs on BullMQ job schedulers: one job per due time however many
 * schedulers run, so nothing is dispatched twice. Stale-gate reminders, the
 * periodic doctor, retention, and scheduled intake from RAYVAULT_SCHEDULE_FILE.
 */
export function createCronJobs(rt: Runtime, config: SchedulerConfig) {
  const connection = rt.redis;
  const queue = new Queue<CronData>(QUEUE, { connection, prefix: queuePrefix(config.RAYVAULT_QUEUE_PREFIX, QUEUE) });
  const entries = config.RAYVAULT_SCHEDULE_FILE ? readScheduleFile(config.RAYVAULT_SCHEDULE_FILE) : [];
  let worker: Worker<CronData> | undefined;

  return {
    entries,
    queue,
    async start() {
      await upsertSchedulers(queue, config, entries);
      worker = new Worker<CronData>(QUEUE, (job) => runCronJob(rt, config, job), {
        connection,
        prefix: queue.opts.prefix,
        concurrency: 1,
      });
      worker.on('failed', (job, err) =>
        rt.log.warn({ err, job: job?.name }, 'cron job failed; it runs again at its next due time'),
      );
      worker.on('error', (err) => rt.log.warn({ err }, 'cron worker error'));
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
