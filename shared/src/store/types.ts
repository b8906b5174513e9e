import type { RunStatus, Stage, WorkerState, OperatorAction } from '../domain/run-status';

/** Calls one SQL function with named arguments and returns its jsonb result. Each adapter provides one. */
export type Rpc = (fn: string, args: Record<string, unknown>) => Promise<unknown>;

export type Run = {
  id: string;
  status: RunStatus;
  stage: Stage;
  attempt: number;
  fence: number;
  worker_id: string | null;
  worker_last_error: string | null;
  panic_kind: string | null;
  force_refetch: boolean;
  refetch_count: number;
  /** The OpenTelemetry trace the run was created in (migration 011); null when tracing was off. */
  trace_id: string | null;
  /** W3C context of the run's creation span: operator actions continue the run's trace from it. */
  traceparent: string | null;
  product: Record<string, unknown>;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
  created_at: string;
  updated_at: string;
};

export type RunStage = {
  stage: Stage;
  status: 'running' | 'done' | 'gated';
  attempt: number;
  fence: number;
  worker_id: string | null;
  steps: Record<string, unknown>;
  output: unknown;
  started_at: string;
  finished_at: string | null;
};

export type RunEvent = {
  id: string;
  seq: number;
  run_id: string;
  type: string;
  actor: string;
  reason: string | null;
  fence: number | null;
  payload: Record<string, unknown>;
  created_at: string;
};

export type RunDetail = Run & { stages: RunStage[]; events: RunEvent[] };

export type WorkerRecord = {
  id: string;
  state: WorkerState;
  queues: string[];
  current_run: string | null;
  current_job: string | null;
  host: string | null;
  pid: number | null;
  last_error: string | null;
  last_heartbeat_at: string;
  last_heartbeat_latency_ms: number | null;
  heartbeat_age_ms: number;
  stopped_at: string | null;
};

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

export type InFlightRun = Pick<Run, 'id' | 'status' | 'stage' | 'attempt' | 'worker_id' | 'updated_at' | 'traceparent'>;

export type ClaimResult = { stale: boolean; run: Run; steps?: Record<string, unknown> | null };
export type ActionResult = { run: Run; enqueue: { stage: Stage; attempt: number } | null; duplicate: boolean };

export type { OperatorAction };
