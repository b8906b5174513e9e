import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@rayvault/shared';
import { redisKeys } from '@rayvault/shared';
import { hashToken } from './tokens';

export type Session = { tokenHash: string; csrf: string };

/**
 * Browser sessions in Redis (so several API instances share them). A session
 * keeps the hash of the token it was opened with: revoking the token ends it.
 * Keys hold the hash of the session id, never the id itself.
 */
export function createSessions(redis: RedisClient, prefix: string, ttlMs: number) {
  const key = (sid: string) => redisKeys.opsSession(prefix, hashToken(sid));
  return {
    async create(tokenHash: string): Promise<{ sid: string; csrf: string }> {
      const sid = randomBytes(32).toString('base64url');
      const csrf = randomBytes(24).toString('base64url');
      await redis.set(key(sid), JSON.stringify({ tokenHash, csrf } satisfies Session), 'PX', ttlMs);
      return { sid, csrf };
    },
    async get(sid: string): Promise<Session | null> {
      const v = await redis.get(key(sid));
      return v ? (JSON.parse(v) as Session) : null;
    },
    async destroy(sid: string): Promise<void> {
      await redis.del(key(sid));
    },
  };
}
export type Sessions = ReturnType<typeof createSessions>;
