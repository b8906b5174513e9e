import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Run locks (leases) in Redis: `SET NX PX` with a random token, renewed and
 * released only by compare-and-set. The lock says who may work on a run right
 * now; the fencing token from Postgres says whose writes count.
 */
export type Lease = { runId: string; key: string; token: string };
export type RenewResult = 'renewed' | 'reacquired' | 'lost';

// KEYS[1] lock key; ARGV[1] token, ARGV[2] lease ms.
// Returns 1 renewed, 2 re-set because the key was gone (Redis lost it), 0 held by someone else.
const RENEW = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;

// KEYS[1] lock key; ARGV[1] token. Returns 1 when deleted, 0 when not ours.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type LockCommands = {
  rvRenewLock(key: string, token: string, leaseMs: number): Promise<number>;
  rvReleaseLock(key: string, token: string): Promise<number>;
};

export function createRunLocks(redis: Redis, prefix: string, leaseMs: number) {
  const keyOf = (runId: string) => `${prefix}:lock:run:${runId}`;
  // EVALSHA after the first call: the script text is not resent on every renewal.
  redis.defineCommand('rvRenewLock', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('rvReleaseLock', { numberOfKeys: 1, lua: RELEASE });
  const cmd = redis as unknown as LockCommands;

  return {
    leaseMs,
    keyOf,
    /** Take the lock for `owner` (a worker id); null when another holder has it. */
    async acquire(runId: string, owner: string): Promise<Lease | null> {
      const lease = { runId, key: keyOf(runId), token: `${owner}|${randomUUID()}` };
      const ok = await redis.set(lease.key, lease.token, 'PX', leaseMs, 'NX');
      return ok === 'OK' ? lease : null;
    },
    async renew(lease: Lease): Promise<RenewResult> {
      const r = Number(await cmd.rvRenewLock(lease.key, lease.token, leaseMs));
      return r === 1 ? 'renewed' : r === 2 ? 'reacquired' : 'lost';
    },
    async release(lease: Lease): Promise<boolean> {
      return Number(await cmd.rvReleaseLock(lease.key, lease.token)) === 1;
    },
    /** Milliseconds until the lock expires unless renewed (0 when free). */
    async expiresInMs(runId: string): Promise<number> {
      return Math.max(0, await redis.pttl(keyOf(runId)));
    },
    /** The holder's worker id, or null when free. */
    async holder(runId: string): Promise<string | null> {
      const v = await redis.get(keyOf(runId));
      return v ? v.split('|')[0] : null;
    },
    async forceClear(runId: string): Promise<void> {
      await redis.del(keyOf(runId));
    },
  };
}
export type RunLocks = ReturnType<typeof createRunLocks>;
