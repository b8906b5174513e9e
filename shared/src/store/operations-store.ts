import { randomUUID } from 'node:crypto';
import type { RunStatus, Stage } from '../domain/run-status';
import {
  duplicateSchema,
  eventHeadSchema,
  opsEventSchema,
  opsMetricsSchema,
  runChangesSchema,
  runPageSchema,
  runsByStatusSchema,
  throughputSchema,
  tokenOwnerSchema,
  tokenRecordSchema,
  type ApiRole,
} from './operations.schema';
import type { Rpc } from './types';
import { parsedCall, type ParsedCall } from './parse-answer';

/** An action that is not about one run (queues, intake, tokens, Bull Board); run actions are run events. */
export type OpsEvent = { type: string; actor: string; reason?: string; target?: string; payload?: object };

export type RunSearch = { status?: RunStatus; stage?: Stage; limit: number; offset: number; search?: string };

type Call = ParsedCall;

/** Bearer tokens, by the sha256 of the token: the plaintext never reaches the database. */
function tokenStore(call: Call) {
  return {
    /** The live token with this hash, or null (unknown or revoked). */
    find: (hash: string) => call('rv_api_token_find', { p_hash: hash }, tokenOwnerSchema.nullable()),
    /** RV409 (IllegalTransitionError) while a live token has the name. */
    create: (a: { name: string; role: ApiRole; hash: string; actor: string }) =>
      call(
        'rv_api_token_create',
        {
          p_name: a.name,
          p_role: a.role,
          p_hash: a.hash,
          p_actor: a.actor,
        },
        tokenRecordSchema,
      ),
    list: () => call('rv_api_token_list', {}, tokenRecordSchema.array()),
    /** RV404 (RunNotFoundError) when no live token has the name. */
    revoke: (a: { name: string; actor: string; reason?: string }) =>
      call(
        'rv_api_token_revoke',
        {
          p_name: a.name,
          p_actor: a.actor,
          p_reason: a.reason ?? null,
        },
        tokenRecordSchema,
      ),
  };
}

/** The append-only ops_events audit; replaying an event id records nothing. */
function auditLog(call: Call) {
  return {
    record: (e: OpsEvent, eventId: string = randomUUID()) =>
      call(
        'rv_ops_event',
        {
          p_event_id: eventId,
          p_type: e.type,
          p_actor: e.actor,
          p_reason: e.reason ?? null,
          p_target: e.target ?? null,
          p_payload: e.payload ?? {},
        },
        duplicateSchema,
      ),
    /** Newest first, at most 500. */
    recent: (limit = 50) => call('rv_ops_events', { p_limit: limit }, opsEventSchema.array()),
  };
}

/**
 * The operations store: what the ops API and the doctor read and write besides
 * a run's lifecycle (API tokens, the ops audit, metrics, the dashboard's
 * lists and feed). Each method is one SQL function (migrations 006, 012, 013)
 * called through the adapter's `rpc`, so pg and supabase serve it alike, and
 * each answer is parsed against its schema (operations.schema.ts).
 */
export function createOperationsStore(rpc: Rpc) {
  const call = parsedCall(rpc);
  return {
    /** Bearer tokens, by the sha256 of the token: the plaintext never reaches the database. */
    tokens: tokenStore(call),
    /** The append-only ops_events audit; replaying an event id records nothing. */
    audit: auditLog(call),
    /** Runs by status, open gates and the oldest one's age, stage durations of the last 24 h. */
    metrics: () => call('rv_ops_metrics', {}, opsMetricsSchema),
    /** Per status present: count, oldest open gate, newest creation, creations in the last 24 h. */
    runsByStatus: () => call('rv_ops_runs_by_status', {}, runsByStatusSchema),
    /** The runs list, newest first; `search` matches the product name (any case) or an id prefix. */
    searchRuns: (a: RunSearch) =>
      call(
        'rv_ops_list_runs',
        {
          p_status: a.status ?? null,
          p_stage: a.stage ?? null,
          p_limit: a.limit,
          p_offset: a.offset,
          p_search: a.search || null,
        },
        runPageSchema,
      ),
    /** Completed stage tries and failed/panicked runs per stage and minute over the last hour. */
    stageThroughput: () => call('rv_ops_stage_throughput', {}, throughputSchema),
    /** The newest run event's seq (0 when none): where a change feed starts. */
    eventHead: () => call('rv_ops_event_head', {}, eventHeadSchema),
    /** Runs with an event after `seq`, each with its newest seq and current status. */
    runChangesSince: (seq: number) => call('rv_ops_run_changes', { p_after: seq }, runChangesSchema),
  };
}

export type OperationsStore = ReturnType<typeof createOperationsStore>;
export type OpsAudit = OperationsStore['audit'];
export type ApiTokenStore = OperationsStore['tokens'];
