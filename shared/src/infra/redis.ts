import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * A Redis connection that reconnects forever (BullMQ workers need
 * `maxRetriesPerRequest: null`) and logs its errors instead of crashing.
 * BullMQ does not close connections it is given: the caller quits them.
 */
export function createRedis(url: string, log: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 2000),
    ...options,
  });
  let lastLogged = 0;
  redis.on('error', (err) => {
    // Reconnect loops repeat the same error; once every 5 s is enough to see it.
    if (Date.now() - lastLogged > 5000) {
      lastLogged = Date.now();
      log.warn({ err }, 'redis connection error');
    }
  });
  return redis;
}

/** A connection for commands that must fail fast (locks, heartbeats, health) instead of queueing while Redis is down. */
export function createFastFailRedis(url: string, log: Logger): Redis {
  return createRedis(url, log, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000 });
}
