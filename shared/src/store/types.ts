/** Calls one SQL function with named arguments and returns its jsonb result. Each adapter provides one. */
export type Rpc = (fn: string, args: Record<string, unknown>) => Promise<unknown>;

// The lifecycle rows, as their schemas define them (one definition: parsed and typed alike).
export type {
  ActionResult,
  ClaimResult,
  InFlightRun,
  Run,
  RunDetail,
  RunEvent,
  RunListItem,
  RunStage,
  WorkerRecord,
} from './lifecycle.schema';

/** A row of the video index (`artifacts`), as the SQL functions return it. */
export type Artifact = {
  run_id: string;
  stage: string;
  segment: number | null;
  kind: string;
  path: string;
  sha256: string;
  bytes: number;
  duration_s: number | null;
  meta: Record<string, unknown>;
  created_at: string;
};

export type { OperatorAction } from '../domain/run-status';
