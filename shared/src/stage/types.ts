import type { Logger } from 'pino';
import type { Stage } from '../domain/run-status';
import type { Run } from '../store/types';

/** What a stage processor gets: the run, its fence, an abort signal and checkpointed steps. */
export type StageContext = {
  run: Run;
  stage: Stage;
  attempt: number;
  fence: number;
  workerId: string;
  /** Aborted when the lock is lost, the run is taken over, or the worker shuts down. */
  signal: AbortSignal;
  log: Logger;
  /** Steps already finished in an earlier try (from the checkpoint). */
  readonly steps: Readonly<Record<string, unknown>>;
  /**
   * Run `fn` once per stage attempt: a finished step is skipped on resume and
   * its stored result returned. Side effects belong inside steps; the result
   * must be JSON.
   */
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** A fenced audit event (spooled while the database is away). */
  emit(type: string, payload?: Record<string, unknown>): Promise<void>;
  /**
   * A fenced, durable call of one of the stage's own SQL functions: `p_run`
   * and `p_fence` are added; the function must take `p_event_id` and ignore a
   * repeated id. Spooled while the database is away.
   */
  record(fn: string, args: Record<string, unknown> & { p_event_id: string }): Promise<void>;
};

/** A processor either finishes the stage with an output, or opens the gate with an evidence diff. */
export type StageOutcome = { output?: unknown } | { gate: { diff: unknown; summary?: string } };

export type StageProcessor = (ctx: StageContext) => Promise<StageOutcome | void>;

export type StageProcessors = Partial<Record<Stage, StageProcessor>>;
