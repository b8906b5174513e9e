import type { Redis } from 'ioredis';

/**
 * Cluster-wide counters (lock renewals and losses, panics, Telegram
 * deliveries) kept in one Redis hash, so the ops API can export what every
 * process counted. Field: `name{label="v",...}`.
 */
export const COUNTER_NAMES = ['lock_renewals', 'lock_losses', 'panics', 'telegram_deliveries', 'spool_appends', 'fenced_writes'] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

const key = (prefix: string) => `${prefix}:metrics:counters`;

export function counterField(name: CounterName, labels: Record<string, string> = {}): string {
  const l = Object.entries(labels).sort().map(([k, v]) => `${k}="${v.replace(/"/g, '')}"`).join(',');
  return l ? `${name}{${l}}` : name;
}

/** Never throws: a counter must not break the work it counts. */
export async function bumpCounter(redis: Redis, prefix: string, name: CounterName, labels?: Record<string, string>, by = 1): Promise<void> {
  await redis.hincrby(key(prefix), counterField(name, labels), by).catch(() => undefined);
}

export async function readCounters(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(key(prefix));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
}
