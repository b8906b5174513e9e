import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../infra/redis';
import { STAGES, type Stage } from '../domain/run-status';
import { redisKeys } from '../domain/keys';

/**
 * Run locks (leases) in Redis: set only when free, with a random token, renewed
 * and released only by compare-and-set. The lock says who may work on a run
 * right now; the fencing token from Postgres says whose writes count.
 *
 * A stage worker's token also carries where the run is (attempt, stage). A job
 * for a later position exists only once the database completed the earlier
 * one (or an operator moved the run on and fenced its holder), so its acquire
 * takes over a lock still left at an earlier position: the hand-off need not
 * wait for the previous holder's release, nor for its lease when it died
 * between completing and releasing.
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

// KEYS[1] lock key; ARGV[1] token, ARGV[2] lease ms, ARGV[3] attempt, ARGV[4] stage index (both empty for a plain
// lock).
// Returns 1 when set: the key was free, or held at an earlier (attempt, stage) of the run.
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v then
  local a, s = string.match(v, '|(%d+)%.(%d+)$')
  local na, ns = tonumber(ARGV[3]), tonumber(ARGV[4])
  if not (a and na) then return 0 end
  a, s = tonumber(a), tonumber(s)
  if a > na or (a == na and s >= ns) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS[1] lock key; ARGV[1] token. Returns 1 when deleted, 0 when not ours.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type LockCommands = {
  rvAcquireLock(key: string, token: string, leaseMs: number, attempt: number | '', stage: number | ''): Promise<number>;
  rvRenewLock(key: string, token: string, leaseMs: number): Promise<number>;
  rvReleaseLock(key: string, token: string): Promise<number>;
};

export function createRunLocks(redis: RedisClient, prefix: string, leaseMs: number) {
  const keyOf = (runId: string) => redisKeys.runLock(prefix, runId);
  // EVALSHA after the first call: the script text is not resent on every renewal.
  redis.defineCommand('rvAcquireLock', { numberOfKeys: 1, lua: ACQUIRE });
  redis.defineCommand('rvRenewLock', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('rvReleaseLock', { numberOfKeys: 1, lua: RELEASE });
  const cmd = redis as unknown as LockCommands;

  return {
    leaseMs,
    keyOf,
    /**
     * Take the lock for `owner` (a worker id); null when another holder has it. A stage
     * worker passes `at`, the job's position, to take over a lock left at an earlier one.
     */
    async acquire(runId: string, owner: string, at?: { attempt: number; stage: Stage }): Promise<Lease | null> {
      const position = at ? `|${at.attempt}.${STAGES.indexOf(at.stage)}` : '';
      const lease = { runId, key: keyOf(runId), token: `${owner}|${randomUUID()}${position}` };
      const ok = await cmd.rvAcquireLock(
        lease.key,
        lease.token,
        leaseMs,
        at?.attempt ?? '',
        at ? STAGES.indexOf(at.stage) : '',
      );
      return Number(ok) === 1 ? lease : null;
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
