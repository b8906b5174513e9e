import type { PanicKind } from '../domain/panic';
import { RayVaultError } from './rayvault-error';

/** The run does not exist. */
export class RunNotFoundError extends RayVaultError {
  readonly code = 'not_found' as const;
  readonly retryable = false;
}

/** The requested status change is not allowed from the run's current status. */
export class IllegalTransitionError extends RayVaultError {
  readonly code = 'illegal_transition' as const;
  readonly retryable = false;
}

/** A write carried a fencing token that is no longer the run's current one. */
export class FencedWriteError extends RayVaultError {
  readonly code = 'stale_fence' as const;
  readonly retryable = false;
}

/** Input failed validation; the message lists every problem. */
export class InvalidInputError extends RayVaultError {
  readonly code = 'invalid_input' as const;
  readonly retryable = false;
}

/** Postgres (or Supabase) cannot be reached: spool and retry. */
export class DatabaseUnavailableError extends RayVaultError {
  readonly code = 'dependency_unavailable' as const;
  readonly retryable = true;
}

/** A network blip, 5xx or timeout: retry with backoff. */
export class TransientError extends RayVaultError {
  readonly code = 'transient' as const;
  readonly retryable = true;
}

/** Unrecoverable by retry: the run stops in `panic` until an operator acts. */
export class PanicError extends RayVaultError {
  readonly code = 'panic' as const;
  readonly retryable = false;
  constructor(
    readonly kind: PanicKind,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(`${kind}: ${message}`, options);
    this.details = options?.details ?? {};
  }
  readonly details: Record<string, unknown>;
}

/** The worker is shutting down: the stage stops at its last checkpoint and goes back to the queue. */
export class ShutdownError extends RayVaultError {
  readonly code = 'transient' as const;
  readonly retryable = true;
}

/** Bad configuration: every problem is listed in the message. */
export class ConfigError extends RayVaultError {
  readonly code = 'config_invalid' as const;
  readonly retryable = false;
}

export function isPanic(err: unknown): err is PanicError {
  return err instanceof PanicError || (err instanceof Error && err.name === 'PanicError');
}
