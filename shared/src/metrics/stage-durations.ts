import type { RedisClient } from '../infra/redis';
import type { Logger } from 'pino';
import type { Stage } from '../domain/run-status';
import { redisKeys } from '../domain/keys';

/**
 * Stage durations as a cluster-wide Prometheus histogram.
 *
 * Each process counts its observations in memory (an array increment: the
 * stage runner's hot path pays nothing else) and adds the deltas to one Redis
 * hash in a single MULTI at most once per flush interval. The ops API exports
 * that hash as `rayvault_stage_duration_seconds`. Why Redis and not a scrape
 * endpoint per worker: every process already talks to Redis, Prometheus needs
 * one target (the ops API, behind its token) instead of discovering short-lived
 * workers on ports of their own, and the totals outlive the process that
 * counted them, so a restart is not a counter reset and `rate()` stays exact.
 */

/** Upper bounds in seconds: a test stage takes milliseconds, a real render minutes. */
export const STAGE_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800] as const;
/** How a stage attempt ended: handed on (or the run done), or stopped at an approval gate. */
export const STAGE_OUTCOMES = ['completed', 'gate'] as const;
export type StageOutcomeLabel = (typeof STAGE_OUTCOMES)[number];

/** One stage × outcome series, non-cumulative per bucket (the last slot is above every bound). */
type Cell = { buckets: number[]; sum: number; count: number };
export type StageDurationSeries = { stage: string; outcome: string; buckets: number[]; sum: number; count: number };

const key = redisKeys.stageSeconds;
const emptyCell = (): Cell => ({
  buckets: new Array<number>(STAGE_DURATION_BUCKETS.length + 1).fill(0),
  sum: 0,
  count: 0,
});

function bucketIndex(seconds: number): number {
  const i = STAGE_DURATION_BUCKETS.findIndex((b) => seconds <= b);
  return i === -1 ? STAGE_DURATION_BUCKETS.length : i;
}

export type StageDurations = {
  /** Counts one finished stage attempt; cheap and synchronous. */
  observe: (stage: Stage, outcome: StageOutcomeLabel, seconds: number) => void;
  /** Sends what was counted since the last flush; kept for the next one if Redis does not answer. Never throws. */
  flush: () => Promise<void>;
  /** Stops the timer and sends the rest. */
  close: () => Promise<void>;
};

/** @param flushMs how often pending observations go to Redis (the heartbeat interval is a good value). */
export function createStageDurations(redis: RedisClient, prefix: string, flushMs: number, log: Logger): StageDurations {
  let pending = new Map<string, Cell>();
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  async function send(): Promise<void> {
    if (!pending.size) return;
    const batch = pending;
    pending = new Map();
    const tx = redis.multi();
    for (const [series, c] of batch) {
      c.buckets.forEach((n, i) => {
        if (n) tx.hincrby(key(prefix), `${series}|${i}`, n);
      });
      tx.hincrbyfloat(key(prefix), `${series}|sum`, c.sum);
      tx.hincrby(key(prefix), `${series}|count`, c.count);
    }
    try {
      await tx.exec();
    } catch (err) {
      // MULTI is all or nothing: put the batch back so the next flush sends it.
      for (const [series, c] of batch) {
        const into = pending.get(series) ?? emptyCell();
        c.buckets.forEach((n, i) => (into.buckets[i] += n));
        into.sum += c.sum;
        into.count += c.count;
        pending.set(series, into);
      }
      log.debug({ err }, 'stage durations not sent yet: RedisClient did not answer');
    }
  }

  const flush = () => (inFlight = inFlight.then(send));

  return {
    observe(stage, outcome, seconds) {
      const series = `${stage}|${outcome}`;
      let c = pending.get(series);
      if (!c) pending.set(series, (c = emptyCell()));
      c.buckets[bucketIndex(seconds)]++;
      c.sum += seconds;
      c.count++;
      // The timer runs only while something waits to be sent: an idle process wakes for nothing.
      timer ??= setTimeout(() => {
        timer = undefined;
        void flush();
      }, flushMs).unref();
    },
    flush,
    async close() {
      clearTimeout(timer);
      timer = undefined;
      await flush();
    },
  };
}

/** Every series counted so far by any process, for the ops API's exposition. */
export async function readStageDurations(redis: RedisClient, prefix: string): Promise<StageDurationSeries[]> {
  const raw = await redis.hgetall(key(prefix));
  const cells = new Map<string, StageDurationSeries>();
  for (const [field, value] of Object.entries(raw)) {
    const [stage, outcome, slot] = field.split('|');
    if (!stage || !outcome || slot === undefined) continue;
    const id = `${stage}|${outcome}`;
    let s = cells.get(id);
    if (!s) cells.set(id, (s = { stage, outcome, ...emptyCell() }));
    if (slot === 'sum') s.sum = Number(value);
    else if (slot === 'count') s.count = Number(value);
    else if (Number(slot) >= 0 && Number(slot) < s.buckets.length) s.buckets[Number(slot)] = Number(value);
  }
  return [...cells.values()];
}
