import { isRayVaultError } from '../errors/rayvault-error';
import { DatabaseUnavailableError, FencedWriteError, isPanic, PanicError, ShutdownError } from '../errors/errors';
import { isRedisUnavailable } from '../infra/redis';

/**
 * What a stage try that threw becomes. The table, in order:
 *
 * | the error                                  | action      | the job                   | the run                 |
 * |--------------------------------------------|-------------|---------------------------|-------------------------|
 * | ShutdownError (grace period over)          | hand_back   | postponed, no try spent   | released at checkpoint  |
 * | panic_lost_lock (or a fenced write refused)| abandon     | left to the fence holder  | untouched by us         |
 * | Redis or Postgres unreachable              | postpone    | postponed, no try spent   | untouched               |
 * | any other panic                            | settle      | failed, unrecoverable     | `panic`                 |
 * | not retryable, or the last try             | settle      | failed (dead letter)      | `failed`                |
 * | anything else                              | retry       | retried with backoff      | stays `running`         |
 */
export type FailureAction =
  | { kind: 'hand_back'; reason: ShutdownError }
  | { kind: 'abandon'; reason: PanicError }
  | { kind: 'postpone'; reason: Error }
  | { kind: 'settle'; to: 'panic' | 'failed'; reason: Error }
  | { kind: 'retry'; reason: Error };

/** The error that ends the try: an abort's reason wins over what the processor threw because of it. */
export function failureReason(err: unknown, abortedWith?: unknown): Error {
  if (abortedWith !== undefined) return abortedWith as Error;
  const e = err instanceof Error ? err : new Error(String(err));
  return e instanceof FencedWriteError ? new PanicError('panic_lost_lock', e.message, { cause: e }) : e;
}

export function decideFailure(reason: Error, tries: { made: number; allowed: number }): FailureAction {
  if (reason instanceof ShutdownError) return { kind: 'hand_back', reason };
  if (isPanic(reason) && reason.kind === 'panic_lost_lock') return { kind: 'abandon', reason };
  // The platform's fault, not the job's: wait for it without spending a try.
  if (reason instanceof DatabaseUnavailableError || isRedisUnavailable(reason)) return { kind: 'postpone', reason };
  if (isPanic(reason)) return { kind: 'settle', to: 'panic', reason };
  // Bad input or config stays bad: retrying it only delays the operator's verdict.
  if ((isRayVaultError(reason) && !reason.retryable) || tries.made + 1 >= tries.allowed)
    return { kind: 'settle', to: 'failed', reason };
  return { kind: 'retry', reason };
}

/**
 * How long a job waits when another holder has the run's lock: just past its expiry (a takeover), at least a moment, at
 * most a heartbeat.
 */
export function lockWaitMs(expiresInMs: number, heartbeatMs: number, soonMs: number): number {
  const LOCK_EXPIRY_MARGIN_MS = 50;
  return Math.min(Math.max(soonMs, heartbeatMs), expiresInMs + LOCK_EXPIRY_MARGIN_MS);
}
