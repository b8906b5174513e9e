import { createHash } from 'node:crypto';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import { queuePrefix } from '../domain/keys';
import { PANIC_KINDS } from '../domain/panic';
import { ALERTS_QUEUE } from '../queues/queues';
import { currentTraceId } from '../telemetry/trace-context';

export const ALERT_KINDS = [
  'gate',
  ...PANIC_KINDS,
  'stale_worker',
  'lost_lock',
  'contract_fail',
  'stale_gate',
  'dead_letter',
  'doctor',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const alertSchema = z.object({
  kind: z.enum(ALERT_KINDS),
  runId: z.string().uuid().optional(),
  workerId: z.string().optional(),
  /** The run status the alert's buttons act on (a press is refused once the run has moved on). */
  status: z.string().optional(),
  /**
   * The run's attempt the alert is about: with `status` it names one gate or panic, so a button is refused once the run
   * has moved past it.
   */
  attempt: z.number().int().min(0).optional(),
  title: z.string(),
  text: z.string(),
  details: z.record(z.string(), z.unknown()).default({}),
  /** Same key → one alert (duplicates collapsed). */
  dedupeKey: z.string(),
  /**
   * The trace of the run the alert is about (by default the trace it is raised in): the id to open in Jaeger or Tempo.
   */
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
});
export type Alert = z.input<typeof alertSchema>;

/** Alerts go to a durable queue; the notifier turns them into Telegram messages. */
export function createAlerter(connection: ConnectionOptions, prefix: string, log: Logger) {
  const queue = new Queue(ALERTS_QUEUE, {
    connection,
    prefix: queuePrefix(prefix, ALERTS_QUEUE),
    defaultJobOptions: {
      attempts: 50,
      backoff: { type: 'exponential', delay: 1000, jitter: 0.3 },
      removeOnComplete: { age: 7 * 86400 },
      removeOnFail: false,
    },
  });
  queue.on('error', (err) => log.warn({ err }, 'alerts queue error'));
  return {
    queue,
    /** Best effort from the caller's view: a failure is logged, never thrown into the stage. */
    async raise(alert: Alert): Promise<void> {
      const a = alertSchema.parse({ ...alert, traceId: alert.traceId ?? currentTraceId() ?? undefined });
      const jobId = `alert-${createHash('sha1').update(a.dedupeKey).digest('hex').slice(0, 20)}`;
      try {
        await queue.add(a.kind, a, { jobId });
        log.info({ kind: a.kind, runId: a.runId, jobId }, 'alert raised');
      } catch (err) {
        log.error({ err, kind: a.kind, runId: a.runId }, 'alert could not be queued');
      }
    },
    close: () => queue.close(),
  };
}
export type Alerter = ReturnType<typeof createAlerter>;
