import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { eventIds } from '../domain/keys';
import type { OperatorAction, RunStatus, Stage, WorkerState } from '../domain/run-status';
import { currentTraceparent } from '../telemetry/trace-context';
import {
  actionResultSchema,
  claimResultSchema,
  duplicateSchema,
  forceUnlockSchema,
  inFlightRunSchema,
  runDetailSchema,
  runListItemSchema,
  runSchema,
  workerIdSchema,
  workerRecordSchema,
} from './lifecycle.schema';
import { callParsed } from './parse-answer';
import type { Rpc } from './types';

/** One SQL function's answer, parsed against its schema. */
type Call = <S extends z.ZodType>(fn: string, schema: S, args: Record<string, unknown>) => Promise<z.output<S>>;

/**
 * The typed store over any adapter's `rpc`. Every lifecycle rule lives in the
 * SQL functions (migrations 002/003), so the pg and supabase adapters behave
 * identically. Each method is one round trip, its answer parsed against its
 * schema (lifecycle.schema.ts).
 */
/** An operator's action on a run, as the dashboard, Telegram and the CLI send it. */
export type OperatorActionInput = {
  runId: string;
  action: OperatorAction;
  actor: string;
  reason?: string;
  expected?: RunStatus;
  expectedAttempt?: number;
  eventId?: string;
};

export function createStore(rpc: Rpc) {
  const call: Call = (fn, schema, args) => callParsed(rpc, fn, args, schema);
  return { rpc, ...stageHolderCalls(call), ...stageEndCalls(call), ...operatorCalls(call), ...workerCalls(call) };
}

export type Store = ReturnType<typeof createStore>;

/** A write by the holder of `fence` (refused once the fence moved on); replaying its event id records nothing. */
type Fenced = { runId: string; fence: number; eventId: string };
type EventArgs = {
  runId: string;
  eventId: string;
  fence: number | null;
  type: string;
  actor: string;
  reason?: string;
  payload?: object;
};
type TransitionArgs = Omit<EventArgs, 'type'> & { to: RunStatus };

/** What a stage's holder does with its run; an operator's transition passes a null fence. */
function stageHolderCalls(call: Call) {
  return {
    claimStage: (a: { runId: string; stage: Stage; attempt: number; workerId: string }) =>
      call('rv_claim_stage', claimResultSchema, {
        p_run: a.runId,
        p_stage: a.stage,
        p_attempt: a.attempt,
        p_worker: a.workerId,
        p_event_id: randomUUID(),
      }),
    checkpoint: (a: Fenced & { stage: Stage; step: string; result: unknown; workerId?: string }) =>
      call('rv_checkpoint', duplicateSchema, {
        p_run: a.runId,
        p_stage: a.stage,
        p_fence: a.fence,
        p_step: a.step,
        p_result: a.result ?? null,
        p_event_id: a.eventId,
        p_worker: a.workerId ?? null,
      }),
    appendEvent: (a: EventArgs) =>
      call('rv_append_event', duplicateSchema, {
        p_event_id: a.eventId,
        p_run: a.runId,
        p_fence: a.fence,
        p_type: a.type,
        p_actor: a.actor,
        p_reason: a.reason ?? null,
        p_payload: a.payload ?? {},
      }),
  };
}

/** How a holder's stage ends: completed (and the next claimed), released, or moved to another status. */
function stageEndCalls(call: Call) {
  return {
    completeStage: (a: Fenced & { stage: Stage; output: unknown; next: Stage | null; workerId?: string }) =>
      call('rv_complete_stage', runSchema, {
        p_run: a.runId,
        p_stage: a.stage,
        p_fence: a.fence,
        p_output: a.output ?? null,
        p_next: a.next,
        p_event_id: a.eventId,
        p_worker: a.workerId ?? null,
      }),
    /** Completes `stage` and claims `next` for whoever takes its job; null when the event id was replayed. */
    handOff: (a: Fenced & { stage: Stage; output: unknown; next: Stage; workerId: string }) =>
      call('rv_hand_off', claimResultSchema.nullable(), {
        p_run: a.runId,
        p_stage: a.stage,
        p_fence: a.fence,
        p_output: a.output ?? null,
        p_next: a.next,
        p_worker: a.workerId,
        p_event_id: a.eventId,
      }),
    releaseStage: (a: Fenced & { actor: string; reason: string }) =>
      call('rv_release_stage', runSchema, {
        p_run: a.runId,
        p_fence: a.fence,
        p_actor: a.actor,
        p_reason: a.reason,
        p_event_id: a.eventId,
      }),
    transition: (a: TransitionArgs) =>
      call('rv_transition', runSchema, {
        p_run: a.runId,
        p_to: a.to,
        p_fence: a.fence,
        p_actor: a.actor,
        p_reason: a.reason ?? null,
        p_payload: a.payload ?? {},
        p_event_id: a.eventId,
      }),
  };
}

/** What intake and operators do: create runs, act on them, read them. */
function operatorCalls(call: Call) {
  return {
    createRun: (a: { id?: string; product: object; input?: object; actor: string }) => {
      const id = a.id ?? randomUUID();
      return call('rv_create_run', runSchema, {
        p_id: id,
        p_product: a.product,
        p_input: a.input ?? {},
        p_actor: a.actor,
        p_event_id: eventIds.runCreated(id),
        p_traceparent: currentTraceparent() ?? null,
      });
    },
    /** With `expectedAttempt` the action is also refused (RV409) once the run is at another attempt (migration 009). */
    operatorAction: (a: OperatorActionInput) => {
      const args = {
        p_run: a.runId,
        p_action: a.action,
        p_actor: a.actor,
        p_reason: a.reason ?? null,
        p_expected: a.expected ?? null,
        p_event_id: a.eventId ?? null,
      };
      return a.expectedAttempt === undefined
        ? call('rv_operator_action', actionResultSchema, args)
        : call('rv_operator_action_at', actionResultSchema, { ...args, p_attempt: a.expectedAttempt });
    },
    forceUnlock: (a: { runId: string; operator: string; reason: string; force?: boolean }) =>
      call('rv_force_unlock_run', forceUnlockSchema, {
        p_run: a.runId,
        p_operator: a.operator,
        p_reason: a.reason,
        p_force: a.force ?? false,
      }),
    getRun: (id: string) => call('rv_get_run', runDetailSchema.nullable(), { p_run: id }),
    /** Newest first, without product, input and output: each with its product's name instead. */
    listRuns: (a: { status?: RunStatus; limit?: number; offset?: number } = {}) =>
      call('rv_list_runs', runListItemSchema.array(), {
        p_status: a.status ?? null,
        p_limit: a.limit ?? 50,
        p_offset: a.offset ?? 0,
      }),
  };
}

/** The workers table (heartbeats) and what the reconciler checks. */
function workerCalls(call: Call) {
  return {
    heartbeat: (a: {
      id: string;
      state: WorkerState;
      queues: string[];
      currentRun: string | null;
      currentJob: string | null;
      latencyMs: number | null;
      host: string;
      pid: number;
      lastError?: string | null;
    }) =>
      call('rv_worker_heartbeat', workerIdSchema, {
        p_id: a.id,
        p_state: a.state,
        p_queues: a.queues,
        p_current_run: a.currentRun,
        p_current_job: a.currentJob,
        p_latency_ms: a.latencyMs,
        p_host: a.host,
        p_pid: a.pid,
        p_last_error: a.lastError ?? null,
      }),
    workerStopped: (id: string) => call('rv_worker_stopped', workerIdSchema.nullable(), { p_id: id }),
    listWorkers: () => call('rv_list_workers', workerRecordSchema.array(), {}),
    runsInFlight: () => call('rv_runs_in_flight', inFlightRunSchema.array(), {}),
  };
}
