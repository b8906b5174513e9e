import type { Lease } from '../locks/run-locks';
import type { StageJob } from '../queues/queues';

/** One stage of one run held by this worker: its lease, fence and abort controller. */
export class RunSession {
  private readonly controller = new AbortController();
  /** Set when Redis lost the lock key and it was re-set: the fence must be checked before trusting it. */
  needsFenceCheck = false;
  /**
   * Set once the stage's last write (completion or gate) is sent: from then on the next
   * position may take the lock over, and that is the hand-off, not a lost lock. A real loss
   * still shows, as the database refusing that write for its stale fence.
   */
  handingOff = false;

  constructor(readonly job: StageJob, readonly jobId: string, readonly lease: Lease, readonly fence: number) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }
}

/** Rejects as soon as `signal` aborts, so the runner never waits on a processor that ignores it. */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
