import type { Stage } from '../domain/run-status';
import type { Lease, RenewResult, RunLocks } from './run-locks';

/**
 * One run lock's life as its holder sees it: acquired at a position, renewed by
 * the heartbeat, handed off with the stage's last write, released once. The
 * Redis side (scripts, key, token) is in run-locks.ts; what the holder must
 * remember between those moments is here.
 */
export class RunLease {
  private released = false;
  /**
   * Set once the stage's last write (completion or gate) is sent: from then on the next
   * position may take the lock over, and that is the hand-off, not a lost lock. A real loss
   * still shows, as the database refusing that write for its stale fence.
   */
  private handedOff = false;
  /** Set when Redis lost the key and it was re-set: the fence must be checked before trusting it. */
  needsFenceCheck = false;

  private constructor(
    private readonly locks: Pick<RunLocks, 'renew' | 'release'>,
    readonly lease: Lease,
  ) {}

  /** Null when another holder has the run (a takeover waits for its lease to run out). */
  static async acquire(
    locks: Pick<RunLocks, 'acquire' | 'renew' | 'release'>,
    runId: string,
    holder: string,
    at?: { attempt: number; stage: Stage },
  ): Promise<RunLease | null> {
    const lease = await locks.acquire(runId, holder, at);
    return lease ? new RunLease(locks, lease) : null;
  }

  get runId(): string {
    return this.lease.runId;
  }

  get handingOff(): boolean {
    return this.handedOff;
  }

  /** The stage's last write is on its way: a takeover from here on is the next stage's. */
  handOff(): void {
    this.handedOff = true;
  }

  /** 'lost' only while it counts as a loss: not after release, not once handed off. */
  async renew(): Promise<RenewResult | 'ended'> {
    if (this.released) return 'ended';
    const r = await this.locks.renew(this.lease);
    if (r === 'reacquired') this.needsFenceCheck = true;
    if (r === 'lost' && (this.released || this.handedOff)) return 'ended';
    return r;
  }

  /** Idempotent; a failed release is left to the lease's expiry. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.locks.release(this.lease);
  }
}
