import type { RedisClient } from '../infra/redis';
import type { Logger } from 'pino';
import { FencedWriteError } from '../errors/errors';
import type { Rpc } from '../store/types';
import { redisKeys } from '../domain/keys';

/**
 * Cluster-wide counters (lock renewals and losses, panics, Telegram
 * deliveries) kept in one Redis hash, so the ops API can export what every
 * process counted. Field: `name{label="v",...}`.
 */
export const COUNTER_NAMES = [
  'lock_renewals',
  'lock_losses',
  'panics',
  'telegram_deliveries',
  'spool_appends',
  'fenced_writes',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

const key = redisKeys.counters;

export function counterField(name: CounterName, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels)
    .sort()
    .map(([k, v]) => `${k}="${v.replace(/"/g, '')}"`)
    .join(',');
  return l ? `${name}{${l}}` : name;
}

/** Never throws: a counter must not break the work it counts. */
export async function bumpCounter(
  redis: RedisClient,
  prefix: string,
  name: CounterName,
  labels?: Record<string, string>,
  by = 1,
): Promise<void> {
  await redis.hincrby(key(prefix), counterField(name, labels), by).catch(() => undefined);
}

export async function readCounters(redis: RedisClient, prefix: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(key(prefix));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
}

/** The store's rpc, counting (`fenced_writes`) and logging every write refused by fencing, whoever made it. */
export function countFencedWrites(rpc: Rpc, redis: RedisClient, prefix: string, log: Logger): Rpc {
  return async (fn, args) => {
    try {
      return await rpc(fn, args);
    } catch (err) {
      if (err instanceof FencedWriteError) {
        void bumpCounter(redis, prefix, 'fenced_writes');
        log.warn(
          { fn, runId: args.p_run, fence: args.p_fence },
          'write refused by fencing: another holder owns the run',
        );
      }
      throw err;
    }
  };
}
