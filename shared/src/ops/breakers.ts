import type { RedisClient } from '../infra/redis';
import { redisKeys } from '../domain/keys';

// Circuit state per evidence source host, written by the evidence worker and
// read by the health view and the doctor: a field of the `<prefix>:breakers` hash.
export type BreakerState = 'closed' | 'open' | 'half_open';

/** One source host as the health view shows it (a field of the `<prefix>:breakers` Redis hash). */
export type BreakerRecord = {
  source: string;
  operation: 'fetch';
  state: BreakerState;
  opened_at: string | null;
  cooldown_ms: number;
  failures: number;
  reason: string | null;
  last_error: string | null;
  last_failure_at: string | null;
  last_success_at: string | null;
  updated_at: string;
};

export const breakersKey = redisKeys.breakers;

/** Every source host's circuit, with the cooldown left; an open circuit whose cooldown ran out reads as half_open. */
export async function readBreakers(
  redis: RedisClient,
  prefix: string,
  now = Date.now(),
): Promise<Array<BreakerRecord & { cooldown_remaining_ms: number }>> {
  const all = await redis.hgetall(breakersKey(prefix));
  return Object.values(all)
    .map((json) => {
      const r = JSON.parse(json) as BreakerRecord;
      const left = r.state === 'open' && r.opened_at ? Math.max(0, Date.parse(r.opened_at) + r.cooldown_ms - now) : 0;
      return { ...r, state: r.state === 'open' && left === 0 ? 'half_open' : r.state, cooldown_remaining_ms: left };
    })
    .sort((a, b) => a.source.localeCompare(b.source));
}
