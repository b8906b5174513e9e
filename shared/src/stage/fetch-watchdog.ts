import type { Logger } from 'pino';
import type { Stage } from '../domain/run-status';

/** Longer than BullMQ's own longest wait for a job (a 10 s block, then its 1 s watchdog): no false alarm. */
export const FETCH_STALL_MS = 20_000;

type QueueView = { getWaitingCount(): Promise<number>; isPaused(): Promise<boolean> };

export type FetchWatchdogOptions = {
  stages: Stage[];
  queues: Record<Stage, QueueView>;
  /** Whether this process has a free slot for the stage's jobs. */
  freeSlot: (stage: Stage) => boolean;
  /** When this process last started one of the stage's jobs (ms, `now`'s clock). */
  lastStarted: (stage: Stage) => number;
  /** Puts a new BullMQ Worker in the stage's place. */
  replace: (stage: Stage) => void;
  log: Logger;
  stallMs?: number;
  now?: () => number;
};

/**
 * BullMQ's fetch loop can stay parked for good after a Redis Cluster failover:
 * the cluster fault drill caught a stage worker with free slots and no Redis
 * command outstanding while its queue's jobs waited for minutes (the reset of
 * its blocking connection never settled). A stage whose queue has had jobs
 * waiting, unpaused, with a slot free here and none of them started here for
 * `stallMs`, gets a new Worker.
 */
export function createFetchWatchdog(o: FetchWatchdogOptions) {
  const stallMs = o.stallMs ?? FETCH_STALL_MS;
  const now = o.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;

  async function parked(stage: Stage): Promise<boolean> {
    if (!o.freeSlot(stage) || now() - o.lastStarted(stage) < stallMs) return false;
    const q = o.queues[stage];
    return (await q.getWaitingCount()) > 0 && !(await q.isPaused());
  }

  async function check(): Promise<Stage[]> {
    const replaced: Stage[] = [];
    for (const stage of o.stages) {
      // Redis away: nothing can be judged now, and the outage has its own alarms.
      if (!(await parked(stage).catch(() => false))) continue;
      o.log.warn({ queue: stage, stalledMs: now() - o.lastStarted(stage) }, 'stage fetch loop parked: worker replaced');
      o.replace(stage);
      replaced.push(stage);
    }
    return replaced;
  }

  return {
    check,
    start() {
      timer ??= setInterval(() => void check(), stallMs / 4);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
