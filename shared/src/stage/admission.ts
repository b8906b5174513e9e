/**
 * Whether a job fetched from a queue may run in this process now. Two rules:
 *
 * - Stopping: once the host stops, nothing is claimed. Every claim passes
 *   through `claim()`, which refuses after `stop()`; `stop()` resolves when the
 *   claims already under way have returned, so once it has, no claim of this
 *   process can land in the database any more (the shutdown log line is
 *   written after it, and the fault drill holds the worker to it).
 * - Suspects: a job that stalled twice is likely poison that kills its process
 *   (once is as likely a bystander of another crash). It runs alone, so the
 *   next crash takes no bystander job down with it; a suspect that survived a
 *   lease alone shares the worker again, so a long stage does not hold every
 *   other job back to its end.
 */
export type Admit = { run: true; leave: () => void } | { run: false; retryInMs: number; why: string };

export const RETRY_SOON_MS = 250;
const STOPPING = 'worker stopping: job left for another worker';

type Clock = { now: () => number; setTimer: (fn: () => void, ms: number) => () => void };

export function createAdmission(o: {
  leaseMs: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => () => void;
}) {
  const clock: Clock = {
    now: o.now ?? Date.now,
    setTimer:
      o.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms).unref();
        return () => clearTimeout(t);
      }),
  };
  const gate = createClaimGate();
  const occupancy = createOccupancy(o.leaseMs, clock);
  return {
    get stopping() {
      return gate.stopped;
    },
    /** Jobs running in this process now. */
    get jobs() {
      return occupancy.jobs;
    },
    /** Called once per fetched job; `leave()` when it is over. */
    enter(stalledCount: number): Admit {
      if (gate.stopped) return { run: false, retryInMs: 0, why: STOPPING };
      return occupancy.enter(stalledCount >= 2);
    },
    claim: gate.claim,
    stop: gate.stop,
    STOPPING,
  };
}
export type Admission = ReturnType<typeof createAdmission>;

/** The one gate of every claim, and the stop that closes it once the claims already sent have returned. */
function createClaimGate() {
  let stopped = false;
  let claiming = 0;
  let drained: (() => void) | undefined;
  return {
    get stopped() {
      return stopped;
    },
    /** `null` once stopping, otherwise what `fn` returns. */
    async claim<T>(fn: () => Promise<T>): Promise<T | null> {
      if (stopped) return null;
      claiming++;
      try {
        return await fn();
      } finally {
        if (--claiming === 0) drained?.();
      }
    },
    /** Stop admitting; resolves once the claims under way have returned. Idempotent. */
    stop(): Promise<void> {
      stopped = true;
      if (claiming === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const before = drained;
        drained = () => {
          before?.();
          resolve();
        };
      });
    },
  };
}

/** Jobs in this process, and the suspect that runs alone. */
function createOccupancy(leaseMs: number, clock: Clock) {
  let jobs = 0;
  let solo = false;
  let reservedUntil = 0;
  const admitted = (suspect: boolean): Admit => {
    jobs++;
    let cancelShare = () => {};
    if (suspect) {
      solo = true;
      reservedUntil = 0;
      cancelShare = clock.setTimer(() => (solo = false), leaseMs);
    }
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      jobs--;
      if (suspect) {
        cancelShare();
        solo = false;
      }
    };
    return { run: true, leave };
  };
  return {
    get jobs() {
      return jobs;
    },
    enter(suspect: boolean): Admit {
      if (solo || (suspect ? jobs > 0 : reservedUntil > clock.now())) {
        // A waiting suspect keeps others out until it gets its turn (or two leases pass).
        if (suspect) reservedUntil = clock.now() + 2 * leaseMs;
        const why = suspect ? 'stalled before: waiting to run alone' : 'a suspect job runs alone here';
        return { run: false, retryInMs: RETRY_SOON_MS, why };
      }
      return admitted(suspect);
    },
  };
}
