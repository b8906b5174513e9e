import type { RedisClient } from '../infra/redis';
import { RayVaultError } from '../errors/rayvault-error';
import { redisKeys } from '../domain/keys';

/** Intake is paused (drain): no new runs are accepted until it is resumed. */
export class IntakePausedError extends RayVaultError {
  readonly code = 'dependency_unavailable' as const;
  readonly retryable = true;
}

const key = redisKeys.intakePaused;

/** Drain flag shared by the API, the scheduler and the CLI. Value: JSON {by, reason, at}. */
export async function intakeState(
  redis: RedisClient,
  prefix: string,
): Promise<{ paused: boolean; by?: string; reason?: string; at?: string }> {
  const v = await redis.get(key(prefix));
  return v ? { paused: true, ...(JSON.parse(v) as object) } : { paused: false };
}

export async function setIntakePaused(
  redis: RedisClient,
  prefix: string,
  paused: boolean,
  by: string,
  reason?: string,
): Promise<void> {
  if (paused) await redis.set(key(prefix), JSON.stringify({ by, reason, at: new Date().toISOString() }));
  else await redis.del(key(prefix));
}
