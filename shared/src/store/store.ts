import { randomUUID } from 'node:crypto';
import type { OperatorAction, RunStatus, Stage, WorkerState } from '../domain/run-status';
import { currentTraceparent } from '../telemetry/trace-context';
import type { ActionResult, ClaimResult, InFlightRun, Rpc, Run, RunDetail, WorkerRecord } from './types';

/**
 * The typed store over any adapter's `rpc`. Every lifecycle rule lives in the
 * SQL functions (migrations 002/003), so the pg and supabase adapters behave
 * identically. Each method is one round trip.
 */
export function createStore(rpc: Rpc) {
  return {
    rpc,
    createRun: (a: { id?: string; product: object; input?: object; actor: string }) => {
      const id = a.id ?? randomUUID();
      return rpc('rv_create_run', { p_id: id, p_product: a.product, p_input: a.input ?? {}, p_actor: a.actor, p_event_id: `${id}:created`,
        p_traceparent: currentTraceparent() ?? null }) as Promise<Run>;
    },
    claimStage: (a: { runId: string; stage: Stage; attempt: number; workerId: string }) =>
      rpc('rv_claim_stage', { p_run: a.runId, p_stage: a.stage, p_attempt: a.attempt, p_worker: a.workerId, p_event_id: randomUUID() }) as Promise<ClaimResult>,
    checkpoint: (a: { runId: string; stage: Stage; fence: number; step: string; result: unknown; eventId: string }) =>
      rpc('rv_checkpoint', { p_run: a.runId, p_stage: a.stage, p_fence: a.fence, p_step: a.step, p_result: a.result ?? null, p_event_id: a.eventId }) as Promise<{ duplicate: boolean }>,
    appendEvent: (a: { eventId: string; runId: string; fence: number | null; type: string; actor: string; reason?: string; payload?: object }) =>
      rpc('rv_append_event', { p_event_id: a.eventId, p_run: a.runId, p_fence: a.fence, p_type: a.type, p_actor: a.actor, p_reason: a.reason ?? null, p_payload: a.payload ?? {} }) as Promise<{ duplicate: boolean }>,
    completeStage: (a: { runId: string; stage: Stage; fence: number; output: unknown; next: Stage | null; eventId: string }) =>
      rpc('rv_complete_stage', { p_run: a.runId, p_stage: a.stage, p_fence: a.fence, p_output: a.output ?? null, p_next: a.next, p_event_id: a.eventId }) as Promise<Run>,
    releaseStage: (a: { runId: string; fence: number; actor: string; reason: string; eventId: string }) =>
      rpc('rv_release_stage', { p_run: a.runId, p_fence: a.fence, p_actor: a.actor, p_reason: a.reason, p_event_id: a.eventId }) as Promise<Run>,
    transition: (a: { runId: string; to: RunStatus; fence: number | null; actor: string; reason?: string; payload?: object; eventId: string }) =>
      rpc('rv_transition', { p_run: a.runId, p_to: a.to, p_fence: a.fence, p_actor: a.actor, p_reason: a.reason ?? null, p_payload: a.payload ?? {}, p_event_id: a.eventId }) as Promise<Run>,
    /** With `expectedAttempt` the action is also refused (RV409) once the run is at another attempt (migration 009). */
    operatorAction: (a: { runId: string; action: OperatorAction; actor: string; reason?: string; expected?: RunStatus; expectedAttempt?: number; eventId?: string }) => {
      const args = { p_run: a.runId, p_action: a.action, p_actor: a.actor, p_reason: a.reason ?? null, p_expected: a.expected ?? null, p_event_id: a.eventId ?? null };
      return (a.expectedAttempt === undefined ? rpc('rv_operator_action', args)
        : rpc('rv_operator_action_at', { ...args, p_attempt: a.expectedAttempt })) as Promise<ActionResult>;
    },
    forceUnlock: (a: { runId: string; operator: string; reason: string; force?: boolean }) =>
      rpc('rv_force_unlock_run', { p_run: a.runId, p_operator: a.operator, p_reason: a.reason, p_force: a.force ?? false }) as Promise<{ refused: string | null; run: Run; previous: Run }>,
    heartbeat: (a: { id: string; state: WorkerState; queues: string[]; currentRun: string | null; currentJob: string | null; latencyMs: number | null; host: string; pid: number; lastError?: string | null }) =>
      rpc('rv_worker_heartbeat', { p_id: a.id, p_state: a.state, p_queues: a.queues, p_current_run: a.currentRun, p_current_job: a.currentJob, p_latency_ms: a.latencyMs, p_host: a.host, p_pid: a.pid, p_last_error: a.lastError ?? null }),
    workerStopped: (id: string) => rpc('rv_worker_stopped', { p_id: id }),
    getRun: (id: string) => rpc('rv_get_run', { p_run: id }) as Promise<RunDetail | null>,
    listRuns: (a: { status?: RunStatus; limit?: number; offset?: number } = {}) =>
      rpc('rv_list_runs', { p_status: a.status ?? null, p_limit: a.limit ?? 50, p_offset: a.offset ?? 0 }) as Promise<Run[]>,
    listWorkers: () => rpc('rv_list_workers', {}) as Promise<WorkerRecord[]>,
    runsInFlight: () => rpc('rv_runs_in_flight', {}) as Promise<InFlightRun[]>,
  };
}

export type Store = ReturnType<typeof createStore>;
