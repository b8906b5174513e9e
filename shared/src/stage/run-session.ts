import type { RunLease } from '../locks/run-lease';
import type { StageJob } from '../queues/queues';

/** One stage of one run held by this worker: its lease, fence and abort controller. */
export class RunSession {
  private readonly controller = new AbortController();

  constructor(
    readonly job: StageJob,
    readonly jobId: string,
    readonly lease: RunLease,
    readonly fence: number,
  ) {}

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
